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
//! Two levels, as the generation itself (a shared base plus a small delta, see
//! `index::delta`): the runs of the **base** ([`BaseTiles`]: sorting a million
//! features, a quarter of a second of both cores) are built once per base and
//! frame and shared by every generation over it; each generation adds an
//! [`Overlay`] built from its delta in proportion to it: the features written
//! since as small sorted runs of their own (counted in), and the dead base
//! features (written or deleted since) as small sorted runs to count out. A cell's
//! count, sums and no-union count are those of the base run plus the written run
//! less the dead run, the cluster descent cuts all three, and the base features
//! drawn singly skip the dead and take their generation index. So an edit costs
//! the tiles a sort of its delta, not of the base, and the answer is that of an
//! index built afresh over the folded data (`tiles::tests`).
//!
//! The index is built in one [`Frame`]: in GCJ-02 every position is shifted
//! first, so the curve, the tiles and the clusters are those of the basemap.
//! It also holds the park outlines ([`AreaIndex`]) in the same frame, in the same
//! two levels.
//!
//! Positions are kept as 32-bit fixed-point fractions of the Mercator square
//! (about 1 cm at the equator); the tile of a point at zoom z is the top z bits of
//! each coordinate, and its pixel (extent 4096) the next 12.

use std::sync::{Arc, Mutex, OnceLock, Weak};

use rayon::prelude::*;

use super::GRID_BITS;
use super::areas::{AreaIndex, Ring};
use super::frame::Frame;
use super::mercator::{TileId, world};
use crate::index::{Atlas, BaseRef};
use crate::model::{Layer, LayerSet, LonLat, Park, UnionStatus};

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
/// Generation indexes kept: the served one and the ones just before and after
/// it, in both frames (an overlay is small: this is not what costs memory).
const CACHED: usize = 8;

/// One (base, frame)'s runs, likewise.
type BaseSlot = Arc<OnceLock<Arc<BaseTiles>>>;
static BASES: Mutex<Vec<(BaseRef, Frame, BaseSlot)>> = Mutex::new(Vec::new());
/// Base runs kept: the served base and the one replacing it, in both frames.
const BASES_CACHED: usize = 4;

/// A delta up to this many changes gets its overlay built on the request's own
/// thread when the base's runs are ready (a sort of that many items: a millisecond
/// or two), instead of a trip to the blocking pool.
const INLINE_MAX: usize = 10_000;

fn lookup(cache: &mut Cache, atlas: &Arc<Atlas>, frame: Frame) -> Option<Slot> {
    cache.retain(|(w, _, _)| w.strong_count() > 0);
    cache
        .iter()
        .find(|(w, f, _)| *f == frame && std::ptr::eq(w.as_ptr(), Arc::as_ptr(atlas)))
        .map(|(_, _, slot)| slot.clone())
}

/// The slot of the base runs of `atlas` in `frame`, made (empty) when `make`.
fn base_slot(atlas: &Atlas, frame: Frame, make: bool) -> Option<BaseSlot> {
    let mut bases = BASES.lock().unwrap_or_else(|e| e.into_inner());
    bases.retain(|(b, _, _)| b.is_alive());
    if let Some((_, _, slot)) = bases
        .iter()
        .find(|(b, f, _)| *f == frame && b.is_base_of(atlas))
    {
        return Some(slot.clone());
    }
    if !make {
        return None;
    }
    if bases.len() >= BASES_CACHED {
        bases.remove(0);
    }
    let slot = BaseSlot::default();
    bases.push((atlas.base_ref(), frame, slot.clone()));
    Some(slot)
}

/// The tile index of one generation of the data, in one frame: the runs of its
/// base (shared) and the overlay of its delta.
#[derive(Debug)]
pub struct TileIndex {
    frame: Frame,
    base: Arc<BaseTiles>,
    overlay: Overlay,
}

/// The runs of a base in one frame, built once and shared by every generation over
/// it. Ids are base indexes.
#[derive(Debug)]
struct BaseTiles {
    layers: [LayerRun; 4],
    areas: AreaIndex,
}

/// A generation's delta over its base, in one frame: built per generation, in
/// proportion to the delta.
#[derive(Debug, Default)]
struct Overlay {
    /// The features written since the base, per layer (ids: generation indexes).
    added: [LayerRun; 4],
    /// The dead base features (written or deleted since), per layer (ids: base
    /// indexes): counted out.
    dead: [LayerRun; 4],
    /// The dead base indexes, ascending: a base feature drawn singly is skipped
    /// when dead, and otherwise has the generation index `b` less the dead before it.
    dead_facilities: Vec<u32>,
    dead_parks: Vec<u32>,
    /// The outlines of the parks written since (ids: generation indexes).
    areas: AreaIndex,
}

/// A feature on the curve: key, id, fixed-point x and y, flag (a park without a union).
type Item = (u64, u32, u32, u32, bool);

/// The curve item of a position in `frame`.
fn item(frame: Frame, p: LonLat, id: u32, flag: bool) -> Item {
    let (wx, wy) = world(frame.shift_point(p));
    let (x, y) = (fixed(wx), fixed(wy));
    (morton(x, y), id, x, y, flag)
}

/// Whether a park counts as one without a union.
fn no_union(park: &Park) -> bool {
    park.union_status == Some(UnionStatus::None)
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
    fn build(mut items: Vec<Item>) -> Self {
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

impl BaseTiles {
    /// The runs of the base of `atlas` (each layer sorted in parallel).
    fn new(atlas: &Atlas, frame: Frame) -> Self {
        let layers = Layer::ALL.map(|layer| {
            let items: Vec<Item> = atlas
                .base_layer(layer)
                .into_par_iter()
                .map(|b| {
                    if layer.is_facility() {
                        item(frame, atlas.base_facility(b).position, b, false)
                    } else {
                        let park = atlas.base_park(b);
                        item(frame, park.position, b, no_union(park))
                    }
                })
                .collect();
            LayerRun::build(items)
        });
        let parks: Vec<(u32, &Park)> = (atlas.base_layer(Layer::Park).into_iter())
            .map(|b| (b, atlas.base_park(b)))
            .collect();
        BaseTiles {
            layers,
            areas: AreaIndex::new(&parks, frame),
        }
    }
}

impl Overlay {
    /// The overlay of the delta of `atlas` over its base.
    fn new(atlas: &Atlas, frame: Frame) -> Self {
        let delta = atlas.delta_data();
        let (dead_facilities, dead_parks) = (atlas.dead_facilities(), atlas.dead_parks());
        if delta.facilities.is_empty()
            && delta.parks.is_empty()
            && dead_facilities.is_empty()
            && dead_parks.is_empty()
        {
            return Overlay::default();
        }
        let (first_f, first_p) = (
            atlas.live_base_facility_count(),
            atlas.live_base_park_count(),
        );
        let added = Layer::ALL.map(|layer| {
            let items: Vec<Item> = if layer.is_facility() {
                (delta.facilities.iter().zip(first_f..))
                    .filter(|(f, _)| f.layer == layer)
                    .map(|(f, i)| item(frame, f.position, i, false))
                    .collect()
            } else {
                (delta.parks.iter().zip(first_p..))
                    .map(|(p, i)| item(frame, p.position, i, no_union(p)))
                    .collect()
            };
            LayerRun::build(items)
        });
        let dead = Layer::ALL.map(|layer| {
            let items: Vec<Item> = if layer.is_facility() {
                (dead_facilities.iter())
                    .map(|&b| (b, atlas.base_facility(b)))
                    .filter(|(_, f)| f.layer == layer)
                    .map(|(b, f)| item(frame, f.position, b, false))
                    .collect()
            } else {
                (dead_parks.iter())
                    .map(|&b| (b, atlas.base_park(b)))
                    .map(|(b, p)| item(frame, p.position, b, no_union(p)))
                    .collect()
            };
            LayerRun::build(items)
        });
        let parks: Vec<(u32, &Park)> = (first_p..).zip(&delta.parks).collect();
        Overlay {
            added,
            dead,
            dead_facilities: dead_facilities.to_vec(),
            dead_parks: dead_parks.to_vec(),
            areas: AreaIndex::new(&parks, frame),
        }
    }
}

/// Whether a run is counted in or out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The base's features (the dead among them are counted out by a `Dead` run).
    Base,
    /// The features written since the base.
    Added,
    /// The dead base features.
    Dead,
}

/// A run that `select` reads for a layer.
#[derive(Clone, Copy)]
struct Part<'a> {
    layer: Layer,
    run: &'a LayerRun,
    kind: Kind,
}

impl Part<'_> {
    /// How many features `[s, e)` of the run count for.
    fn count(&self, (s, e): (usize, usize)) -> i64 {
        let n = (e - s) as i64;
        if self.kind == Kind::Dead { -n } else { n }
    }

    /// How many parks without a union `[s, e)` count for.
    fn flagged(&self, (s, e): (usize, usize)) -> i64 {
        let n = i64::from(self.run.sum_flag[e] - self.run.sum_flag[s]);
        if self.kind == Kind::Dead { -n } else { n }
    }

    /// Adds (or, for the dead, takes away) the coordinate sums of `[s, e)` to
    /// `acc`: the total is never negative (the dead are among the base's), so
    /// wrapping arithmetic gives it exactly.
    fn add_sums(&self, (s, e): (usize, usize), acc: &mut (u64, u64)) {
        let run = self.run;
        let (x, y) = (run.sum_x[e] - run.sum_x[s], run.sum_y[e] - run.sum_y[s]);
        if self.kind == Kind::Dead {
            acc.0 = acc.0.wrapping_sub(x);
            acc.1 = acc.1.wrapping_sub(y);
        } else {
            acc.0 = acc.0.wrapping_add(x);
            acc.1 = acc.1.wrapping_add(y);
        }
    }
}

/// At most three runs a layer.
const MAX_PARTS: usize = 3 * Layer::ALL.len();

impl TileIndex {
    /// Builds the WGS-84 index of a generation (each layer sorted in parallel).
    pub fn new(atlas: &Atlas) -> Self {
        Self::new_in(atlas, Frame::Wgs84)
    }

    /// Builds the index of a generation in `frame`, its base's runs included
    /// (nothing cached: [`TileIndex::of`] shares them between generations).
    pub fn new_in(atlas: &Atlas, frame: Frame) -> Self {
        TileIndex {
            frame,
            base: Arc::new(BaseTiles::new(atlas, frame)),
            overlay: Overlay::new(atlas, frame),
        }
    }

    /// The frame of the positions.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// How many changes the overlay holds over the base's runs (written features
    /// and dead base features).
    pub fn overlay_len(&self) -> usize {
        let o = &self.overlay;
        o.added.iter().map(|r| r.keys.len()).sum::<usize>()
            + o.dead.iter().map(|r| r.keys.len()).sum::<usize>()
    }

    /// Whether two indexes read the same base runs.
    #[cfg(test)]
    pub(super) fn shares_base(&self, other: &TileIndex) -> bool {
        Arc::ptr_eq(&self.base, &other.base)
    }

    /// Whether some park has an outline.
    pub fn has_outlines(&self) -> bool {
        !self.base.areas.is_empty() || !self.overlay.areas.is_empty()
    }

    /// The park outlines drawn in `tile`, in park order (see [`AreaIndex::clipped`]):
    /// the base's not dead, with their generation index, then those written since.
    pub fn outlines(&self, tile: TileId) -> Vec<(u32, Vec<Ring>)> {
        let dead = &self.overlay.dead_parks;
        let mut out: Vec<(u32, Vec<Ring>)> = (self.base.areas.clipped(tile).into_iter())
            .filter_map(|(b, rings)| match dead.binary_search(&b) {
                Ok(_) => None,
                Err(k) => Some((b - k as u32, rings)),
            })
            .collect();
        if !self.overlay.areas.is_empty() {
            out.extend(self.overlay.areas.clipped(tile));
        }
        out
    }

    /// The index of `atlas`, built on first use and kept while the generation is
    /// served (a few recent generations are remembered, so alternating servers in
    /// one process, as in the tests, do not rebuild each time). The base's runs are
    /// built once per base and frame; a generation over a base already indexed
    /// only builds its overlay.
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
        slot.get_or_init(|| {
            let base = match base_slot(atlas, frame, true) {
                Some(slot) => slot
                    .get_or_init(|| Arc::new(BaseTiles::new(atlas, frame)))
                    .clone(),
                None => Arc::new(BaseTiles::new(atlas, frame)),
            };
            Arc::new(TileIndex {
                frame,
                base,
                overlay: Overlay::new(atlas, frame),
            })
        })
        .clone()
    }

    /// Builds the base runs of `new` (a generation over a new base, not yet
    /// published) in each frame in which tiles of `old`'s base were asked: called
    /// by the background rebuild of the base ([`Atlas::rebuilt`]), so that no tile
    /// request of the new base waits for its sort. Nothing when tiles are not in use.
    pub fn prepare(old: &Atlas, new: &Atlas) {
        for frame in Frame::ALL {
            let used = base_slot(old, frame, false).is_some_and(|s| s.get().is_some());
            if used && let Some(slot) = base_slot(new, frame, true) {
                slot.get_or_init(|| Arc::new(BaseTiles::new(new, frame)));
            }
        }
    }

    /// The index of `atlas` when it can be had without a wait: built already, or
    /// over a base whose runs are built and with a delta small enough to index
    /// here (see [`INLINE_MAX`]). `None` means a base must be sorted: ask
    /// [`TileIndex::of`] off the async workers.
    pub fn cached(atlas: &Arc<Atlas>, frame: Frame) -> Option<Arc<TileIndex>> {
        let built = lookup(
            &mut CACHE.lock().unwrap_or_else(|e| e.into_inner()),
            atlas,
            frame,
        )
        .and_then(|slot| slot.get().cloned());
        if built.is_some() {
            return built;
        }
        let base_ready = base_slot(atlas, frame, false).is_some_and(|s| s.get().is_some());
        (base_ready && atlas.delta_size() <= INLINE_MAX).then(|| Self::of(atlas, frame))
    }

    /// The runs `select` reads for `layers`, in layer order: each layer's base
    /// run, then its written and dead runs when it has some.
    fn parts(&self, layers: LayerSet) -> Vec<Part<'_>> {
        let mut parts = Vec::with_capacity(MAX_PARTS);
        for layer in layers.iter() {
            let l = layer as usize;
            parts.push(Part {
                layer,
                run: &self.base.layers[l],
                kind: Kind::Base,
            });
            for (run, kind) in [
                (&self.overlay.added[l], Kind::Added),
                (&self.overlay.dead[l], Kind::Dead),
            ] {
                if !run.keys.is_empty() {
                    parts.push(Part { layer, run, kind });
                }
            }
        }
        parts
    }

    /// The features of `layers` in `tile`: with `cluster`, the cells holding more
    /// than `cell_max` become clusters (see the module docs of `tiles`). Singles
    /// come in curve order within each layer.
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
        let parts = self.parts(layers);
        let with_overlay = parts.iter().any(|p| p.kind != Kind::Base);
        let spans: Vec<(usize, usize)> = parts.iter().map(|p| p.run.span(0, lo, hi)).collect();
        // With an overlay, each single's key, to put the written ones in curve order.
        let mut singles: Vec<(u64, Single)> = Vec::new();
        let mut clusters = Vec::new();
        let overlay = &self.overlay;
        let push_singles = |singles: &mut Vec<(u64, Single)>, p: &Part, (s, e): (usize, usize)| {
            let run = p.run;
            let dead: &[u32] = match (p.kind, p.layer.is_facility()) {
                (Kind::Dead, _) => return,
                (Kind::Added, _) => &[],
                (Kind::Base, true) => &overlay.dead_facilities,
                (Kind::Base, false) => &overlay.dead_parks,
            };
            for i in s..e {
                let mut index = run.ids[i];
                if !dead.is_empty() {
                    match dead.binary_search(&index) {
                        Ok(_) => continue,
                        Err(k) => index -= k as u32,
                    }
                }
                let (x, y) = pixel(run.xs[i], run.ys[i]);
                singles.push((
                    run.keys[i],
                    Single {
                        layer: p.layer,
                        index,
                        x,
                        y,
                    },
                ));
            }
        };
        let finish = |mut singles: Vec<(u64, Single)>| -> Vec<Single> {
            if with_overlay {
                // Within a layer, the order of a fresh index: by key, then index
                // (the written features' indexes follow the base's).
                singles.sort_unstable_by_key(|(k, s)| (s.layer as u8, *k, s.index));
            }
            singles.into_iter().map(|(_, s)| s).collect()
        };
        if !cluster {
            for (p, span) in parts.iter().zip(&spans) {
                push_singles(&mut singles, p, *span);
            }
            return (finish(singles), clusters);
        }
        // The cells in curve order: each a tile of zoom z + GRID_BITS.
        let bits = u32::from(GRID_BITS);
        let mut from: Vec<usize> = spans.iter().map(|s| s.0).collect();
        let mut cell: Vec<(usize, usize)> = Vec::with_capacity(parts.len());
        for code in 0..(1u32 << (2 * bits)) {
            let (cx, cy) = (deinterleave(code), deinterleave(code >> 1));
            let (clo, chi) = key_range(
                tile.z + GRID_BITS,
                (tile.x << bits) | cx,
                (tile.y << bits) | cy,
            );
            cell.clear();
            let mut count = 0i64;
            for (k, p) in parts.iter().enumerate() {
                let (s, e) = p.run.span(from[k], clo, chi);
                let e = e.min(spans[k].1);
                from[k] = e;
                cell.push((s, e));
                count += p.count((s, e));
            }
            if count <= 0 {
                continue;
            }
            if count as usize <= cell_max {
                for (p, span) in parts.iter().zip(&cell) {
                    push_singles(&mut singles, p, *span);
                }
                continue;
            }
            let mut per_layer = [0i64; 4];
            let mut no_union = 0i64;
            for (p, span) in parts.iter().zip(&cell) {
                per_layer[p.layer as usize] += p.count(*span);
                if p.layer == Layer::Park {
                    no_union += p.flagged(*span);
                }
            }
            let (ax, ay) = anchor(
                &parts,
                &cell,
                tile.z + GRID_BITS,
                (tile.x << bits) | cx,
                (tile.y << bits) | cy,
            );
            let (x, y) = pixel(ax, ay);
            clusters.push(Cluster {
                x,
                y,
                count: count as usize,
                per_layer: per_layer.map(|n| n.max(0) as usize),
                no_union: no_union.max(0) as usize,
            });
        }
        (finish(singles), clusters)
    }
}

/// Where the cluster of a cell is drawn (fixed point): the cell (a tile of zoom
/// `z` at `x`, `y`, holding the spans `cell` of the runs `parts`) is cut into
/// quarters [`DESCENT`] times, each time keeping the most populous one (the
/// first in curve order on a tie), and the cluster sits at the mean of what the
/// last quarter holds. At zoom 2–4 a 128 px cell spans a thousand kilometres
/// and its mean can fall in the sea or a desert between cities; the descent
/// puts the marker on the place that holds most of the cluster. It costs a few
/// binary searches inside the cell's runs (the overlay's runs counted in or out
/// as in the cell's count).
fn anchor(
    parts: &[Part],
    cell: &[(usize, usize)],
    mut z: u8,
    mut x: u32,
    mut y: u32,
) -> (u32, u32) {
    let n = parts.len().min(MAX_PARTS);
    let mut spans = [(0usize, 0usize); MAX_PARTS];
    spans[..n].copy_from_slice(&cell[..n]);
    for _ in 0..DESCENT {
        let child = |q: u32| ((x << 1) | (q & 1), (y << 1) | (q >> 1));
        // The quarters are consecutive runs of the curve: three cuts split a span.
        let cuts = [1, 2, 3].map(|q| {
            let (cx, cy) = child(q);
            key_range(z + 1, cx, cy).0
        });
        let mut bounds = [[0usize; 5]; MAX_PARTS];
        for ((p, (s, e)), b) in parts.iter().zip(&spans[..n]).zip(&mut bounds) {
            let keys = &p.run.keys;
            let mut at = *s;
            *b = [*s, 0, 0, 0, *e];
            for (cut, slot) in cuts.iter().zip(&mut b[1..4]) {
                at += keys[at..*e].partition_point(|k| k < cut);
                *slot = at;
            }
        }
        let held = |q: usize| -> i64 {
            (parts.iter().zip(&bounds))
                .map(|(p, b)| p.count((b[q], b[q + 1])))
                .sum()
        };
        // The most populous quarter; the first on a tie.
        let q = (1..4).fold(0, |best, q| if held(q) > held(best) { q } else { best });
        for (span, b) in spans[..n].iter_mut().zip(&bounds) {
            *span = (b[q], b[q + 1]);
        }
        (x, y) = child(q as u32);
        z += 1;
    }
    let mut sums = (0u64, 0u64);
    let mut count = 0i64;
    for (p, span) in parts.iter().zip(&spans[..n]) {
        p.add_sums(*span, &mut sums);
        count += p.count(*span);
    }
    let count = count.max(1) as u64;
    ((sums.0 / count) as u32, (sums.1 / count) as u32)
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
