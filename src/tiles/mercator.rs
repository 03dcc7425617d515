//! Web-Mercator tile maths: which tile a point falls in, and where in it.
//!
//! A tile `z/x/y` covers the world square `[x, x+1) × [y, y+1)` scaled by `2^-z`,
//! with `y` growing southwards (the XYZ scheme of OpenStreetMap and MapLibre). A
//! point belongs to exactly one tile at each zoom: edges are half-open, and the
//! poles beyond ±85.0511° are clamped to the first and last rows.

use crate::index::BBox;
use crate::model::LonLat;

/// The latitude where the Web-Mercator square ends.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// One tile of the XYZ pyramid, checked against its zoom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Zoom.
    pub z: u8,
    /// Column, west to east.
    pub x: u32,
    /// Row, north to south.
    pub y: u32,
}

impl TileId {
    /// The tile, or `None` when `x` or `y` is outside `0..2^z` or `z > 30`.
    pub fn new(z: u8, x: u32, y: u32) -> Option<Self> {
        if z > 30 {
            return None;
        }
        let n = 1u64 << z;
        (u64::from(x) < n && u64::from(y) < n).then_some(TileId { z, x, y })
    }

    /// Tiles per side at this zoom.
    pub fn side(self) -> f64 {
        (1u64 << self.z) as f64
    }

    /// The tile's extent in degrees (north and south edges clamped to the square).
    pub fn bbox(self) -> BBox {
        let n = self.side();
        BBox {
            min_lon: f64::from(self.x) / n * 360.0 - 180.0,
            max_lon: f64::from(self.x + 1) / n * 360.0 - 180.0,
            max_lat: lat_of(f64::from(self.y) / n),
            min_lat: lat_of(f64::from(self.y + 1) / n),
        }
    }

    /// Where `p` falls in this tile, in units of `1/extent` of its side (0 at the
    /// north-west corner), or `None` when `p` belongs to another tile.
    pub fn pixel(self, p: LonLat, extent: u32) -> Option<(u32, u32)> {
        let (wx, wy) = world(p);
        let n = self.side();
        let (tx, ty) = (wx * n, wy * n);
        let (fx, fy) = (tx.floor(), ty.floor());
        let max = n - 1.0;
        if fx.min(max) != f64::from(self.x) || fy.min(max) != f64::from(self.y) {
            return None;
        }
        let e = f64::from(extent);
        let px = ((tx - f64::from(self.x)) * e).floor().clamp(0.0, e - 1.0);
        let py = ((ty - f64::from(self.y)) * e).floor().clamp(0.0, e - 1.0);
        Some((px as u32, py as u32))
    }
}

/// A position in the unit Web-Mercator square: `x` east from the antimeridian,
/// `y` south from the top edge, both in `[0, 1)` (clamped).
pub fn world(p: LonLat) -> (f64, f64) {
    world_xy(p.lon(), p.lat())
}

/// [`world`] of a (lon, lat) pair in degrees.
pub fn world_xy(lon: f64, lat: f64) -> (f64, f64) {
    let x = (lon + 180.0) / 360.0;
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    let below_one = 1.0 - f64::EPSILON;
    (x.clamp(0.0, below_one), y.clamp(0.0, below_one))
}

/// The latitude of the world row `y` (0 at the top, 1 at the bottom).
pub fn lat_of(y: f64) -> f64 {
    let n = std::f64::consts::PI * (1.0 - 2.0 * y);
    n.sinh().atan().to_degrees()
}

/// The tile that holds `p` at zoom `z`.
pub fn tile_of(p: LonLat, z: u8) -> TileId {
    let (wx, wy) = world(p);
    let n = (1u64 << z) as f64;
    let max = n - 1.0;
    TileId {
        z,
        x: (wx * n).floor().min(max) as u32,
        y: (wy * n).floor().min(max) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    #[test]
    fn known_tiles() {
        // Beijing's Tiananmen at z=10 is tile 843/388 (as any slippy-map tool says).
        assert_eq!(
            tile_of(p(116.3975, 39.9087), 10),
            TileId {
                z: 10,
                x: 843,
                y: 388
            }
        );
        assert_eq!(tile_of(p(-180.0, 90.0), 3), TileId { z: 3, x: 0, y: 0 });
        assert_eq!(tile_of(p(180.0, -90.0), 3), TileId { z: 3, x: 7, y: 7 });
        assert_eq!(tile_of(p(0.0, 0.0), 1), TileId { z: 1, x: 1, y: 1 });
    }

    #[test]
    fn bbox_and_pixel_agree_with_tile_of() {
        let t = TileId::new(10, 843, 388).unwrap();
        let b = t.bbox();
        assert!((b.max_lat - lat_of(388.0 / 1024.0)).abs() < 1e-12);
        assert!(b.min_lat < 39.9087 && 39.9087 < b.max_lat);
        let inside = p((b.min_lon + b.max_lon) / 2.0, (b.min_lat + b.max_lat) / 2.0);
        let (px, py) = t.pixel(inside, 4096).unwrap();
        assert!(
            (2000..2100).contains(&px) && (1900..2200).contains(&py),
            "{px} {py}"
        );
        assert_eq!(t.pixel(p(b.min_lon, b.max_lat), 4096), Some((0, 0)));
        // The east and south edges belong to the neighbours.
        assert_eq!(t.pixel(p(b.max_lon, b.max_lat - 1e-6), 4096), None);
        assert!(TileId::new(2, 4, 0).is_none());
        assert!(TileId::new(31, 0, 0).is_none());
    }

    #[test]
    fn latitude_round_trips() {
        for lat in [-80.0, -30.5, 0.0, 22.3, 39.9, 85.0] {
            let (_, y) = world(p(10.0, lat));
            assert!((lat_of(y) - lat).abs() < 1e-9, "{lat}");
        }
    }
}
