//! In-memory R-trees over a [`Dataset`] and the queries they answer.
//!
//! - [`sphere`]: geodesic arithmetic and the 3-D unit vectors the trees hold.
//! - [`Atlas`]: the dataset plus one tree per layer: k-nearest by great-circle
//!   distance with layer / amenity / open-now / distance filters, and bbox queries.
//!
//! - `packed`: the static packed R-tree that answers filtered nearest queries.
//!
//! Nearest: one packed tree over all facilities yields them in exact geodesic
//! order (see [`sphere`]); each node carries the OR of its facilities' amenity and
//! layer bits, so subtrees without a wanted amenity or layer are never opened; the
//! open-now test (evaluated once per distinct schedule and minute) comes last. Nothing is
//! sorted: the walk stops after `k` hits or at the distance limit.
//!
//! The same tree answers the coverage analyses (unfiltered nearest of one layer,
//! counts within a radius); lon/lat `rstar` trees answer the bbox queries.

mod aabb;
mod packed;
pub mod sphere;

pub(crate) use aabb::Aabb;

use chrono::{DateTime, Utc};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

pub use self::packed::Walk;
use self::packed::{PackedTree, Want};
use crate::geodata::Dataset;
use crate::model::hours::HoursId;
use crate::model::{AmenitySet, Facility, Layer, LayerSet, LonLat, Park};

/// A point on the lon/lat plane, for bounding-box queries.
type PlanePoint = GeomWithData<[f64; 2], u32>;

/// A k-nearest query.
#[derive(Clone, Debug)]
pub struct NearestQuery {
    /// Where from.
    pub origin: LonLat,
    /// How many at most.
    pub k: usize,
    /// Which facility layers (the park layer is ignored here).
    pub layers: LayerSet,
    /// Facilities must offer all of these.
    pub amenities: AmenitySet,
    /// The instant for `open_now` (also reported on each hit).
    pub at: DateTime<Utc>,
    /// Keep only facilities open at `at` (unknown hours count as not open).
    pub open_now: bool,
    /// Keep only facilities within this many metres.
    pub max_distance_m: Option<f64>,
}

/// One answer to a nearest query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// Index into [`Dataset::facilities`].
    pub facility: u32,
    /// Great-circle distance in metres.
    pub distance_m: f64,
    /// Open at the query instant; `None` when the hours are unknown.
    pub open: Option<bool>,
}

/// A bounding box in degrees. `min_lon > max_lon` means it crosses the antimeridian.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BBox {
    /// West edge.
    pub min_lon: f64,
    /// South edge.
    pub min_lat: f64,
    /// East edge.
    pub max_lon: f64,
    /// North edge.
    pub max_lat: f64,
}

impl BBox {
    /// Whether `p` lies inside (edges included).
    pub fn contains(&self, p: LonLat) -> bool {
        let lat_ok = (self.min_lat..=self.max_lat).contains(&p.lat());
        let lon_ok = if self.min_lon <= self.max_lon {
            (self.min_lon..=self.max_lon).contains(&p.lon())
        } else {
            p.lon() >= self.min_lon || p.lon() <= self.max_lon
        };
        lat_ok && lon_ok
    }

    fn envelopes(&self) -> Vec<AABB<[f64; 2]>> {
        let lat = (self.min_lat, self.max_lat);
        if self.min_lon <= self.max_lon {
            vec![AABB::from_corners(
                [self.min_lon, lat.0],
                [self.max_lon, lat.1],
            )]
        } else {
            vec![
                AABB::from_corners([self.min_lon, lat.0], [180.0, lat.1]),
                AABB::from_corners([-180.0, lat.0], [self.max_lon, lat.1]),
            ]
        }
    }
}

/// Summary of one layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerStats {
    /// The layer.
    pub layer: Layer,
    /// How many features.
    pub count: usize,
    /// Their extent, `None` when empty.
    pub bbox: Option<BBox>,
}

/// The dataset with its trees: everything the queries need, immutable once built.
#[derive(Debug)]
pub struct Atlas {
    data: Dataset,
    /// One filtered-nearest tree over all facilities.
    packed: PackedTree,
    /// Each facility's opening hours, as one dense column: a nearest answer reads
    /// this (4 bytes a facility) instead of the facility records (a cache miss each).
    hours: Box<[Option<HoursId>]>,
    /// Lon/lat trees, one per layer, for bbox queries.
    plane: [RTree<PlanePoint>; 4],
    stats: [LayerStats; 4],
    /// The search index, built the first time someone searches this generation.
    search: std::sync::OnceLock<crate::search::SearchIndex>,
    /// When this generation was built.
    built: std::time::SystemTime,
}

impl Atlas {
    /// Builds the trees (bulk-loaded: packed and balanced).
    pub fn new(data: Dataset) -> Self {
        let mut items = Vec::with_capacity(data.facilities.len());
        let mut hours = Vec::with_capacity(data.facilities.len());
        let mut points: [Vec<PlanePoint>; 4] = Default::default();
        for (i, f) in data.facilities.iter().enumerate() {
            let slot = f.layer as usize;
            let xyz = sphere::unit_vector(f.position);
            items.push(packed::Item {
                xyz,
                id: i as u32,
                mask: f.amenities.bits() | layer_bit(f.layer),
            });
            hours.push(f.hours);
            points[slot].push(PlanePoint::new(
                [f.position.lon(), f.position.lat()],
                i as u32,
            ));
        }
        for (i, p) in data.parks.iter().enumerate() {
            points[Layer::Park as usize].push(PlanePoint::new(
                [p.position.lon(), p.position.lat()],
                i as u32,
            ));
        }
        let stats = Layer::ALL.map(|layer| {
            let pts = &points[layer as usize];
            LayerStats {
                layer,
                count: pts.len(),
                bbox: extent(pts),
            }
        });
        // The two kinds of tree are independent: build them side by side.
        let (packed, plane) = std::thread::scope(|s| {
            let packed = s.spawn(|| PackedTree::new(items));
            let plane = points.map(RTree::bulk_load);
            (packed.join(), plane)
        });
        let packed = match packed {
            Ok(tree) => tree,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        Atlas {
            packed,
            hours: hours.into_boxed_slice(),
            plane,
            stats,
            data,
            search: std::sync::OnceLock::new(),
            built: std::time::SystemTime::now(),
        }
    }

    /// When this generation was built (loaded, or rebuilt after edits).
    pub fn built(&self) -> std::time::SystemTime {
        self.built
    }

    /// The dataset behind the trees.
    pub fn data(&self) -> &Dataset {
        &self.data
    }

    /// The search index of this generation, built on first use.
    pub fn search_index(&self) -> &crate::search::SearchIndex {
        self.search
            .get_or_init(|| crate::search::SearchIndex::new(&self.data))
    }

    /// Count and extent of each layer.
    pub fn layer_stats(&self) -> [LayerStats; 4] {
        self.stats
    }

    /// A facility by index.
    pub fn facility(&self, i: u32) -> &Facility {
        &self.data.facilities[i as usize]
    }

    /// A park by index.
    pub fn park(&self, i: u32) -> &Park {
        &self.data.parks[i as usize]
    }

    /// The `k` nearest facilities matching the query, nearest first.
    pub fn nearest(&self, q: &NearestQuery) -> Vec<Hit> {
        let origin = sphere::unit_vector(q.origin);
        let limit2 = q
            .max_distance_m
            .map_or(f64::INFINITY, sphere::metres_to_chord2);
        let want = Want {
            all: q.amenities.bits(),
            any: q.layers.iter().map(layer_bit).fold(0, |a, b| a | b),
        };
        let mut hits = Vec::with_capacity(q.k.min(128));
        if q.k == 0 {
            return hits;
        }
        let takes_first = (!q.open_now).then_some(q.k);
        self.packed
            .nearest(origin, want, limit2, takes_first, |item, d2| {
                let open =
                    self.hours[item.id as usize].and_then(|h| self.data.schedules.is_open(h, q.at));
                if q.open_now && open != Some(true) {
                    return Walk::Continue;
                }
                hits.push(Hit {
                    facility: item.id,
                    distance_m: sphere::chord2_to_metres(d2),
                    open,
                });
                if hits.len() == q.k {
                    Walk::Stop
                } else {
                    Walk::Continue
                }
            });
        hits
    }

    /// What [`Atlas::nearest`] answers, found by measuring every facility (haversine,
    /// so distances agree with the tree's chord arithmetic to about a micrometre, and
    /// tied facilities may come in another order) and sorting: slow, and obviously
    /// right. The tree is tested against it.
    pub fn nearest_by_scan(&self, q: &NearestQuery) -> Vec<Hit> {
        let data = &self.data;
        let mut all: Vec<Hit> = data
            .facilities
            .iter()
            .enumerate()
            .filter(|(_, f)| q.layers.contains(f.layer) && f.amenities.contains_all(q.amenities))
            .map(|(i, f)| Hit {
                facility: i as u32,
                distance_m: sphere::haversine_m(q.origin, f.position),
                open: f.hours.and_then(|h| data.schedules.is_open(h, q.at)),
            })
            .filter(|h| !q.open_now || h.open == Some(true))
            .filter(|h| q.max_distance_m.is_none_or(|m| h.distance_m <= m))
            .collect();
        all.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        all.truncate(q.k);
        all
    }

    /// Indices of a layer's features inside `bbox` (into facilities or parks,
    /// depending on the layer), in index order.
    pub fn in_bbox(&self, layer: Layer, bbox: &BBox) -> Vec<u32> {
        let tree = &self.plane[layer as usize];
        let mut found: Vec<u32> = bbox
            .envelopes()
            .iter()
            .flat_map(|env| tree.locate_in_envelope(*env).map(|p| p.data))
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Indices of every feature of a layer, in index order.
    pub fn all_in_layer(&self, layer: Layer) -> Vec<u32> {
        let mut all: Vec<u32> = self.plane[layer as usize].iter().map(|p| p.data).collect();
        all.sort_unstable();
        all
    }

    /// The facility of `layer` nearest to the unit vector `xyz` (see [`sphere::unit_vector`]),
    /// with its squared chord; `None` when the layer has no facility (or is the park layer).
    /// No filter: this is the coverage analyses' question, "how far is the service".
    pub fn layer_nearest(&self, layer: Layer, xyz: [f64; 3]) -> Option<(u32, f64)> {
        let mut found = None;
        self.packed.nearest(
            xyz,
            Want::layer(layer),
            f64::INFINITY,
            Some(1),
            |item, d2| {
                found = Some((item.id, d2));
                Walk::Stop
            },
        );
        found
    }

    /// Calls `visit(facility, squared chord)` for the facilities of `layer` in increasing
    /// geodesic distance from `xyz`, until it returns [`Walk::Stop`].
    pub fn layer_nearest_walk(
        &self,
        layer: Layer,
        xyz: [f64; 3],
        mut visit: impl FnMut(u32, f64) -> Walk,
    ) {
        self.packed
            .nearest(xyz, Want::layer(layer), f64::INFINITY, None, |item, d2| {
                visit(item.id, d2)
            });
    }

    /// How many facilities of `layer` lie within the squared chord `max_chord2` of `xyz`
    /// (edge included; see [`sphere::metres_to_chord2`]).
    pub fn layer_count_within(&self, layer: Layer, xyz: [f64; 3], max_chord2: f64) -> usize {
        self.packed
            .count_within(xyz, Want::layer(layer), max_chord2)
    }

    /// Calls `visit(facility)` for every facility of `layers` offering all of
    /// `amenities` within the squared chord `max_chord2` of the unit vector `xyz`
    /// (edge included), nearest first.
    pub fn within(
        &self,
        xyz: [f64; 3],
        layers: LayerSet,
        amenities: AmenitySet,
        max_chord2: f64,
        mut visit: impl FnMut(u32),
    ) {
        let want = Want {
            all: amenities.bits(),
            any: layers.iter().map(layer_bit).fold(0, |a, b| a | b),
        };
        self.packed.nearest(xyz, want, max_chord2, None, |item, _| {
            visit(item.id);
            Walk::Continue
        });
    }
}

/// A facility layer's bit in a packed-tree mask (above the amenity bits).
fn layer_bit(layer: Layer) -> u32 {
    1 << (24 + layer as u32)
}

impl Want {
    /// Every facility of one layer, whatever it offers.
    fn layer(layer: Layer) -> Self {
        Want {
            all: 0,
            any: layer_bit(layer),
        }
    }
}

fn extent(points: &[PlanePoint]) -> Option<BBox> {
    let first = points.first()?.geom();
    let mut b = BBox {
        min_lon: first[0],
        min_lat: first[1],
        max_lon: first[0],
        max_lat: first[1],
    };
    for p in points {
        let [lon, lat] = *p.geom();
        b.min_lon = b.min_lon.min(lon);
        b.max_lon = b.max_lon.max(lon);
        b.min_lat = b.min_lat.min(lat);
        b.max_lat = b.max_lat.max(lat);
    }
    Some(b)
}

#[cfg(test)]
mod tests;
