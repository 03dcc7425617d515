//! In-memory R-trees over a [`Dataset`] and the queries they answer.
//!
//! - [`sphere`]: geodesic arithmetic and the 3-D unit vectors the trees hold.
//! - [`Atlas`]: the dataset plus one tree per layer: k-nearest by great-circle
//!   distance with layer / amenity / open-now / distance filters, and bbox queries.
//!
//! - `packed`: the static packed R-tree that answers filtered nearest queries.
//! - `delta`: the edits since the trees were built (written features, scanned by
//!   brute force beside the tree, and tombstones over it), and the index arithmetic
//!   that makes base and delta look like one dataset.
//!
//! Live edits: a generation is an immutable base (the trees, shared by `Arc`) plus
//! a small delta; an edit makes a new delta, not new trees, and the base is rebuilt
//! in the background now and then ([`Atlas::with_changes`], [`Atlas::rebuilt`]).
//! Every query consults both. Indexes handed out are those of the folded dataset,
//! which [`Atlas::data`] builds (a copy) only when a consumer asks for all of it.
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
mod delta;
mod packed;
pub mod sphere;

pub(crate) use aabb::Aabb;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use self::delta::Delta;
pub use self::packed::Walk;
use self::packed::{PackedTree, Want};
use crate::geodata::{Change, Dataset, FeatureRef, LoadError};
use crate::model::hours::{HoursId, Schedules};
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

/// The trees over one dataset: the base of a generation, shared by every
/// generation built on it (see `delta`).
///
/// Its records are those loaded (`records`, shared by `Arc` with every base
/// rebuilt since) seen through `folded`: the edits of earlier deltas, tombstones
/// over `records` and the records written since. A rebuild makes new trees over
/// the live records and never copies `records`, so it costs the trees' memory
/// (about a fifth of the whole), not a second dataset. The records replaced or
/// deleted stay in memory until the next start.
#[derive(Debug)]
struct Base {
    records: Arc<Dataset>,
    folded: Delta,
    /// One filtered-nearest tree over all facilities.
    packed: PackedTree,
    /// Each facility's opening hours, as one dense column: a nearest answer reads
    /// this (4 bytes a facility) instead of the facility records (a cache miss each).
    hours: Box<[Option<HoursId>]>,
    /// Lon/lat trees, one per layer, for bbox queries.
    plane: [RTree<PlanePoint>; 4],
    stats: [LayerStats; 4],
    /// The search index over these facilities, built on the first search of any
    /// generation over this base and shared by all of them (see `crate::search`).
    search: OnceLock<Arc<crate::search::Core>>,
}

impl Base {
    /// Builds the trees (bulk-loaded: packed and balanced) over the live records of
    /// `records` seen through `folded`, the two kinds side by side when `parallel`.
    fn new(records: Arc<Dataset>, folded: Delta, parallel: bool) -> Self {
        let facilities = delta::live(&records.facilities, &folded.dead_facilities)
            .chain(&folded.data.facilities);
        let n =
            records.facilities.len() - folded.dead_facilities.len() + folded.data.facilities.len();
        let mut items = Vec::with_capacity(n);
        let mut hours = Vec::with_capacity(n);
        let mut points: [Vec<PlanePoint>; 4] = Default::default();
        for (i, f) in facilities.enumerate() {
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
        let parks = delta::live(&records.parks, &folded.dead_parks).chain(&folded.data.parks);
        for (i, p) in parks.enumerate() {
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
                bbox: extent(pts.iter().map(|p| *p.geom())),
            }
        });
        let (packed, plane) = if parallel {
            let (packed, plane) = std::thread::scope(|s| {
                let packed = s.spawn(|| PackedTree::new(items));
                let plane = points.map(RTree::bulk_load);
                (packed.join(), plane)
            });
            match packed {
                Ok(tree) => (tree, plane),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        } else {
            (PackedTree::new(items), points.map(RTree::bulk_load))
        };
        Base {
            packed,
            hours: hours.into_boxed_slice(),
            plane,
            stats,
            records,
            folded,
            search: OnceLock::new(),
        }
    }

    /// Live records of `records` (the rest are `folded`'s).
    fn records_facilities(&self) -> u32 {
        (self.records.facilities.len() - self.folded.dead_facilities.len()) as u32
    }

    fn records_parks(&self) -> u32 {
        (self.records.parks.len() - self.folded.dead_parks.len()) as u32
    }

    /// How many facilities (the base indexes run from 0 to this).
    fn facility_count(&self) -> u32 {
        self.records_facilities() + self.folded.data.facilities.len() as u32
    }

    fn park_count(&self) -> u32 {
        self.records_parks() + self.folded.data.parks.len() as u32
    }

    /// A facility by base index.
    fn facility(&self, i: u32) -> &Facility {
        let n = self.records_facilities();
        if i < n {
            let r = delta::base_of(&self.folded.dead_facilities, i);
            &self.records.facilities[r as usize]
        } else {
            &self.folded.data.facilities[(i - n) as usize]
        }
    }

    /// A park by base index.
    fn park(&self, i: u32) -> &Park {
        let n = self.records_parks();
        if i < n {
            let r = delta::base_of(&self.folded.dead_parks, i);
            &self.records.parks[r as usize]
        } else {
            &self.folded.data.parks[(i - n) as usize]
        }
    }

    /// Finds a feature by id, as a base index.
    fn get(&self, id: &str) -> Option<FeatureRef> {
        delta::get(
            &self.folded,
            self.records_facilities(),
            self.records_parks(),
            id,
            || self.records.get(id),
        )
    }

    /// Base indexes of a layer's features inside `bbox`, ascending.
    fn in_bbox(&self, layer: Layer, bbox: &BBox) -> Vec<u32> {
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
}

/// One generation of the data with its trees: everything the queries need,
/// immutable once built.
///
/// It is a base (the trees over a dataset, shared by `Arc` between generations) and
/// a small delta over it: the features written since and tombstones over the base
/// (see `delta`). Publishing an edit makes a new delta ([`Atlas::with_changes`]:
/// microseconds to milliseconds while it is small); [`Atlas::rebuilt`] folds it into
/// a new base, in the background. Every query consults both, and the indexes it
/// hands out are those of the folded dataset, so they agree with [`Atlas::data`].
///
/// The hot paths read through [`Atlas::get`], [`Atlas::facility`], [`Atlas::park`],
/// [`Atlas::schedules`] and [`Atlas::fingerprint`]. Consumers that walk every record
/// by index (the coverage analyses, OGC metadata, the snapshot) use
/// [`Atlas::data`]: while edits wait in a delta it is the folded copy, built once
/// per generation when first asked (about 0.2 s and a dataset's memory at 1M),
/// which keeps those consumers unchanged at the price of that copy.
#[derive(Debug)]
pub struct Atlas {
    base: Arc<Base>,
    delta: Delta,
    /// Count and extent of each layer, base and delta together.
    stats: [LayerStats; 4],
    /// The folded dataset, built the first time someone asks for all of it
    /// ([`Atlas::data`]: the coverage analyses, OGC metadata, snapshots)
    /// while the delta is not empty.
    full: OnceLock<Dataset>,
    /// The search index, built the first time someone searches this generation.
    search: OnceLock<crate::search::SearchIndex>,
    /// When this generation was built.
    built: std::time::SystemTime,
}

impl Atlas {
    /// Builds the trees (bulk-loaded: packed and balanced), using both cores.
    pub fn new(data: Dataset) -> Self {
        let folded = Delta::empty(&data);
        Self::of_base(Arc::new(Base::new(Arc::new(data), folded, true)))
    }

    fn of_base(base: Arc<Base>) -> Self {
        Atlas {
            delta: Delta::empty(&base.folded.data),
            stats: base.stats,
            base,
            full: OnceLock::new(),
            search: OnceLock::new(),
            built: std::time::SystemTime::now(),
        }
    }

    /// A new generation: this one with `changes` applied in order (later changes
    /// to the same id win), sharing this one's base. Costs a copy of the delta and
    /// the parsing of the written features, not a rebuild. The written features are
    /// validated as the loader does.
    pub fn with_changes(&self, changes: &[Change], label: &Path) -> Result<Atlas, LoadError> {
        let data = self.delta.data.with_changes(changes, label)?;
        let touched = changes.iter().map(|c| match c {
            Change::Put { id, .. } | Change::Delete { id } => id.as_str(),
        });
        Ok(self.with_delta(data, touched))
    }

    /// A new generation sharing this one's base, with `data` as the delta (what the
    /// delta's dataset becomes after some changes) and every base feature whose id
    /// is in `touched` dead. [`Atlas::with_changes`] is the way in; tests build
    /// deltas in code through this.
    pub(crate) fn with_delta<'a>(
        &self,
        data: Dataset,
        touched: impl IntoIterator<Item = &'a str>,
    ) -> Atlas {
        let mut dead_facilities = self.delta.dead_facilities.clone();
        let mut dead_parks = self.delta.dead_parks.clone();
        for id in touched {
            match self.base.get(id) {
                Some(FeatureRef::Facility(i)) => dead_facilities.push(i),
                Some(FeatureRef::Park(i)) => dead_parks.push(i),
                None => {}
            }
        }
        let delta = Delta::new(data, dead_facilities, dead_parks);
        let stats = Layer::ALL.map(|layer| {
            let base = self.base.stats[layer as usize];
            let (dead, added, extra) = if layer == Layer::Park {
                let dead = delta.dead_parks.len();
                let positions: Vec<[f64; 2]> = delta
                    .data
                    .parks
                    .iter()
                    .map(|p| [p.position.lon(), p.position.lat()])
                    .collect();
                (dead, positions.len(), extent(positions.into_iter()))
            } else {
                let dead = delta
                    .dead_facilities
                    .iter()
                    .filter(|&&b| self.base.facility(b).layer == layer)
                    .count();
                let positions: Vec<[f64; 2]> = delta
                    .data
                    .facilities
                    .iter()
                    .filter(|f| f.layer == layer)
                    .map(|f| [f.position.lon(), f.position.lat()])
                    .collect();
                (dead, positions.len(), extent(positions.into_iter()))
            };
            let count = base.count - dead + added;
            // The base's extent is kept as it was: a deleted feature at its edge
            // leaves it a little large until the next rebuild.
            let bbox = if count == 0 {
                None
            } else {
                match (base.bbox, extra) {
                    (Some(a), Some(b)) => Some(union(a, b)),
                    (a, b) => a.or(b),
                }
            };
            LayerStats { layer, count, bbox }
        });
        Atlas {
            base: self.base.clone(),
            delta,
            stats,
            full: OnceLock::new(),
            search: OnceLock::new(),
            built: std::time::SystemTime::now(),
        }
    }

    /// This generation with its delta folded into a new base: new trees over the
    /// same records, built on one core (the background rebuild). The indexes do not
    /// change.
    pub fn rebuilt(&self) -> Atlas {
        if !self.delta.changed {
            return Self::of_base(self.base.clone());
        }
        let folded = self.combined();
        let atlas = Self::of_base(Arc::new(Base::new(
            self.base.records.clone(),
            folded,
            false,
        )));
        // Tiles are in use: the new base's tile runs are sorted here too.
        crate::tiles::TileIndex::prepare(self, &atlas);
        // Search is in use: its index of the new base is built here, in the
        // background, so that no request waits for it.
        if self.base.search.get().is_some() {
            crate::search::SearchIndex::prepare(&atlas);
        }
        atlas
    }

    /// How many changes the delta holds (written features and tombstones).
    pub fn delta_size(&self) -> usize {
        self.delta.size()
    }

    /// The base's folded edits and this delta as one delta over the base's records.
    fn combined(&self) -> Delta {
        let (base, d) = (&self.base, &self.delta);
        let split = |dead: &[u32], below: &[u32], n: u32| {
            let mut over_records = below.to_vec();
            let mut over_written = Vec::new();
            for &b in dead {
                if b < n {
                    over_records.push(delta::base_of(below, b));
                } else {
                    over_written.push(b - n);
                }
            }
            (over_records, over_written)
        };
        let (dead_f, written_dead_f) = split(
            &d.dead_facilities,
            &base.folded.dead_facilities,
            base.records_facilities(),
        );
        let (dead_p, written_dead_p) =
            split(&d.dead_parks, &base.folded.dead_parks, base.records_parks());
        let written = Dataset::joined(&base.folded.data, &written_dead_f, &written_dead_p, &d.data);
        Delta::new(written, dead_f, dead_p)
    }

    /// When this generation was built (loaded, or changed by edits).
    pub fn built(&self) -> std::time::SystemTime {
        self.built
    }

    /// The whole dataset of this generation. While edits wait in the delta it is
    /// folded (a copy of every record) the first time it is asked for: the request
    /// paths use [`Atlas::get`], [`Atlas::facility`], [`Atlas::schedules`] and
    /// [`Atlas::fingerprint`] instead.
    pub fn data(&self) -> &Dataset {
        if !self.delta.changed && !self.base.folded.changed {
            return &self.base.records;
        }
        self.full.get_or_init(|| {
            let c = self.combined();
            Dataset::joined(
                &self.base.records,
                &c.dead_facilities,
                &c.dead_parks,
                &c.data,
            )
        })
    }

    /// The distinct opening-hours expressions and the holiday calendar.
    pub fn schedules(&self) -> &Schedules {
        &self.delta.data.schedules
    }

    /// A hash of the data of this generation (see [`Dataset::fingerprint`]).
    pub fn fingerprint(&self) -> u64 {
        self.delta.data.fingerprint()
    }

    /// Finds a feature by id.
    pub fn get(&self, id: &str) -> Option<FeatureRef> {
        delta::get(
            &self.delta,
            self.live_base_facilities(),
            self.live_base_parks(),
            id,
            || self.base.get(id),
        )
    }

    /// How many facilities (the indexes run from 0 to this).
    pub fn facility_count(&self) -> usize {
        self.live_base_facilities() as usize + self.delta.data.facilities.len()
    }

    /// How many parks (the indexes run from 0 to this).
    pub fn park_count(&self) -> usize {
        self.live_base_parks() as usize + self.delta.data.parks.len()
    }

    fn live_base_facilities(&self) -> u32 {
        self.base.facility_count() - self.delta.dead_facilities.len() as u32
    }

    fn live_base_parks(&self) -> u32 {
        self.base.park_count() - self.delta.dead_parks.len() as u32
    }

    /// The search index of this generation, built on first use: its base's
    /// (shared by the generations over the base, built once) and a small overlay
    /// for the delta.
    pub fn search_index(&self) -> &crate::search::SearchIndex {
        self.search
            .get_or_init(|| crate::search::SearchIndex::of_generation(self))
    }

    /// The search index of the base, built by `build` the first time a generation
    /// over the base asks for it.
    pub(crate) fn base_search(
        &self,
        build: impl FnOnce() -> crate::search::Core,
    ) -> Arc<crate::search::Core> {
        self.base.search.get_or_init(|| Arc::new(build())).clone()
    }

    /// The base index of facility `i`; `None` when it is one of the delta's.
    pub(crate) fn facility_base_index(&self, i: u32) -> Option<u32> {
        (i < self.live_base_facilities()).then(|| delta::base_of(&self.delta.dead_facilities, i))
    }

    /// The index of base facility `b` in this generation; `None` when it is dead.
    pub(crate) fn facility_of_base(&self, b: u32) -> Option<u32> {
        let dead = &self.delta.dead_facilities;
        (!delta::is_dead(dead, b)).then(|| delta::live_of(dead, b))
    }

    /// Count and extent of each layer.
    pub fn layer_stats(&self) -> [LayerStats; 4] {
        self.stats
    }

    /// A facility by index.
    pub fn facility(&self, i: u32) -> &Facility {
        let n = self.live_base_facilities();
        if i < n {
            let b = delta::base_of(&self.delta.dead_facilities, i);
            self.base.facility(b)
        } else {
            &self.delta.data.facilities[(i - n) as usize]
        }
    }

    /// A park by index.
    pub fn park(&self, i: u32) -> &Park {
        let n = self.live_base_parks();
        if i < n {
            let b = delta::base_of(&self.delta.dead_parks, i);
            self.base.park(b)
        } else {
            &self.delta.data.parks[(i - n) as usize]
        }
    }

    /// Calls `visit(facility, squared chord, hours)` for the live facilities that
    /// `want` admits within `limit2` of `xyz`, nearest first, until it returns
    /// [`Walk::Stop`]: the packed tree's walk (dead base facilities skipped) merged
    /// with the delta's facilities, measured by brute force. `takes_first` as in
    /// the packed tree's walk.
    fn walk(
        &self,
        xyz: [f64; 3],
        want: Want,
        limit2: f64,
        takes_first: Option<usize>,
        mut visit: impl FnMut(u32, f64, Option<HoursId>) -> Walk,
    ) {
        let d = &self.delta;
        let hours = &self.base.hours;
        if d.items.is_empty() && d.dead_facilities.is_empty() {
            self.base
                .packed
                .nearest(xyz, want, limit2, takes_first, |item, d2| {
                    visit(item.id, d2, hours[item.id as usize])
                });
            return;
        }
        // The delta's candidates, from its own small tree: only its `k` nearest
        // when only the first `k` are taken.
        let mut extra: Vec<(f64, u32)> = Vec::new();
        d.tree.nearest(xyz, want, limit2, takes_first, |item, d2| {
            extra.push((d2, item.id));
            Walk::Continue
        });
        let offset = self.live_base_facilities();
        let dead = &d.dead_facilities;
        // Ask the base for enough more that the dead it meets cannot starve the
        // answer; with many dead, walk instead (`visit` stops the walk itself).
        let base_takes = takes_first
            .filter(|_| dead.len() <= 64)
            .map(|k| k + dead.len());
        let mut next = 0;
        let mut stopped = false;
        self.base
            .packed
            .nearest(xyz, want, limit2, base_takes, |item, d2| {
                while let Some(&(od2, j)) = extra.get(next)
                    && od2 <= d2
                {
                    next += 1;
                    if let Walk::Stop = visit(offset + j, od2, d.data.facilities[j as usize].hours)
                    {
                        stopped = true;
                        return Walk::Stop;
                    }
                }
                if delta::is_dead(dead, item.id) {
                    return Walk::Continue;
                }
                let walk = visit(delta::live_of(dead, item.id), d2, hours[item.id as usize]);
                stopped = matches!(walk, Walk::Stop);
                walk
            });
        if !stopped {
            for &(od2, j) in &extra[next..] {
                if let Walk::Stop = visit(offset + j, od2, d.data.facilities[j as usize].hours) {
                    break;
                }
            }
        }
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
        let schedules = self.schedules();
        let takes_first = (!q.open_now).then_some(q.k);
        self.walk(origin, want, limit2, takes_first, |facility, d2, hours| {
            let open = hours.and_then(|h| schedules.is_open(h, q.at));
            if q.open_now && open != Some(true) {
                return Walk::Continue;
            }
            hits.push(Hit {
                facility,
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
        let schedules = self.schedules();
        let mut all: Vec<Hit> = (0..self.facility_count() as u32)
            .map(|i| (i, self.facility(i)))
            .filter(|(_, f)| q.layers.contains(f.layer) && f.amenities.contains_all(q.amenities))
            .map(|(i, f)| Hit {
                facility: i,
                distance_m: sphere::haversine_m(q.origin, f.position),
                open: f.hours.and_then(|h| schedules.is_open(h, q.at)),
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
        let found = self.base.in_bbox(layer, bbox);
        self.with_delta_of(layer, found, |p| bbox.contains(p))
    }

    /// Indices of every feature of a layer, in index order.
    pub fn all_in_layer(&self, layer: Layer) -> Vec<u32> {
        let mut all: Vec<u32> = self.base.plane[layer as usize]
            .iter()
            .map(|p| p.data)
            .collect();
        all.sort_unstable();
        self.with_delta_of(layer, all, |_| true)
    }

    /// The base indexes `found` (ascending) of a layer, as the indexes of this
    /// generation (dead ones left out), followed by the delta's features of the
    /// layer whose position passes `keep`.
    fn with_delta_of(
        &self,
        layer: Layer,
        found: Vec<u32>,
        keep: impl Fn(LonLat) -> bool,
    ) -> Vec<u32> {
        let d = &self.delta;
        if layer == Layer::Park {
            let mut out = delta::live_sorted(&d.dead_parks, found);
            let offset = self.live_base_parks();
            out.extend(
                (d.data.parks.iter().enumerate())
                    .filter(|(_, p)| keep(p.position))
                    .map(|(j, _)| offset + j as u32),
            );
            out
        } else {
            let mut out = delta::live_sorted(&d.dead_facilities, found);
            let offset = self.live_base_facilities();
            out.extend(
                (d.data.facilities.iter().enumerate())
                    .filter(|(_, f)| f.layer == layer && keep(f.position))
                    .map(|(j, _)| offset + j as u32),
            );
            out
        }
    }

    /// The facility of `layer` nearest to the unit vector `xyz` (see [`sphere::unit_vector`]),
    /// with its squared chord; `None` when the layer has no facility (or is the park layer).
    /// No filter: this is the coverage analyses' question, "how far is the service".
    pub fn layer_nearest(&self, layer: Layer, xyz: [f64; 3]) -> Option<(u32, f64)> {
        let mut found = None;
        self.walk(
            xyz,
            Want::layer(layer),
            f64::INFINITY,
            Some(1),
            |i, d2, _| {
                found = Some((i, d2));
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
        self.walk(xyz, Want::layer(layer), f64::INFINITY, None, |i, d2, _| {
            visit(i, d2)
        });
    }

    /// How many facilities of `layer` lie within the squared chord `max_chord2` of `xyz`
    /// (edge included; see [`sphere::metres_to_chord2`]).
    pub fn layer_count_within(&self, layer: Layer, xyz: [f64; 3], max_chord2: f64) -> usize {
        let want = Want::layer(layer);
        let in_base = self.base.packed.count_within(xyz, want, max_chord2);
        let d = &self.delta;
        if d.items.is_empty() && d.dead_facilities.is_empty() {
            return in_base;
        }
        let within = |f: &Facility| {
            f.layer == layer && sphere::chord2(&xyz, &sphere::unit_vector(f.position)) <= max_chord2
        };
        let dead = (d.dead_facilities.iter())
            .filter(|&&b| within(self.base.facility(b)))
            .count();
        let added = d.tree.count_within(xyz, want, max_chord2);
        in_base - dead + added
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
        self.walk(xyz, want, max_chord2, None, |i, _, _| {
            visit(i);
            Walk::Continue
        });
    }
}

/// The identity of a generation's base, for the caches of per-base indexes
/// (`crate::tiles`): it keeps the base alive no longer than the generations do.
#[derive(Clone, Debug)]
pub(crate) struct BaseRef(std::sync::Weak<Base>);

impl BaseRef {
    /// Whether `atlas` is a generation over this base.
    pub(crate) fn is_base_of(&self, atlas: &Atlas) -> bool {
        std::ptr::eq(self.0.as_ptr(), Arc::as_ptr(&atlas.base))
    }

    /// Whether a generation over this base is still around.
    pub(crate) fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// The base and the delta seen apart, for indexes built once per base with a small
/// overlay per generation (`crate::tiles`). Base indexes are those of
/// [`Atlas::rebuilt`] over the base alone; generation indexes those of [`Atlas::data`].
impl Atlas {
    /// The identity of this generation's base.
    pub(crate) fn base_ref(&self) -> BaseRef {
        BaseRef(Arc::downgrade(&self.base))
    }

    /// The base indexes of a layer's features in the base, ascending.
    pub(crate) fn base_layer(&self, layer: Layer) -> Vec<u32> {
        let mut all: Vec<u32> = self.base.plane[layer as usize]
            .iter()
            .map(|p| p.data)
            .collect();
        all.sort_unstable();
        all
    }

    /// A facility by base index.
    pub(crate) fn base_facility(&self, b: u32) -> &Facility {
        self.base.facility(b)
    }

    /// A park by base index.
    pub(crate) fn base_park(&self, b: u32) -> &Park {
        self.base.park(b)
    }

    /// Base facility indexes written or deleted since the base, ascending.
    pub(crate) fn dead_facilities(&self) -> &[u32] {
        &self.delta.dead_facilities
    }

    /// Base park indexes written or deleted since the base, ascending.
    pub(crate) fn dead_parks(&self) -> &[u32] {
        &self.delta.dead_parks
    }

    /// The features written since the base: the delta's facility `j` has the
    /// generation index [`Atlas::live_base_facility_count`] + `j` (parks likewise).
    pub(crate) fn delta_data(&self) -> &Dataset {
        &self.delta.data
    }

    /// Live base facilities: the first generation index of the delta's.
    pub(crate) fn live_base_facility_count(&self) -> u32 {
        self.live_base_facilities()
    }

    /// Live base parks: the first generation index of the delta's.
    pub(crate) fn live_base_park_count(&self) -> u32 {
        self.live_base_parks()
    }
}

fn union(a: BBox, b: BBox) -> BBox {
    BBox {
        min_lon: a.min_lon.min(b.min_lon),
        min_lat: a.min_lat.min(b.min_lat),
        max_lon: a.max_lon.max(b.max_lon),
        max_lat: a.max_lat.max(b.max_lat),
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

fn extent(mut points: impl Iterator<Item = [f64; 2]>) -> Option<BBox> {
    let [lon, lat] = points.next()?;
    let mut b = BBox {
        min_lon: lon,
        min_lat: lat,
        max_lon: lon,
        max_lat: lat,
    };
    for [lon, lat] in points {
        b.min_lon = b.min_lon.min(lon);
        b.max_lon = b.max_lon.max(lon);
        b.min_lat = b.min_lat.min(lat);
        b.max_lat = b.max_lat.max(lat);
    }
    Some(b)
}

#[cfg(test)]
mod tests;
