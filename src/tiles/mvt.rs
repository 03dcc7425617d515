//! A Mapbox Vector Tile (spec 2.1) encoder for points and polygons.
//!
//! Hand-written because it is small: a tile is a few nested protobuf messages,
//! points need one `MoveTo` each, and a polygon's rings a `MoveTo`, a `LineTo` and
//! a `ClosePath` each. Writing the bytes straight from the
//! features keeps the hot path free of an intermediate message tree. The tests
//! in `tests/tiles.rs` decode every tile with an independent decoder.
//!
//! Values that repeat across features (layer, amenity bits, flags, statuses) are
//! interned per layer; ids and names are nearly unique, so they are appended
//! without a lookup (the spec allows repeated values).

/// One attribute value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// A string.
    Str(&'a str),
    /// An unsigned integer.
    Uint(u64),
    /// A boolean.
    Bool(bool),
}

/// A layer being written: its features, keys and values.
pub struct LayerWriter {
    name: &'static str,
    keys: &'static [&'static str],
    features: Vec<u8>,
    values: Vec<u8>,
    value_count: u32,
    /// Interned small values: (kind, payload) → index. Few and short, so a vector.
    interned: Vec<(u8, u64, Box<str>, u32)>,
    tags: Vec<u32>,
    count: usize,
}

/// The spec's extent: coordinates inside a tile go from 0 to this.
pub const EXTENT: u32 = 4096;

/// The geometry types of the spec.
const POINT: u8 = 1;
const POLYGON: u8 = 3;

/// A command integer: the command id (1 MoveTo, 2 LineTo, 7 ClosePath) and its count.
fn command(id: u32, count: u32) -> u64 {
    u64::from((id & 7) | (count << 3))
}

impl LayerWriter {
    /// A layer whose features carry (some of) the attributes named in `keys`.
    pub fn new(name: &'static str, keys: &'static [&'static str]) -> Self {
        LayerWriter {
            name,
            keys,
            features: Vec::new(),
            values: Vec::new(),
            value_count: 0,
            interned: Vec::new(),
            tags: Vec::with_capacity(keys.len() * 2),
            count: 0,
        }
    }

    /// Features written so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no feature was written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds a point at tile coordinates `(x, y)` with `attrs` as `(key index, value,
    /// intern)`; `intern` says the value repeats across features.
    pub fn point(&mut self, id: Option<u64>, x: u32, y: u32, attrs: &[(usize, Value<'_>, bool)]) {
        // The geometry: MoveTo(1) then the zigzagged coordinates.
        let geom = [9u64, zigzag(i64::from(x)), zigzag(i64::from(y))];
        self.feature(id, POINT, &geom, attrs);
    }

    /// Adds a polygon (or multipolygon) made of `rings`, each without its closing
    /// vertex and oriented already: an exterior ring (positive surveyor's area in
    /// tile coordinates) followed by its holes (negative), then the next exterior.
    pub fn polygon(
        &mut self,
        id: Option<u64>,
        rings: &[Vec<(i32, i32)>],
        attrs: &[(usize, Value<'_>, bool)],
    ) {
        let mut geom: Vec<u64> = Vec::with_capacity(rings.iter().map(|r| 2 * r.len() + 3).sum());
        let (mut cx, mut cy) = (0i64, 0i64);
        for ring in rings.iter().filter(|r| r.len() >= 3) {
            for (k, &(x, y)) in ring.iter().enumerate() {
                match k {
                    0 => geom.push(command(1, 1)),
                    1 => geom.push(command(2, ring.len() as u32 - 1)),
                    _ => {}
                }
                let (x, y) = (i64::from(x), i64::from(y));
                geom.push(zigzag(x - cx));
                geom.push(zigzag(y - cy));
                (cx, cy) = (x, y);
            }
            geom.push(command(7, 1));
        }
        if !geom.is_empty() {
            self.feature(id, POLYGON, &geom, attrs);
        }
    }

    fn feature(
        &mut self,
        id: Option<u64>,
        kind: u8,
        geom: &[u64],
        attrs: &[(usize, Value<'_>, bool)],
    ) {
        self.tags.clear();
        for &(key, value, intern) in attrs {
            debug_assert!(key < self.keys.len());
            let index = if intern {
                self.interned(value)
            } else {
                self.push_value(value)
            };
            self.tags.push(key as u32);
            self.tags.push(index);
        }
        let id_len = id.map_or(0, |id| 1 + varint_len(id));
        let tags_len: usize = self.tags.iter().map(|&t| varint_len(u64::from(t))).sum();
        let geom_len: usize = geom.iter().map(|&g| varint_len(g)).sum();
        let len = id_len
            + 1
            + varint_len(tags_len as u64)
            + tags_len
            + 2
            + 1
            + varint_len(geom_len as u64)
            + geom_len;
        let out = &mut self.features;
        out.push(key_byte(2, 2));
        put_varint(out, len as u64);
        if let Some(id) = id {
            out.push(key_byte(1, 0));
            put_varint(out, id);
        }
        out.push(key_byte(2, 2));
        put_varint(out, tags_len as u64);
        for &t in &self.tags {
            put_varint(out, u64::from(t));
        }
        out.push(key_byte(3, 0));
        out.push(kind);
        out.push(key_byte(4, 2));
        put_varint(out, geom_len as u64);
        for &g in geom {
            put_varint(out, g);
        }
        self.count += 1;
    }

    fn interned(&mut self, value: Value<'_>) -> u32 {
        let (kind, n, s) = match value {
            Value::Str(s) => (0, 0, s),
            Value::Uint(n) => (1, n, ""),
            Value::Bool(b) => (2, u64::from(b), ""),
        };
        if let Some(&(_, _, _, i)) = self
            .interned
            .iter()
            .find(|(k, v, t, _)| *k == kind && *v == n && &**t == s)
        {
            return i;
        }
        let i = self.push_value(value);
        self.interned.push((kind, n, s.into(), i));
        i
    }

    fn push_value(&mut self, value: Value<'_>) -> u32 {
        let out = &mut self.values;
        out.push(key_byte(4, 2));
        match value {
            Value::Str(s) => {
                put_varint(out, (1 + varint_len(s.len() as u64) + s.len()) as u64);
                out.push(key_byte(1, 2));
                put_varint(out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Uint(n) => {
                put_varint(out, (1 + varint_len(n)) as u64);
                out.push(key_byte(5, 0));
                put_varint(out, n);
            }
            Value::Bool(b) => {
                out.push(2);
                out.push(key_byte(7, 0));
                out.push(u8::from(b));
            }
        }
        self.value_count += 1;
        self.value_count - 1
    }

    /// Appends the finished layer to a tile's bytes (nothing when it is empty).
    pub fn finish_into(self, tile: &mut Vec<u8>) {
        if self.is_empty() {
            return;
        }
        let mut head = Vec::with_capacity(64);
        head.push(key_byte(15, 0));
        head.push(2); // version 2
        head.push(key_byte(1, 2));
        put_varint(&mut head, self.name.len() as u64);
        head.extend_from_slice(self.name.as_bytes());
        let mut keys = Vec::with_capacity(128);
        for k in self.keys {
            keys.push(key_byte(3, 2));
            put_varint(&mut keys, k.len() as u64);
            keys.extend_from_slice(k.as_bytes());
        }
        let mut tail = Vec::with_capacity(4);
        tail.push(key_byte(5, 0));
        put_varint(&mut tail, u64::from(EXTENT));
        let len = head.len() + self.features.len() + keys.len() + self.values.len() + tail.len();
        tile.push(key_byte(3, 2));
        put_varint(tile, len as u64);
        tile.extend_from_slice(&head);
        tile.extend_from_slice(&self.features);
        tile.extend_from_slice(&keys);
        tile.extend_from_slice(&self.values);
        tile.extend_from_slice(&tail);
    }
}

/// A field key: field number and wire type (0 varint, 2 length-delimited).
fn key_byte(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn varint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag() {
        let mut v = Vec::new();
        put_varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        assert_eq!(varint_len(300), 2);
        assert_eq!(varint_len(u64::MAX), 10);
        assert_eq!([zigzag(0), zigzag(-1), zigzag(1), zigzag(-2)], [0, 1, 2, 3]);
    }

    /// The spec's own example: a point at (25, 17) encodes as [9, 50, 34].
    #[test]
    fn point_geometry_matches_the_spec_example() {
        let mut layer = LayerWriter::new("points", &["name"]);
        layer.point(Some(1), 25, 17, &[(0, Value::Str("a"), false)]);
        let mut tile = Vec::new();
        layer.finish_into(&mut tile);
        let needle = [0x22, 3, 9, 50, 34];
        assert!(tile.windows(5).any(|w| w == needle), "{tile:?}");
    }

    /// The spec's polygon example (4.3.5.6): a triangle (3,6) (8,12) (20,34)
    /// encodes as [9, 6, 12, 18, 10, 12, 24, 44, 15].
    #[test]
    fn polygon_geometry_matches_the_spec_example() {
        let mut layer = LayerWriter::new("areas", &[]);
        layer.polygon(None, &[vec![(3, 6), (8, 12), (20, 34)]], &[]);
        let mut tile = Vec::new();
        layer.finish_into(&mut tile);
        let needle = [0x18, 3, 0x22, 9, 9, 6, 12, 18, 10, 12, 24, 44, 15];
        assert!(tile.windows(needle.len()).any(|w| w == needle), "{tile:?}");
    }

    #[test]
    fn empty_layers_are_left_out() {
        let mut tile = Vec::new();
        LayerWriter::new("x", &[]).finish_into(&mut tile);
        assert!(tile.is_empty());
    }
}
