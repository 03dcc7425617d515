//! Catchments: what each facility serves. Two polygons per facility:
//!
//! - the **ring**: the geodesic circle of the service radius, as a polygon of
//!   [`RING_VERTICES`] vertices placed exactly on the circle;
//! - the **cell**: the part of the ring that is nearer to this facility than to any other
//!   of its layer, i.e. its Voronoi cell clipped to the radius.
//!
//! The cell is computed on the sphere, not in a projection: in the gnomonic projection
//! centred on the facility (the tangent plane, seen from the Earth's centre), great
//! circles are straight lines and the geodesic circle is a circle. The boundary between
//! two facilities is a great circle (the set of points equally far from both), so in
//! that plane each neighbour cuts the ring by a straight line, and the clipping is exact
//! Sutherland–Hodgman on a convex polygon. Neighbours come from the layer's 3-D tree in
//! increasing distance; the walk stops once the bisector of the next one lies beyond
//! the farthest vertex left (`tan(θ/2)` in the plane, for a neighbour `θ` radians away).
//!
//! The only approximations are the polygon's: the ring is a 64-gon inscribed in the
//! circle (its edges lie inside it by at most `r·(1 − cos(π/64))`, 0.12 % of the radius),
//! and GeoJSON readers draw each edge as a straight line in lon/lat rather than a great
//! circle, which over edges of a few hundred metres is far below the data's position
//! accuracy. Facilities at exactly the same point share one cell.

use rayon::prelude::*;

use super::{FacilityLayer, Radius};
use crate::index::{Atlas, Walk, sphere};
use crate::model::LonLat;

use super::grid::continuous_longitudes;

/// Vertices of each ring.
pub const RING_VERTICES: usize = 64;

/// One facility's service area.
#[derive(Clone, Debug, PartialEq)]
pub struct Catchment {
    /// Index into [`crate::geodata::Dataset::facilities`].
    pub facility: u32,
    /// The geodesic circle, a closed counter-clockwise ring of `[lon, lat]`.
    pub ring: Vec<[f64; 2]>,
    /// The Voronoi cell clipped to the circle, a closed counter-clockwise ring.
    pub cell: Vec<[f64; 2]>,
    /// How many neighbours cut the circle (0: the cell is the whole ring).
    pub cut_by: u32,
}

type V3 = [f64; 3];

fn dot(a: &V3, b: &V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The tangent plane at a point: the point itself, east and north.
struct Frame {
    f: V3,
    east: V3,
    north: V3,
}

impl Frame {
    fn at(p: LonLat) -> Self {
        let (lon, lat) = (p.lon().to_radians(), p.lat().to_radians());
        Frame {
            f: sphere::unit_vector(p),
            east: [-lon.sin(), lon.cos(), 0.0],
            north: [-lat.sin() * lon.cos(), -lat.sin() * lon.sin(), lat.cos()],
        }
    }

    /// Back from the plane to `[lon, lat]` degrees.
    fn to_lon_lat(&self, [u, v]: [f64; 2]) -> [f64; 2] {
        let x: V3 = std::array::from_fn(|i| self.f[i] + u * self.east[i] + v * self.north[i]);
        let n = dot(&x, &x).sqrt();
        let lat = (x[2] / n).clamp(-1.0, 1.0).asin().to_degrees();
        let lon = x[1].atan2(x[0]).to_degrees();
        [lon, lat]
    }

    /// The half-plane `c + a·u + b·v ≥ 0` of points nearer to this point than to `q`.
    fn nearer_than(&self, q: &V3) -> [f64; 3] {
        [
            -dot(&self.east, q),
            -dot(&self.north, q),
            1.0 - dot(&self.f, q),
        ]
    }
}

/// Keeps the part of a convex polygon where `c + a·u + b·v ≥ 0`.
fn clip(poly: &[[f64; 2]], [a, b, c]: [f64; 3]) -> Vec<[f64; 2]> {
    let side = |p: &[f64; 2]| c + a * p[0] + b * p[1];
    let mut out = Vec::with_capacity(poly.len() + 1);
    for (i, p) in poly.iter().enumerate() {
        let q = &poly[(i + 1) % poly.len()];
        let (sp, sq) = (side(p), side(q));
        if sp >= 0.0 {
            out.push(*p);
        }
        if (sp >= 0.0) != (sq >= 0.0) {
            let t = sp / (sp - sq);
            out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
        }
    }
    out
}

fn max_radius(poly: &[[f64; 2]]) -> f64 {
    poly.iter()
        .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
        .fold(0.0, f64::max)
}

fn closed_ring(frame: &Frame, poly: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut ring: Vec<[f64; 2]> = poly.iter().map(|p| frame.to_lon_lat(*p)).collect();
    continuous_longitudes(&mut ring);
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    ring
}

/// The geodesic circle of `radius` around `centre`: a closed counter-clockwise ring of
/// `vertices` points (plus the closing one), each exactly `radius` away.
pub fn ring(centre: LonLat, radius: Radius, vertices: usize) -> Vec<[f64; 2]> {
    let frame = Frame::at(centre);
    closed_ring(&frame, &circle(radius, vertices))
}

fn circle(radius: Radius, vertices: usize) -> Vec<[f64; 2]> {
    let t = (radius.metres() / sphere::EARTH_RADIUS_M).tan();
    let n = vertices.max(3);
    (0..n)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            [t * a.cos(), t * a.sin()]
        })
        .collect()
}

/// The catchment of one facility of `layer` (index into the dataset's facilities).
pub fn catchment(atlas: &Atlas, layer: FacilityLayer, facility: u32, radius: Radius) -> Catchment {
    let frame = Frame::at(atlas.facility(facility).position);
    let disc = circle(radius, RING_VERTICES);
    let mut cell = disc.clone();
    let mut reach = max_radius(&cell);
    let mut cut_by = 0;
    atlas.layer_nearest_walk(layer.layer(), frame.f, |other, d2| {
        if other == facility || d2 <= 0.0 {
            return Walk::Continue; // itself, or a facility at the very same point: one shared cell
        }
        // The bisector lies θ/2 from the facility; tan(θ/2) in the gnomonic plane.
        let half = (d2.sqrt() / 2.0).min(1.0).asin();
        if half.tan() > reach || cell.len() < 3 {
            return Walk::Stop;
        }
        let q = sphere::unit_vector(atlas.facility(other).position);
        let clipped = clip(&cell, frame.nearer_than(&q));
        if clipped != cell {
            cut_by += 1;
            cell = clipped;
            reach = max_radius(&cell);
        }
        Walk::Continue
    });
    Catchment {
        facility,
        ring: closed_ring(&frame, &disc),
        cell: closed_ring(&frame, &cell),
        cut_by,
    }
}

/// The catchments of the given facilities of `layer`, in the given order (in parallel).
/// Neighbours are taken from the whole layer, so cells at the edge of a bbox are right.
pub fn catchments(
    atlas: &Atlas,
    layer: FacilityLayer,
    facilities: &[u32],
    radius: Radius,
) -> Vec<Catchment> {
    facilities
        .par_iter()
        .map(|f| catchment(atlas, layer, *f, radius))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodata::Dataset;
    use crate::model::hours::{Calendar, Schedules};
    use crate::model::{Facility, Layer};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    fn facility(i: usize, p: LonLat) -> Facility {
        crate::coverage::test_data::facility(i, Layer::CourierStation, p)
    }

    #[test]
    fn ring_vertices_lie_on_the_circle() {
        for (lon, lat) in [(116.4, 39.9), (179.99, 10.0), (0.0, 89.9), (-70.0, -33.0)] {
            let r = Radius::new(3_000.0).unwrap();
            let ring = ring(ll(lon, lat), r, RING_VERTICES);
            assert_eq!(ring.len(), RING_VERTICES + 1);
            assert_eq!(ring.first(), ring.last());
            for v in &ring {
                let wrapped = (v[0] + 180.0).rem_euclid(360.0) - 180.0;
                let d = sphere::haversine_m(ll(lon, lat), ll(wrapped, v[1]));
                assert!((d - 3_000.0).abs() < 1e-3, "({lon},{lat}) {v:?}: {d}");
            }
        }
    }

    /// Every vertex of every cell is within the radius and no other facility is nearer.
    #[test]
    fn cells_are_clipped_voronoi_cells() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let pts: Vec<LonLat> = (0..300)
            .map(|_| ll(rng.random_range(116.0..116.3), rng.random_range(39.8..40.0)))
            .collect();
        let mut fs: Vec<Facility> = pts
            .iter()
            .enumerate()
            .map(|(i, p)| facility(i, *p))
            .collect();
        fs.push(facility(999, pts[0])); // a twin at the same point
        let atlas = Atlas::new(Dataset::from_parts(
            fs,
            vec![],
            Schedules::new(Calendar::bundled()),
        ));
        let layer = FacilityLayer::new(Layer::CourierStation).unwrap();
        let r = Radius::new(2_000.0).unwrap();
        let all: Vec<u32> = (0..atlas.facility_count() as u32).collect();
        let cs = catchments(&atlas, layer, &all, r);
        let mut cut = 0;
        for c in &cs {
            let f = atlas.facility(c.facility).position;
            cut += usize::from(c.cut_by > 0);
            assert!(c.cell.len() >= 4, "{c:?}");
            for v in &c.cell {
                let v = ll(v[0], v[1]);
                let own = sphere::haversine_m(f, v);
                assert!(own <= 2_000.0 + 1e-6, "{own}");
                for p in &pts {
                    assert!(sphere::haversine_m(*p, v) >= own - 1e-3);
                }
            }
        }
        assert!(cut > 250, "dense points cut each other: {cut}");
        assert_eq!(cs[0].cell, cs[300].cell, "twins share a cell");
    }
}
