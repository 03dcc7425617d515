//! Along a route: the facilities within a corridor of a driver's route, in the
//! order the driver meets them.
//!
//! 1. [`parse`]: the route as drivers' apps give it — a GeoJSON LineString or
//!    MultiLineString, an encoded polyline (precision 5 or 6), Amap's and Baidu's
//!    `"lon,lat;lon,lat;…"` strings, or a GPX track — converted to WGS-84.
//! 2. [`Route::new`]: unit vectors and the distance along the route at each vertex;
//!    the limits (vertices, length) are checked.
//! 3. [`along`]: the route is cut into short runs of segments; for each run one
//!    tree query finds the facilities within the run's reach plus the corridor;
//!    each candidate is measured against the run's segments exactly on the sphere
//!    (cross-track distance to the great-circle arc, or to its nearer end), and
//!    keeps its closest point over the whole route.
//!
//! Geodesic throughout, on the sphere of [`sphere::EARTH_RADIUS_M`]: routes across
//! ±180° and near the poles need no special case, because everything is done with
//! 3-D unit vectors. [`along_by_scan`] measures every facility against every
//! segment: the property tests hold [`along`] to it.

mod parse;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rstar::RTree;
use rstar::primitives::GeomWithData;

pub use parse::{RouteInput, parse, parse_gpx};

use crate::index::{Atlas, sphere};
use crate::model::{AmenitySet, LayerSet, LonLat};

/// The most vertices a route may have.
pub const MAX_VERTICES: usize = 100_000;
/// The widest corridor, metres.
pub const MAX_CORRIDOR_M: f64 = 50_000.0;
/// The longest route, metres.
pub const MAX_LENGTH_M: f64 = 10_000_000.0;

/// Why a route cannot be used: the field at fault and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RouteError {
    /// The request field (`route`, `corridor_m`, …).
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

impl RouteError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        RouteError {
            field,
            reason: reason.into(),
        }
    }
}

/// A segment's midpoint on the sphere, with the segment's first vertex.
type Midpoint = GeomWithData<[f64; 3], u32>;

/// A route made ready for queries: one or more parts (a MultiLineString's lines),
/// travelled in order.
#[derive(Debug, Clone)]
pub struct Route {
    /// Each vertex as a unit vector.
    xyz: Vec<[f64; 3]>,
    /// Metres along the route at each vertex (gaps between parts are not travelled).
    along: Vec<f64>,
    /// Vertex `i` starts a segment to `i + 1` (false at the end of a part).
    joined: Vec<bool>,
    /// The segments' midpoints, to find the segments near a point.
    midpoints: RTree<Midpoint>,
    /// Half the longest segment (radians): no point of a segment is farther than
    /// this from its midpoint.
    half_max: f64,
}

impl Route {
    /// A route from its parts (WGS-84), checked against the limits.
    pub fn new(parts: &[Vec<LonLat>]) -> Result<Route, RouteError> {
        let vertices: usize = parts.iter().map(Vec::len).sum();
        if vertices > MAX_VERTICES {
            return Err(RouteError::new(
                "route",
                format!("{vertices} vertices; at most {MAX_VERTICES} (simplify the route)"),
            ));
        }
        if parts.iter().all(|p| p.len() < 2) {
            return Err(RouteError::new("route", "needs at least two points"));
        }
        let route = Route::build(parts);
        if route.length_m() > MAX_LENGTH_M {
            return Err(RouteError::new(
                "route",
                format!(
                    "{:.0} km long; at most {:.0} km",
                    route.length_m() / 1000.0,
                    MAX_LENGTH_M / 1000.0
                ),
            ));
        }
        Ok(route)
    }

    /// A route from its parts, whatever their size.
    fn build(parts: &[Vec<LonLat>]) -> Route {
        let vertices: usize = parts.iter().map(Vec::len).sum();
        let mut route = Route {
            xyz: Vec::with_capacity(vertices),
            along: Vec::with_capacity(vertices),
            joined: Vec::with_capacity(vertices),
            midpoints: RTree::new(),
            half_max: 0.0,
        };
        let mut travelled = 0.0;
        for part in parts.iter().filter(|p| !p.is_empty()) {
            for (i, p) in part.iter().enumerate() {
                let v = sphere::unit_vector(*p);
                if i > 0
                    && let Some(prev) = route.xyz.last()
                {
                    travelled += angle(prev, &v) * sphere::EARTH_RADIUS_M;
                }
                route.xyz.push(v);
                route.along.push(travelled);
                route.joined.push(i + 1 < part.len());
            }
        }
        let mut midpoints = Vec::with_capacity(vertices);
        let mut half_max: f64 = 0.0;
        let segments: Vec<usize> = route.segments().collect();
        for i in segments {
            let (a, b) = (&route.xyz[i], &route.xyz[i + 1]);
            let sum = [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
            let len = norm(&sum);
            let (mid, half) = if len > 1e-9 {
                (
                    [sum[0] / len, sum[1] / len, sum[2] / len],
                    angle(a, b) / 2.0,
                )
            } else {
                // Antipodal ends: no midpoint bounds the arc.
                (*a, std::f64::consts::PI)
            };
            half_max = half_max.max(half);
            midpoints.push(Midpoint::new(mid, i as u32));
        }
        route.half_max = half_max;
        route.midpoints = RTree::bulk_load(midpoints);
        route
    }

    /// The route's length in metres.
    pub fn length_m(&self) -> f64 {
        self.along.last().copied().unwrap_or(0.0)
    }

    /// The segments, as indices of their first vertex.
    fn segments(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.xyz.len()).filter(|&i| self.joined[i])
    }
}

/// Which side of the direction of travel a facility lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// To the left.
    Left,
    /// To the right.
    Right,
}

/// What to look for along the route.
#[derive(Clone, Debug)]
pub struct AlongQuery {
    /// Metres off the route at most.
    pub corridor_m: f64,
    /// Facility layers.
    pub layers: LayerSet,
    /// Facilities must offer all of these.
    pub amenities: AmenitySet,
    /// When the driver sets off, and at what speed (km/h): gives each facility an
    /// arrival time.
    pub depart: Option<(DateTime<Utc>, f64)>,
    /// Keep only facilities open when the driver arrives (needs `depart`).
    pub open_on_arrival: bool,
    /// How many at most (the first ones along the route).
    pub limit: usize,
}

/// One facility along the route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlongHit {
    /// Index into the dataset's facilities.
    pub facility: u32,
    /// Metres along the route to the point closest to the facility.
    pub along_m: f64,
    /// Metres from that point to the facility (great-circle).
    pub offset_m: f64,
    /// Left or right of the direction of travel (`None` exactly on the route).
    pub side: Option<Side>,
    /// Arrival time at the facility's closest point, when a departure is given.
    pub eta: Option<DateTime<Utc>>,
    /// Open at `eta`: `None` when the hours are unknown or there is no `eta`.
    pub open_on_arrival: Option<bool>,
}

/// The angle between two unit vectors, accurate at every size.
fn angle(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let c = cross(a, b);
    norm(&c).atan2(dot(a, b))
}

fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: &[f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// Where `p` is closest to the great-circle arc from `a` to `b` (unit vectors):
/// `(angle off the arc, angle along it from a, side)`, angles in radians.
fn to_segment(p: &[f64; 3], a: &[f64; 3], b: &[f64; 3]) -> (f64, f64, Option<Side>) {
    let n = cross(a, b);
    let n_len = norm(&n);
    let ends = || {
        let (da, db) = (angle(p, a), angle(p, b));
        if da <= db {
            (da, 0.0)
        } else {
            (db, angle(a, b))
        }
    };
    if n_len < 1e-15 {
        // A zero-length (or antipodal) segment: its ends only.
        let (d, along) = ends();
        return (d, along, None);
    }
    let n = [n[0] / n_len, n[1] / n_len, n[2] / n_len];
    let s = dot(p, &n);
    let side = if s > 0.0 {
        Some(Side::Left)
    } else if s < 0.0 {
        Some(Side::Right)
    } else {
        None
    };
    // The foot of the perpendicular on the great circle.
    let foot = [p[0] - s * n[0], p[1] - s * n[1], p[2] - s * n[2]];
    let foot_len = norm(&foot);
    if foot_len > 1e-15 {
        let foot = [foot[0] / foot_len, foot[1] / foot_len, foot[2] / foot_len];
        // On the arc when a→foot and foot→b both turn the way a→b does.
        if dot(&cross(a, &foot), &n) >= 0.0 && dot(&cross(&foot, b), &n) >= 0.0 {
            return (s.clamp(-1.0, 1.0).asin().abs(), angle(a, &foot), side);
        }
    }
    let (d, along) = ends();
    (d, along, side)
}

/// The closest point of the route to one facility, so far.
#[derive(Clone, Copy)]
struct Closest {
    offset: f64,
    along_m: f64,
    side: Option<Side>,
    /// The segment (its first vertex): at a vertex two segments tie, and the
    /// earlier one says which side.
    segment: usize,
}

impl Closest {
    const NONE: Closest = Closest {
        offset: f64::INFINITY,
        along_m: f64::INFINITY,
        side: None,
        segment: usize::MAX,
    };

    fn offer(&mut self, candidate: Closest) {
        let key = |c: &Closest| (c.offset, c.along_m, c.segment);
        let (a, b) = (key(&candidate), key(self));
        let better = a.0 < b.0 || (a.0 == b.0 && (a.1 < b.1 || (a.1 == b.1 && a.2 < b.2)));
        if better {
            *self = candidate;
        }
    }
}

/// Measures `p` against segment `i` of `route`: the candidate's best so far improves.
fn measure(route: &Route, i: usize, p: &[f64; 3], best: &mut Closest) {
    let (off, along, side) = to_segment(p, &route.xyz[i], &route.xyz[i + 1]);
    best.offer(Closest {
        offset: off * sphere::EARTH_RADIUS_M,
        along_m: route.along[i] + along * sphere::EARTH_RADIUS_M,
        side,
        segment: i,
    });
}

/// The facilities within the corridor, in the order they come along the route.
///
/// Runs of segments are visited in route order; each run's tree query yields the
/// facilities that may lie within the corridor of its segments, and each facility
/// met for the first time is measured at once against the whole route (the
/// segments whose midpoints are near it, nearest first, until no segment can be
/// closer), so its place is final when found. A facility whose closest point lies
/// before the next run was met by an earlier run: once `limit` facilities lie
/// before it, the rest of the route cannot change the answer.
pub fn along(atlas: &Atlas, route: &Route, q: &AlongQuery) -> Vec<AlongHit> {
    let corridor = q.corridor_m / sphere::EARTH_RADIUS_M;
    let mut found: HashMap<u32, Option<AlongHit>> = HashMap::new();
    let mut before: Vec<f64> = Vec::new();
    let segments: Vec<usize> = route.segments().collect();
    let mut start = 0;
    while start < segments.len() {
        let (centre, reach, end) = run(route, &segments, start, corridor);
        let limit = (reach + corridor).min(std::f64::consts::PI);
        let chord2 = 2.0 - 2.0 * limit.cos();
        atlas.within(centre, q.layers, q.amenities, chord2, |facility| {
            found.entry(facility).or_insert_with(|| {
                let p = sphere::unit_vector(atlas.facility(facility).position);
                let hit = closest(route, &p, corridor)
                    .and_then(|c| hit(atlas, facility, c, q))
                    .filter(|h| !q.open_on_arrival || h.open_on_arrival == Some(true));
                if let Some(h) = &hit {
                    before.push(h.along_m);
                }
                hit
            });
        });
        start = end;
        // Everything closest before the next run is known: stop once that is enough.
        if let Some(&next) = segments.get(start)
            && before.len() >= q.limit
        {
            let boundary = route.along[next];
            if before.iter().filter(|a| **a < boundary).count() >= q.limit {
                break;
            }
        }
    }
    order(found.into_values().flatten().collect(), q.limit)
}

/// The point of the route closest to `p`, if within `corridor` (radians).
fn closest(route: &Route, p: &[f64; 3], corridor: f64) -> Option<Closest> {
    let mut best = Closest::NONE;
    let reach = corridor * sphere::EARTH_RADIUS_M;
    for (mid, d2) in route.midpoints.nearest_neighbor_iter_with_distance_2(*p) {
        // No point of this segment, nor of any farther one, is nearer than this.
        let bound =
            (2.0 * (d2.sqrt() / 2.0).min(1.0).asin() - route.half_max) * sphere::EARTH_RADIUS_M;
        if bound > best.offset.min(reach) {
            break;
        }
        measure(route, mid.data as usize, p, &mut best);
    }
    (best.offset <= reach).then_some(best)
}

/// A facility's answer from its closest point: arrival time, open on arrival.
fn hit(atlas: &Atlas, facility: u32, c: Closest, q: &AlongQuery) -> Option<AlongHit> {
    if c.offset > q.corridor_m {
        return None;
    }
    let eta = q.depart.map(|(at, speed_kmh)| {
        let seconds = c.along_m / (speed_kmh / 3.6);
        at + chrono::Duration::milliseconds((seconds * 1000.0).round() as i64)
    });
    let open_on_arrival = eta.and_then(|eta| {
        atlas
            .facility(facility)
            .hours
            .and_then(|h| atlas.schedules().is_open(h, eta))
    });
    Some(AlongHit {
        facility,
        along_m: c.along_m,
        offset_m: c.offset,
        side: c.side,
        eta,
        open_on_arrival,
    })
}

/// In route order (then nearer first, then by index), the first `limit`.
fn order(mut hits: Vec<AlongHit>, limit: usize) -> Vec<AlongHit> {
    hits.sort_by(|a, b| {
        a.along_m
            .total_cmp(&b.along_m)
            .then(a.offset_m.total_cmp(&b.offset_m))
            .then(a.facility.cmp(&b.facility))
    });
    hits.truncate(limit);
    hits
}

/// The run of segments starting at `segments[start]`: its centre, reach (radians)
/// and where the next run starts.
fn run(route: &Route, segments: &[usize], start: usize, corridor: f64) -> ([f64; 3], f64, usize) {
    let first = segments[start];
    let (a, b) = (&route.xyz[first], &route.xyz[first + 1]);
    let own = angle(a, b);
    let budget = corridor.max(1e-6);
    if own / 2.0 >= budget {
        // A long segment: a cap around its midpoint holds the whole arc.
        let mid = [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
        let len = norm(&mid);
        let centre = if len > 1e-12 {
            [mid[0] / len, mid[1] / len, mid[2] / len]
        } else {
            *a
        };
        return (centre, own / 2.0, start + 1);
    }
    let centre = *a;
    let mut reach = own;
    let mut end = start + 1;
    while end < segments.len() && end - start < 512 {
        let i = segments[end];
        // Consecutive within one part only: a new part starts a new run.
        if i != segments[end - 1] + 1 {
            break;
        }
        let r = angle(&centre, &route.xyz[i + 1]);
        if r > budget {
            break;
        }
        reach = reach.max(r);
        end += 1;
    }
    (centre, reach, end)
}

/// What [`along`] answers, found by measuring every facility against every segment:
/// slow and obviously complete. The tests hold [`along`] to it.
pub fn along_by_scan(atlas: &Atlas, route: &Route, q: &AlongQuery) -> Vec<AlongHit> {
    let mut hits = Vec::new();
    for (i, f) in atlas.data().facilities.iter().enumerate() {
        if !q.layers.contains(f.layer) || !f.amenities.contains_all(q.amenities) {
            continue;
        }
        let p = sphere::unit_vector(f.position);
        let mut c = Closest::NONE;
        for s in route.segments() {
            measure(route, s, &p, &mut c);
        }
        if let Some(h) = hit(atlas, i as u32, c, q)
            && (!q.open_on_arrival || h.open_on_arrival == Some(true))
        {
            hits.push(h);
        }
    }
    order(hits, q.limit)
}

#[cfg(test)]
mod tests;
