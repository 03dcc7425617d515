//! Park outlines in the tiles: the parks that have a polygon (`Park::geometry`) as
//! MVT polygons in the layer [`AREAS_LAYER`], at the zooms where they are big
//! enough to see.
//!
//! 1. index: each polygon is projected to the unit Mercator square (in the tile
//!    set's frame), and put in the R-tree of its first zoom: the zoom where its
//!    bounding box spans [`AREA_MIN_PX`] pixels of a 512 px tile. A tile of zoom z
//!    searches the trees of zooms 0..=z only, so a low-zoom tile never visits the
//!    many parks too small to draw there;
//! 2. clip: each ring is clipped to the tile plus [`BUFFER`] (Sutherland–Hodgman
//!    against the four sides: exact for the area inside, which is all a fill or an
//!    outline needs; a concave ring may get zero-width bridges along the cut);
//! 3. quantise to the tile's 4096 grid, drop repeated vertices and rings left
//!    without area (a hole whose outer ring is gone goes with it);
//! 4. orient as MVT 2.1 says: an exterior ring has a positive surveyor's area in
//!    tile coordinates (clockwise on the screen), an interior ring a negative one.

use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::frame::Frame;
use super::mercator::{TileId, world_xy};
use super::mvt::EXTENT;
use super::{MAX_ZOOM, MIN_ZOOM};
use crate::model::{LonLat, Park};

/// The MVT layer of the park outlines.
pub const AREAS_LAYER: &str = "park_area";
/// A polygon is drawn from the zoom where its bounding box spans this many pixels
/// of a 512 px tile (smaller, it is the park's point alone).
pub const AREA_MIN_PX: f64 = 4.0;
/// How far past the tile's edges polygons are kept, in tile units (of [`EXTENT`]):
/// 8 px on a 512 px tile, so that an outline's stroke is not cut at the edge.
pub const BUFFER: f64 = 64.0;

/// A ring in tile coordinates, oriented (see the module docs).
pub type Ring = Vec<(i32, i32)>;

/// One park's polygons in the unit Mercator square: polygons, each its outer ring
/// then its holes, without the closing vertex.
#[derive(Debug)]
struct Area {
    park: u32,
    polygons: Vec<Vec<Vec<[f64; 2]>>>,
}

/// The park outlines of one generation in one frame.
#[derive(Debug, Default)]
pub struct AreaIndex {
    areas: Vec<Area>,
    /// One tree per first zoom: rectangles (the polygons' bounding boxes) with the
    /// index into `areas`.
    by_zoom: Vec<RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>>,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum RawGeometry {
    Point(IgnoredAny),
    Polygon(Vec<Vec<Vec<f64>>>),
    MultiPolygon(Vec<Vec<Vec<Vec<f64>>>>),
}

/// A park's polygons from its GeoJSON geometry, in `frame`, in the Mercator square
/// (`None` for a point, or a geometry that does not parse: the data was
/// validated on load, so that is a point).
fn polygons_of(raw: &str, frame: Frame) -> Option<Vec<Vec<Vec<[f64; 2]>>>> {
    let polys = match serde_json::from_str::<RawGeometry>(raw).ok()? {
        RawGeometry::Point(_) => return None,
        RawGeometry::Polygon(p) => vec![p],
        RawGeometry::MultiPolygon(m) => m,
    };
    let ring = |r: &Vec<Vec<f64>>| -> Vec<[f64; 2]> {
        let mut out: Vec<[f64; 2]> = r
            .iter()
            .filter_map(|c| match c.as_slice() {
                [lon, lat, ..] => LonLat::new(*lon, *lat).ok(),
                _ => None,
            })
            .map(|p| {
                let (lon, lat) = frame.shift(p);
                let (x, y) = world_xy(lon, lat);
                [x, y]
            })
            .collect();
        if out.len() > 1 && out.first() == out.last() {
            out.pop();
        }
        out
    };
    let out: Vec<Vec<Vec<[f64; 2]>>> = polys
        .iter()
        .map(|rings| rings.iter().map(ring).collect::<Vec<_>>())
        .filter(|rings: &Vec<Vec<[f64; 2]>>| rings.first().is_some_and(|r| r.len() >= 3))
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The bounding box of an area's outer rings: `[min_x, min_y], [max_x, max_y]`.
fn bounds(polygons: &[Vec<Vec<[f64; 2]>>]) -> ([f64; 2], [f64; 2]) {
    let mut lo = [f64::INFINITY; 2];
    let mut hi = [f64::NEG_INFINITY; 2];
    for p in polygons.iter().filter_map(|rings| rings.first()).flatten() {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (lo, hi)
}

/// The first zoom at which a box `size` wide (unit square) spans [`AREA_MIN_PX`]
/// pixels of a 512 px tile, or `None` when it never does up to [`MAX_ZOOM`].
pub fn first_zoom(size: f64) -> Option<u8> {
    if size.is_nan() || size <= 0.0 {
        return None;
    }
    let z = (AREA_MIN_PX / (size * 512.0))
        .log2()
        .ceil()
        .max(f64::from(MIN_ZOOM));
    (z <= f64::from(MAX_ZOOM)).then_some(z as u8)
}

impl AreaIndex {
    /// The outlines of `parks` (each with the index it is known by) that have a
    /// polygon, in `frame`.
    pub fn new(parks: &[(u32, &Park)], frame: Frame) -> Self {
        let areas: Vec<Area> = parks
            .par_iter()
            .filter_map(|&(i, park)| {
                let raw = park.geometry.as_deref()?;
                let polygons = polygons_of(raw.get(), frame)?;
                Some(Area { park: i, polygons })
            })
            .collect();
        let mut per_zoom: Vec<Vec<GeomWithData<Rectangle<[f64; 2]>, u32>>> =
            (0..=MAX_ZOOM).map(|_| Vec::new()).collect();
        for (k, a) in areas.iter().enumerate() {
            let (lo, hi) = bounds(&a.polygons);
            if let Some(z) = first_zoom((hi[0] - lo[0]).max(hi[1] - lo[1])) {
                per_zoom[usize::from(z)]
                    .push(GeomWithData::new(Rectangle::from_corners(lo, hi), k as u32));
            }
        }
        AreaIndex {
            areas,
            by_zoom: per_zoom.into_iter().map(RTree::bulk_load).collect(),
        }
    }

    /// Parks with a polygon.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether no park has a polygon.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The outlines drawn in `tile`: each park (index into the layer) with its
    /// rings clipped, quantised and oriented, in park order.
    pub fn clipped(&self, tile: TileId) -> Vec<(u32, Vec<Ring>)> {
        let n = tile.side();
        // Tile units per unit of the Mercator square.
        let scale = n * f64::from(EXTENT);
        let margin = BUFFER / scale;
        let (x0, y0) = (f64::from(tile.x) / n, f64::from(tile.y) / n);
        let envelope = AABB::from_corners(
            [x0 - margin, y0 - margin],
            [x0 + 1.0 / n + margin, y0 + 1.0 / n + margin],
        );
        let mut hits: Vec<u32> = self
            .by_zoom
            .iter()
            .take(usize::from(tile.z.min(MAX_ZOOM)) + 1)
            .flat_map(|t| t.locate_in_envelope_intersecting(envelope))
            .map(|g| g.data)
            .collect();
        hits.sort_unstable_by_key(|&k| self.areas[k as usize].park);
        let to_tile = |p: &[f64; 2]| [(p[0] - x0) * scale, (p[1] - y0) * scale];
        let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
        hits.into_iter()
            .filter_map(|k| {
                let area = &self.areas[k as usize];
                let mut rings = Vec::new();
                for polygon in &area.polygons {
                    for (r, ring) in polygon.iter().enumerate() {
                        let exterior = r == 0;
                        let tile_ring: Vec<[f64; 2]> = ring.iter().map(to_tile).collect();
                        match quantise(&clip(&tile_ring, lo, hi), exterior) {
                            Some(q) => rings.push(q),
                            // Without its outer ring a polygon's holes mean nothing.
                            None if exterior => break,
                            None => {}
                        }
                    }
                }
                (!rings.is_empty()).then_some((area.park, rings))
            })
            .collect()
    }
}

/// Clips a ring to the square `[lo, hi]²` (Sutherland–Hodgman, one side at a time).
pub fn clip(ring: &[[f64; 2]], lo: f64, hi: f64) -> Vec<[f64; 2]> {
    let mut out = ring.to_vec();
    // (axis, bound, keep the side ≥ bound)
    for (axis, bound, above) in [(0, lo, true), (0, hi, false), (1, lo, true), (1, hi, false)] {
        if out.is_empty() {
            break;
        }
        let inside = |p: &[f64; 2]| {
            if above {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let input = std::mem::take(&mut out);
        let mut prev = input[input.len() - 1];
        for &cur in &input {
            let (pin, cin) = (inside(&prev), inside(&cur));
            if cin != pin {
                let t = (bound - prev[axis]) / (cur[axis] - prev[axis]);
                let mut p = [
                    prev[0] + t * (cur[0] - prev[0]),
                    prev[1] + t * (cur[1] - prev[1]),
                ];
                p[axis] = bound;
                out.push(p);
            }
            if cin {
                out.push(cur);
            }
            prev = cur;
        }
    }
    out
}

/// Twice the surveyor's area of a ring (positive: clockwise with y down).
pub fn area2(ring: &[(i32, i32)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

/// Rounds a clipped ring to the tile grid, drops repeated vertices, and orients
/// it; `None` when nothing with an area is left.
fn quantise(ring: &[[f64; 2]], exterior: bool) -> Option<Ring> {
    let mut out: Ring = Vec::with_capacity(ring.len());
    for p in ring {
        let q = (p[0].round() as i32, p[1].round() as i32);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    if out.len() < 3 {
        return None;
    }
    let a = area2(&out);
    if a == 0 {
        return None;
    }
    if (a > 0) != exterior {
        out.reverse();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_the_area_inside() {
        // A square half across the right edge of [0, 10]².
        let sq = [[5.0, 2.0], [15.0, 2.0], [15.0, 8.0], [5.0, 8.0]];
        let c = clip(&sq, 0.0, 10.0);
        let q = quantise(&c, true).unwrap();
        assert_eq!(area2(&q), 2 * 5 * 6);
        // Entirely outside: nothing.
        assert!(clip(&[[20.0, 20.0], [30.0, 20.0], [30.0, 30.0]], 0.0, 10.0).is_empty());
        // Covering the whole square: the square.
        let big = [[-5.0, -5.0], [15.0, -5.0], [15.0, 15.0], [-5.0, 15.0]];
        assert_eq!(area2(&quantise(&clip(&big, 0.0, 10.0), true).unwrap()), 200);
    }

    #[test]
    fn rings_are_oriented_as_mvt_says() {
        let ccw = [[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0]];
        assert!(area2(&quantise(&ccw, true).unwrap()) > 0);
        assert!(area2(&quantise(&ccw, false).unwrap()) < 0);
        // A sliver that rounds to a line is dropped.
        assert!(quantise(&[[0.0, 0.0], [5.0, 0.1], [10.0, 0.0]], true).is_none());
    }

    #[test]
    fn first_zoom_follows_the_size() {
        // 1 km is about 2.5e-5 of the square: 4 px of a 512 px tile from z9.
        let km = 1000.0 / 40_075_016.7;
        assert_eq!(first_zoom(km), Some(9));
        assert_eq!(first_zoom(1.0), Some(0));
        assert_eq!(first_zoom(0.0), None);
        assert_eq!(first_zoom(1e-9), None);
    }
}
