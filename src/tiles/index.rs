//! The tile index of one generation: each layer's features sorted along a Morton
//! (Z-order) curve of their Web-Mercator position, with prefix sums of the
//! coordinates.
//!
//! On a Z-order curve every tile of every zoom is one contiguous run, so a tile is
//! found by two binary searches, and each of its clustering cells (a tile of zoom
//! z+2) is a run inside it: a cell's count is the length of its run and its
//! mean position comes from the prefix sums, without visiting its features. Only
//! the features drawn singly are read one by one. A low-zoom tile over a million
//! facilities costs a few thousand binary-search steps instead of a million.
//!
//! A park cluster also counts its parks without a union (a prefix count likewise),
//! so the map can mark the clusters that hide a gap.
//!
//! The index is built in one [`Frame`]: in GCJ-02 every position is shifted
//! first, so the curve, the tiles and the clusters are those of the basemap.
//! It also holds the park outlines ([`AreaIndex`]) in the same frame.
//!
//! Positions are kept as 32-bit fixed-point fractions of the Mercator square
//! (about 1 cm at the equator); the tile of a point at zoom z is the top z bits of
//! each coordinate, and its pixel (extent 4096) the next 12.

use std::sync::{Arc, Mutex, OnceLock, Weak};

use rayon::prelude::*;

use super::GRID_BITS;
use super::areas::AreaIndex;
use super::frame::Frame;
use super::mercator::{TileId, world};
use crate::index::Atlas;
use crate::model::{Layer, LayerSet, UnionStatus};

/// One layer's features along the curve.
#[derive(Debug, Default)]
struct LayerRun {
    /// Morton keys, ascending.
    keys: Vec<u64>,
    /// The feature (index into the layer's records) of each key.
    ids: Vec<u32>,
    /// Fixed-point x and y of each key.
    xs: Vec<u32>,
    ys: Vec<u32>,
    /// Prefix sums of `xs` and `ys` (one longer: `sum[i]` is the sum before `i`).
    sum_x: Vec<u64>,
    sum_y: Vec<u64>,
    /// Prefix counts of the flagged features (parks without a union), likewise.
    sum_flag: Vec<u32>,
}

/// A feature of a tile drawn singly: layer, index, pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Single {
    pub layer: Layer,
    pub index: u32,
    pub x: u32,
    pub y: u32,
}

/// A cell drawn as one cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cluster {
    pub x: u32,
    pub y: u32,
    pub count: usize,
    pub per_layer: [usize; 4],
    /// Parks without a union (`union_status` none) among them.
    pub no_union: usize,
}

/// One (generation, frame)'s index: set once, by the one caller that builds it.
type Slot = Arc<OnceLock<Arc<TileIndex>>>;
type Cache = Vec<(Weak<Atlas>, Frame, Slot)>;
static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
/// Indexes kept: two generations (the served one and the one replacing it) in
/// both frames.
const CACHED: usize = 4;

fn lookup(cache: &mut Cache, atlas: &Arc<Atlas>, frame: Frame) -> Option<Slot> {
    cache.retain(|(w, _, _)| w.strong_count() > 0);
    cache
        .iter()
        .find(|(w, f, _)| *f == frame && std::ptr::eq(w.as_ptr(), Arc::as_ptr(atlas)))
        .map(|(_, _, slot)| slot.clone())
}

/// The tile index of one generation of the data, in one frame.
#[derive(Debug)]
pub struct TileIndex {
    frame: Frame,
    layers: [LayerRun; 4],
    areas: AreaIndex,
}

/// Spreads the 32 bits of `v` to the even bits of a `u64`.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

/// The Morton key of a fixed-point position (y in the odd bits, x in the even).
fn morton(x: u32, y: u32) -> u64 {
    spread(x) | (spread(y) << 1)
}

/// The fixed-point fraction of a coordinate in `[0, 1)`.
fn fixed(f: f64) -> u32 {
    (f * 4_294_967_296.0)
        .floor()
        .clamp(0.0, f64::from(u32::MAX)) as u32
}

/// The keys `[lo, hi)` of the tile `(z, x, y)`; `hi` is `None` at the end of the curve.
fn key_range(z: u8, x: u32, y: u32) -> (u64, Option<u64>) {
    if z == 0 {
        return (0, None);
    }
    let shift = 64 - 2 * u32::from(z);
    // The tile's Morton code is the top 2z bits of its features' keys.
    let code = morton(x, y) & (u64::MAX >> shift);
    let lo = code << shift;
    (lo, lo.checked_add(1u64 << shift))
}

impl LayerRun {
    fn build(mut items: Vec<(u64, u32, u32, u32, bool)>) -> Self {
        items.par_sort_unstable_by_key(|i| (i.0, i.1));
        let n = items.len();
        let mut run = LayerRun {
            keys: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
            xs: Vec::with_capacity(n),
            ys: Vec::with_capacity(n),
            sum_x: Vec::with_capacity(n + 1),
            sum_y: Vec::with_capacity(n + 1),
            sum_flag: Vec::with_capacity(n + 1),
        };
        let (mut sx, mut sy, mut sf) = (0u64, 0u64, 0u32);
        run.sum_x.push(0);
        run.sum_y.push(0);
        run.sum_flag.push(0);
        for (key, id, x, y, flag) in items {
            run.keys.push(key);
            run.ids.push(id);
            run.xs.push(x);
            run.ys.push(y);
            sx += u64::from(x);
            sy += u64::from(y);
            sf += u32::from(flag);
            run.sum_x.push(sx);
            run.sum_y.push(sy);
            run.sum_flag.push(sf);
        }
        run
    }

    /// The positions `[start, end)` of the keys in `[lo, hi)`, searching from `from`.
    fn span(&self, from: usize, lo: u64, hi: Option<u64>) -> (usize, usize) {
        let start = from + self.keys[from..].partition_point(|k| *k < lo);
        let end = match hi {
            Some(hi) => start + self.keys[start..].partition_point(|k| *k < hi),
            None => self.keys.len(),
        };
        (start, end)
    }
}

impl TileIndex {
    /// Builds the WGS-84 index of a generation (each layer sorted in parallel).
    pub fn new(atlas: &Atlas) -> Self {
        Self::new_in(atlas, Frame::Wgs84)
    }

    /// Builds the index of a generation in `frame`.
    pub fn new_in(atlas: &Atlas, frame: Frame) -> Self {
        let layers = Layer::ALL.map(|layer| {
            let items: Vec<(u64, u32, u32, u32, bool)> = atlas
                .all_in_layer(layer)
                .into_par_iter()
                .map(|i| {
                    let (p, flag) = if layer.is_facility() {
                        (atlas.facility(i).position, false)
                    } else {
                        let park = atlas.park(i);
                        (park.position, park.union_status == Some(UnionStatus::None))
                    };
                    let (wx, wy) = world(frame.shift_point(p));
                    let (x, y) = (fixed(wx), fixed(wy));
                    (morton(x, y), i, x, y, flag)
                })
                .collect();
            LayerRun::build(items)
        });
        TileIndex {
            frame,
            layers,
            areas: AreaIndex::new(atlas, frame),
        }
    }

    /// The frame of the positions.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// The park outlines.
    pub fn areas(&self) -> &AreaIndex {
        &self.areas
    }

    /// The index of `atlas`, built on first use and kept while the generation is
    /// served (a few recent generations are remembered, so alternating servers in
    /// one process, as in the tests, do not rebuild each time).
    pub fn of(atlas: &Arc<Atlas>, frame: Frame) -> Arc<TileIndex> {
        // The lock is held for lookups and inserts only, never while building: the
        // async workers' `cached` lookups must not wait for a build. The first
        // requests of a generation (a page asks for each layer's TileJSON at once)
        // share one build: the others wait for it on their blocking threads
        // instead of each sorting a million features again.
        let slot = {
            let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
            match lookup(&mut cache, atlas, frame) {
                Some(slot) => slot,
                None => {
                    if cache.len() >= CACHED {
                        cache.remove(0);
                    }
                    let slot = Slot::default();
                    cache.push((Arc::downgrade(atlas), frame, slot.clone()));
                    slot
                }
            }
        };
        slot.get_or_init(|| Arc::new(TileIndex::new_in(atlas, frame)))
            .clone()
    }

    /// The index of `atlas` when it is built already (a lookup that never builds).
    pub fn cached(atlas: &Arc<Atlas>, frame: Frame) -> Option<Arc<TileIndex>> {
        lookup(
            &mut CACHE.lock().unwrap_or_else(|e| e.into_inner()),
            atlas,
            frame,
        )?
        .get()
        .cloned()
    }

    /// The features of `layers` in `tile`: with `cluster`, the cells holding more
    /// than `cell_max` become clusters (see the module docs of `tiles`).
    pub(super) fn select(
        &self,
        layers: LayerSet,
        tile: TileId,
        cluster: bool,
        cell_max: usize,
    ) -> (Vec<Single>, Vec<Cluster>) {
        let z = u32::from(tile.z);
        // Bits below the pixel: a fixed-point coordinate >> shift is the pixel at this zoom.
        let shift = 32 - z - 12;
        let (x0, y0) = (u64::from(tile.x) << 12, u64::from(tile.y) << 12);
        let pixel = |x: u32, y: u32| -> (u32, u32) {
            (
                ((u64::from(x) >> shift) - x0) as u32,
                ((u64::from(y) >> shift) - y0) as u32,
            )
        };
        let (lo, hi) = key_range(tile.z, tile.x, tile.y);
        let wanted: Vec<Layer> = layers.iter().collect();
        let spans: Vec<(usize, usize)> = wanted
            .iter()
            .map(|l| self.layers[*l as usize].span(0, lo, hi))
            .collect();
        let mut singles = Vec::new();
        let mut clusters = Vec::new();
        let push_singles = |singles: &mut Vec<Single>, l: Layer, (s, e): (usize, usize)| {
            let run = &self.layers[l as usize];
            for i in s..e {
                let (x, y) = pixel(run.xs[i], run.ys[i]);
                singles.push(Single {
                    layer: l,
                    index: run.ids[i],
                    x,
                    y,
                });
            }
        };
        if !cluster {
            for (l, span) in wanted.iter().zip(&spans) {
                push_singles(&mut singles, *l, *span);
            }
            return (singles, clusters);
        }
        // The cells in curve order: each a tile of zoom z + GRID_BITS.
        let bits = u32::from(GRID_BITS);
        let mut from: Vec<usize> = spans.iter().map(|s| s.0).collect();
        for code in 0..(1u32 << (2 * bits)) {
            let (cx, cy) = (deinterleave(code), deinterleave(code >> 1));
            let (clo, chi) = key_range(
                tile.z + GRID_BITS,
                (tile.x << bits) | cx,
                (tile.y << bits) | cy,
            );
            let cell: Vec<(usize, usize)> = wanted
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    let run = &self.layers[*l as usize];
                    let (s, e) = run.span(from[k], clo, chi);
                    let e = e.min(spans[k].1);
                    from[k] = e;
                    (s, e)
                })
                .collect();
            let count: usize = cell.iter().map(|(s, e)| e - s).sum();
            if count == 0 {
                continue;
            }
            if count <= cell_max {
                for (l, span) in wanted.iter().zip(&cell) {
                    push_singles(&mut singles, *l, *span);
                }
                continue;
            }
            let mut per_layer = [0usize; 4];
            let mut no_union = 0;
            for (l, (s, e)) in wanted.iter().zip(&cell) {
                let run = &self.layers[*l as usize];
                no_union += (run.sum_flag[*e] - run.sum_flag[*s]) as usize;
                per_layer[*l as usize] = e - s;
            }
            let (ax, ay) = self.anchor(
                &wanted,
                &cell,
                tile.z + GRID_BITS,
                (tile.x << bits) | cx,
                (tile.y << bits) | cy,
            );
            let (x, y) = pixel(ax, ay);
            clusters.push(Cluster {
                x,
                y,
                count,
                per_layer,
                no_union,
            });
        }
        (singles, clusters)
    }

    /// Where the cluster of a cell is drawn (fixed point): the cell (a tile of zoom
    /// `z` at `x`, `y`, holding the runs `cell` of the `wanted` layers) is cut into
    /// quarters [`DESCENT`] times, each time keeping the most populous one (the
    /// first in curve order on a tie), and the cluster sits at the mean of what the
    /// last quarter holds. At zoom 2–4 a 128 px cell spans a thousand kilometres
    /// and its mean can fall in the sea or a desert between cities; the descent
    /// puts the marker on the place that holds most of the cluster. It costs a few
    /// binary searches inside the cell's runs.
    fn anchor(
        &self,
        wanted: &[Layer],
        cell: &[(usize, usize)],
        mut z: u8,
        mut x: u32,
        mut y: u32,
    ) -> (u32, u32) {
        let mut spans = [(0usize, 0usize); Layer::ALL.len()];
        spans[..cell.len()].copy_from_slice(cell);
        for _ in 0..DESCENT {
            let child = |q: u32| ((x << 1) | (q & 1), (y << 1) | (q >> 1));
            // The quarters are consecutive runs of the curve: three cuts split a span.
            let cuts = [1, 2, 3].map(|q| {
                let (cx, cy) = child(q);
                key_range(z + 1, cx, cy).0
            });
            let mut bounds = [[0usize; 5]; Layer::ALL.len()];
            for ((l, (s, e)), b) in wanted.iter().zip(&spans).zip(&mut bounds) {
                let keys = &self.layers[*l as usize].keys;
                let mut at = *s;
                *b = [*s, 0, 0, 0, *e];
                for (cut, slot) in cuts.iter().zip(&mut b[1..4]) {
                    at += keys[at..*e].partition_point(|k| k < cut);
                    *slot = at;
                }
            }
            let held = |q: usize| -> usize { bounds.iter().map(|b| b[q + 1] - b[q]).sum() };
            // The most populous quarter; the first on a tie.
            let q = (1..4).fold(0, |best, q| if held(q) > held(best) { q } else { best });
            for (span, b) in spans.iter_mut().zip(&bounds) {
                *span = (b[q], b[q + 1]);
            }
            (x, y) = child(q as u32);
            z += 1;
        }
        let (mut sx, mut sy, mut n) = (0u64, 0u64, 0u64);
        for (l, (s, e)) in wanted.iter().zip(&spans) {
            let run = &self.layers[*l as usize];
            sx += run.sum_x[*e] - run.sum_x[*s];
            sy += run.sum_y[*e] - run.sum_y[*s];
            n += (e - s) as u64;
        }
        let n = n.max(1);
        ((sx / n) as u32, (sy / n) as u32)
    }
}

/// How often a cluster's cell is cut into its most populous quarter before the
/// cluster is placed: four times takes a 128 px cell to an 8 px one.
pub(super) const DESCENT: u8 = 4;

/// The even bits of `v` packed into its low bits (the up to 8 bits of a cell code).
fn deinterleave(v: u32) -> u32 {
    (v & 1) | ((v >> 1) & 2) | ((v >> 2) & 4) | ((v >> 3) & 8)
}

const _: () = assert!(
    GRID_BITS <= 4,
    "deinterleave takes cell codes of up to 8 bits"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LonLat;
    use crate::tiles::mercator::tile_of;

    #[test]
    fn morton_keys_keep_tiles_contiguous() {
        assert_eq!(morton(0b11, 0b01), 0b0111);
        assert_eq!(deinterleave(0b0111), 0b11);
        assert_eq!(deinterleave(0b0111 >> 1), 0b01);
        let p = LonLat::new(116.3975, 39.9087).unwrap();
        let (wx, wy) = world(p);
        let key = morton(fixed(wx), fixed(wy));
        for z in [0u8, 1, 5, 10, 16, 20] {
            let t = tile_of(p, z);
            let (lo, hi) = key_range(z, t.x, t.y);
            assert!(key >= lo && hi.is_none_or(|hi| key < hi), "z={z}");
            // The neighbour to the east is another run.
            if z > 1 {
                let (elo, _) = key_range(z, t.x + 1, t.y);
                assert!(key < elo || key >= hi.unwrap());
            }
        }
        assert_eq!(key_range(1, 1, 1), (3u64 << 62, None));
    }
}
