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
//! open-now test (evaluated once per distinct schedule) comes last. Nothing is
//! sorted: the walk stops after `k` hits or at the distance limit.
//!
//! Per-layer `rstar` trees serve the coverage analyses (counts within a radius,
//! unfiltered nearest), and lon/lat `rstar` trees the bbox queries.

mod packed;
pub mod sphere;

use chrono::{DateTime, Utc};
use rstar::primitives::GeomWithData;
use rstar::{AABB, PointDistance, RTree, RTreeObject};

use self::packed::{PackedTree, Walk, Want};
use crate::geodata::Dataset;
use crate::model::{AmenitySet, Facility, Layer, LayerSet, LonLat, Park};

/// A facility in a per-layer tree: its unit vector and its index.
#[derive(Clone, Copy, Debug)]
struct Entry {
    xyz: [f64; 3],
    facility: u32,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.xyz)
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, point: &[f64; 3]) -> f64 {
        sphere::chord2(&self.xyz, point)
    }
}

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
    /// Geodesic trees, one per facility layer (indexed by `Layer as usize`).
    nearest: [RTree<Entry>; 3],
    /// One filtered-nearest tree over all facilities.
    packed: PackedTree,
    /// Lon/lat trees, one per layer, for bbox queries.
    plane: [RTree<PlanePoint>; 4],
    stats: [LayerStats; 4],
}

impl Atlas {
    /// Builds the trees (bulk-loaded: packed and balanced).
    pub fn new(data: Dataset) -> Self {
        let mut entries: [Vec<Entry>; 3] = Default::default();
        let mut items = Vec::with_capacity(data.facilities.len());
        let mut points: [Vec<PlanePoint>; 4] = Default::default();
        for (i, f) in data.facilities.iter().enumerate() {
            let slot = f.layer as usize;
            let xyz = sphere::unit_vector(f.position);
            items.push(packed::Item {
                xyz,
                id: i as u32,
                mask: f.amenities.bits() | layer_bit(f.layer),
            });
            entries[slot].push(Entry {
                xyz,
                facility: i as u32,
            });
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
        Atlas {
            packed: PackedTree::new(items),
            nearest: entries.map(RTree::bulk_load),
            plane: points.map(RTree::bulk_load),
            stats,
            data,
        }
    }

    /// The dataset behind the trees.
    pub fn data(&self) -> &Dataset {
        &self.data
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
        let mut open_at = self.data.schedules.at(q.at);
        let mut hits = Vec::with_capacity(q.k.min(128));
        if q.k == 0 {
            return hits;
        }
        let takes_first = (!q.open_now).then_some(q.k);
        self.packed
            .nearest(origin, want, limit2, takes_first, |item, d2| {
                let f = &self.data.facilities[item.id as usize];
                let open = f.hours.and_then(|h| open_at.get(h));
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

    /// The geodesic tree of a facility layer; `None` for the park layer.
    fn facility_tree(&self, layer: Layer) -> Option<&RTree<Entry>> {
        layer.is_facility().then(|| &self.nearest[layer as usize])
    }

    /// The facility of `layer` nearest to the unit vector `xyz` (see [`sphere::unit_vector`]),
    /// with its squared chord; `None` when the layer has no facility (or is the park layer).
    /// No filter: this is the coverage analyses' question, "how far is the service".
    pub fn layer_nearest(&self, layer: Layer, xyz: [f64; 3]) -> Option<(u32, f64)> {
        let tree = self.facility_tree(layer)?;
        tree.nearest_neighbor_iter_with_distance_2(xyz)
            .next()
            .map(|(e, d2)| (e.facility, d2))
    }

    /// The facilities of `layer` in increasing geodesic distance from `xyz`, each with
    /// its squared chord (empty for the park layer).
    pub fn layer_nearest_iter(
        &self,
        layer: Layer,
        xyz: [f64; 3],
    ) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.facility_tree(layer)
            .into_iter()
            .flat_map(move |t| t.nearest_neighbor_iter_with_distance_2(xyz))
            .map(|(e, d2)| (e.facility, d2))
    }

    /// How many facilities of `layer` lie within the squared chord `max_chord2` of `xyz`
    /// (edge included; see [`sphere::metres_to_chord2`]).
    pub fn layer_count_within(&self, layer: Layer, xyz: [f64; 3], max_chord2: f64) -> usize {
        self.facility_tree(layer)
            .map_or(0, |t| t.locate_within_distance(xyz, max_chord2).count())
    }
}

/// A facility layer's bit in a packed-tree mask (above the amenity bits).
fn layer_bit(layer: Layer) -> u32 {
    1 << (24 + layer as u32)
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
