//! A static packed R-tree over points on the unit sphere, with filter masks in
//! every node, for k-nearest queries that stay fast under selective filters.
//!
//! Why not only `rstar`: a filtered nearest query on a plain R-tree walks every
//! nearer facility that fails the filter (for a 2 % amenity, fifty of them per
//! hit, and far more where the amenity is clustered elsewhere). Here every node
//! also stores the OR of its items' masks (amenity bits and layer bits), so a
//! subtree that holds no facility with a shower is never opened.
//!
//! Layout: the items ordered top down into nested tiles (sort-tile-recursive, as
//! rstar's OMT bulk load: a subtree's items are one compact run), then each
//! level of nodes over groups of [`NODE_SIZE`] children, all in flat arrays. The
//! children of one node sit together in a [`Block`], column by column in `f32`,
//! so one pass computes all their lower bounds (the compiler vectorises it).
//! `f32` boxes are rounded outward and widened by [`SLACK`], and every bound is
//! shrunk by a relative [`BOUND_MARGIN`]: a node's bound never exceeds the exact
//! distance of anything under it, so answers stay exact (items are measured in
//! `f64`, with the same arithmetic as the brute force in the tests).
//!
//! The query is the classic best-first search: a min-heap of nodes and items keyed
//! by squared chord distance (a lower bound for nodes, exact for items); items come
//! out in exact nearest-first order. When the caller promises to take the first
//! `k`, items never enter the heap: the `k` best so far sit in a short sorted list,
//! the heap holds nodes as single integers (bound bits, level, index: one compare
//! per sift step), and the walk ends when no node can beat the k-th. Up to 2³¹
//! items. A depth-first branch-and-bound without a heap was tried and was twice as
//! slow on sparse regions (it opens far leaves before near ones). The nested tiles
//! replaced a Hilbert-curve order (flatbush's): their boxes overlap less, so a
//! k = 5 query opens 13 nodes instead of 19 and takes about a third less time.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Children per node.
pub const NODE_SIZE: usize = 8;

/// How far `f32` node boxes are widened beyond their rounded-outward corners:
/// more than the rounding of a query point to `f32` (2⁻²⁴ on the unit sphere) and of
/// one subtraction, about 6 m on the ground.
const SLACK: f32 = 1e-6;

/// Relative shrink of every `f32` lower bound, more than the rounding of three
/// squares and two sums in `f32`.
const BOUND_MARGIN: f64 = 1.0 - 1e-6;

/// What a query wants: all of `amenities`, and any of `layers` (bit sets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    /// Every one of these bits must be present.
    pub all: u32,
    /// At least one of these bits must be present.
    pub any: u32,
}

impl Want {
    pub(super) fn admits(self, mask: u32) -> bool {
        mask & self.all == self.all && mask & self.any != 0
    }
}

/// One point: its unit vector, a caller's id and its mask.
#[derive(Clone, Copy, Debug)]
pub struct Item {
    /// Position on the unit sphere.
    pub xyz: [f64; 3],
    /// The caller's id (an index into its own records).
    pub id: u32,
    /// Filter bits: the item matches `Want` if `all ⊆ mask` and `any ∩ mask ≠ ∅`.
    pub mask: u32,
}

/// The boxes and masks of up to [`NODE_SIZE`] sibling nodes, column-wise. An unused
/// slot has an empty box and mask 0, so no query admits it.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Block {
    lo: [[f32; NODE_SIZE]; 3],
    hi: [[f32; NODE_SIZE]; 3],
    mask: [u32; NODE_SIZE],
}

impl Block {
    const EMPTY: Block = Block {
        lo: [[f32::INFINITY; NODE_SIZE]; 3],
        hi: [[f32::NEG_INFINITY; NODE_SIZE]; 3],
        mask: [0; NODE_SIZE],
    };

    /// A block over `nodes` (at most [`NODE_SIZE`]): each box rounded outward to
    /// `f32` and widened by [`SLACK`].
    fn new(nodes: &[Bounds]) -> Self {
        let mut b = Block::EMPTY;
        for (j, n) in nodes.iter().enumerate() {
            for a in 0..3 {
                b.lo[a][j] = down(n.lo[a]) - SLACK;
                b.hi[a][j] = up(n.hi[a]) + SLACK;
            }
            b.mask[j] = n.mask;
        }
        b
    }

    /// Lower bounds (in `f32`, before [`BOUND_MARGIN`]) of the squared chord from
    /// `q` to each slot's box.
    #[inline]
    fn lower_bounds(&self, q: [f32; 3]) -> [f32; NODE_SIZE] {
        let mut out = [0.0f32; NODE_SIZE];
        for ((lo, hi), q) in self.lo.iter().zip(&self.hi).zip(q) {
            for ((o, lo), hi) in out.iter_mut().zip(lo).zip(hi) {
                let d = (lo - q).max(q - hi).max(0.0);
                *o += d * d;
            }
        }
        out
    }
}

/// The nearest `f32` at or below `v`.
fn down(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) > v { f.next_down() } else { f }
}

/// The nearest `f32` at or above `v`.
fn up(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) < v { f.next_up() } else { f }
}

/// A node's exact box and mask, while building.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    lo: [f64; 3],
    hi: [f64; 3],
    mask: u32,
}

impl Bounds {
    const EMPTY: Bounds = Bounds {
        lo: [f64::INFINITY; 3],
        hi: [f64::NEG_INFINITY; 3],
        mask: 0,
    };

    fn add(mut self, lo: &[f64; 3], hi: &[f64; 3], mask: u32) -> Self {
        for a in 0..3 {
            self.lo[a] = self.lo[a].min(lo[a]);
            self.hi[a] = self.hi[a].max(hi[a]);
        }
        self.mask |= mask;
        self
    }
}

/// Whether a nearest walk goes on.
pub enum Walk {
    /// Give me the next nearest.
    Continue,
    /// Done.
    Stop,
}

/// The tree: items in tile order, and the levels of nodes above them.
#[derive(Debug, Default)]
pub struct PackedTree {
    items: Vec<Item>,
    /// `levels[l]`: the nodes of level `l + 1` (level 1 holds items), in blocks of
    /// siblings: block `i` holds the children of node `i` of the level above. The
    /// last level has a single block, the root's children.
    levels: Vec<Vec<Block>>,
}

#[derive(Clone, Copy)]
struct Queued {
    d2: f64,
    /// 0 for an item, else the node level (1 = parents of items).
    level: u32,
    index: u32,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Reversed, so `BinaryHeap` pops the smallest distance; items before nodes on ties.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .d2
            .total_cmp(&self.d2)
            .then_with(|| other.level.cmp(&self.level))
    }
}

thread_local! {
    /// The search heap, kept between queries so a query allocates nothing.
    static HEAP: RefCell<BinaryHeap<Queued>> = const { RefCell::new(BinaryHeap::new()) };
    /// The node queue of a k-nearest search, as packed keys (see [`node_key`]).
    static NODES: RefCell<BinaryHeap<Reverse<u64>>> = const { RefCell::new(BinaryHeap::new()) };
}

/// A queued node as one integer, ordered as the queue needs: its `f32` bound (the
/// bits of a non-negative float order like the float), then level and index.
fn node_key(lb: f32, level: usize, index: usize) -> u64 {
    (u64::from(lb.to_bits()) << 32) | ((level as u64) << 28) | index as u64
}

/// The bound (with [`BOUND_MARGIN`]), level and index of a [`node_key`].
fn unpack_node_key(key: u64) -> (f64, usize, usize) {
    let lb = f32::from_bits((key >> 32) as u32);
    let low = key as u32;
    (
        f64::from(lb) * BOUND_MARGIN,
        (low >> 28) as usize,
        (low & 0x0fff_ffff) as usize,
    )
}

/// Orders `items` so that every run of `cap / NODE_SIZE` (a subtree's capacity)
/// is a compact tile: sort-tile-recursive, top down (the OMT bulk load): cut along
/// the widest axis into slabs of whole tiles, each slab along its own widest axis
/// into tiles, then the same inside every tile.
fn tile(items: &mut [Item], cap: usize) {
    if items.len() <= NODE_SIZE {
        return;
    }
    let per_tile = cap / NODE_SIZE;
    let tiles = items.len().div_ceil(per_tile);
    let slabs = (tiles as f64).sqrt().ceil() as usize;
    let per_slab = tiles.div_ceil(slabs) * per_tile;
    split(items, per_slab, widest(items));
    for slab in items.chunks_mut(per_slab) {
        split(slab, per_tile, widest(slab));
        for t in slab.chunks_mut(per_tile) {
            tile(t, per_tile);
        }
    }
}

/// The axis along which `items` spread the most.
fn widest(items: &[Item]) -> usize {
    let b = items
        .iter()
        .fold(Bounds::EMPTY, |b, it| b.add(&it.xyz, &it.xyz, 0));
    (0..3)
        .max_by(|&a, &c| (b.hi[a] - b.lo[a]).total_cmp(&(b.hi[c] - b.lo[c])))
        .unwrap_or(0)
}

/// Partitions `items` along `axis` into runs of `run` (the last may be short), each
/// run's coordinates at or below the next run's.
fn split(items: &mut [Item], run: usize, axis: usize) {
    let runs = items.len().div_ceil(run);
    if runs <= 1 {
        return;
    }
    let cut = runs / 2 * run;
    items.select_nth_unstable_by(cut, |a, b| a.xyz[axis].total_cmp(&b.xyz[axis]));
    let (low, high) = items.split_at_mut(cut);
    split(low, run, axis);
    split(high, run, axis);
}

fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    super::sphere::chord2(a, b)
}

/// The `k` nearest admitted items seen so far, ascending by distance (k is small).
struct Best {
    k: usize,
    found: Vec<(f64, u32)>,
}

impl Best {
    /// The distance an item must not exceed to get in.
    fn bound(&self, limit2: f64) -> f64 {
        if self.found.len() >= self.k {
            self.found[self.k - 1].0.min(limit2)
        } else {
            limit2
        }
    }

    fn offer(&mut self, d2: f64, at: u32) {
        let i = self.found.partition_point(|(b, _)| *b <= d2);
        if i < self.k {
            self.found.insert(i, (d2, at));
            self.found.truncate(self.k);
        }
    }
}

impl PackedTree {
    /// Packs the items (any order) into a tree.
    pub fn new(mut items: Vec<Item>) -> Self {
        let mut capacity = NODE_SIZE;
        while capacity < items.len() {
            capacity = capacity.saturating_mul(NODE_SIZE);
        }
        tile(&mut items, capacity);
        let mut below: Vec<Bounds> = items
            .chunks(NODE_SIZE)
            .map(|group| {
                group
                    .iter()
                    .fold(Bounds::EMPTY, |n, it| n.add(&it.xyz, &it.xyz, it.mask))
            })
            .collect();
        let mut levels = Vec::new();
        while !below.is_empty() {
            levels.push(below.chunks(NODE_SIZE).map(Block::new).collect::<Vec<_>>());
            if below.len() <= NODE_SIZE {
                break;
            }
            below = below
                .chunks(NODE_SIZE)
                .map(|group| {
                    group
                        .iter()
                        .fold(Bounds::EMPTY, |n, c| n.add(&c.lo, &c.hi, c.mask))
                })
                .collect();
        }
        PackedTree { items, levels }
    }

    /// The items under level-1 node `node`.
    fn leaf(&self, node: usize) -> &[Item] {
        let first = node * NODE_SIZE;
        &self.items[first..(first + NODE_SIZE).min(self.items.len())]
    }

    /// Pushes the admitted children of node `node` of level `level + 1` (the root when
    /// `level` is the top) whose bound is within `bound`.
    fn push_children(
        &self,
        heap: &mut BinaryHeap<Queued>,
        level: usize,
        node: usize,
        q: [f32; 3],
        want: Want,
        bound: f64,
    ) {
        for (d2, _, index) in self.children_within(level, node, q, want, bound) {
            heap.push(Queued {
                d2,
                level: level as u32,
                index: index as u32,
            });
        }
    }

    /// The children of node `parent` of level `level + 1` (the root when `level` is
    /// the top) that `want` admits and whose bound is within `bound`: (the bound,
    /// the raw `f32` bound, the child's index in level `level`).
    fn children_within(
        &self,
        level: usize,
        parent: usize,
        q: [f32; 3],
        want: Want,
        bound: f64,
    ) -> impl Iterator<Item = (f64, f32, usize)> + '_ {
        let block = &self.levels[level - 1][parent];
        let lb = block.lower_bounds(q);
        (0..NODE_SIZE).filter_map(move |j| {
            let d2 = f64::from(lb[j]) * BOUND_MARGIN;
            (want.admits(block.mask[j]) && d2 <= bound).then_some((
                d2,
                lb[j],
                parent * NODE_SIZE + j,
            ))
        })
    }

    /// The `k` nearest admitted items within `limit2`: best first over nodes only;
    /// items go to the short `best` list, and the search ends when no queued node
    /// can beat the k-th.
    fn k_nearest(&self, k: usize, q: [f64; 3], qf: [f32; 3], want: Want, limit2: f64) -> Best {
        let mut best = Best {
            k,
            found: Vec::with_capacity(k.min(128) + 1),
        };
        // Queues the admitted children within `bound` of node `node` of level
        // `level + 1`, except the nearest one, which it returns: when nothing queued
        // is nearer, that child is opened next without a trip through the queue.
        let expand =
            |heap: &mut BinaryHeap<Reverse<u64>>, level: usize, node: usize, bound: f64| {
                let mut nearest: Option<u64> = None;
                for (_, lb, index) in self.children_within(level, node, qf, want, bound) {
                    let key = node_key(lb, level, index);
                    match nearest {
                        Some(n) if n <= key => heap.push(Reverse(key)),
                        Some(n) => {
                            heap.push(Reverse(n));
                            nearest = Some(key);
                        }
                        None => nearest = Some(key),
                    }
                }
                let nearest = nearest?;
                match heap.peek() {
                    Some(Reverse(queued)) if *queued < nearest => {
                        heap.push(Reverse(nearest));
                        None
                    }
                    _ => Some(nearest),
                }
            };
        NODES.with(|heap| {
            let mut heap = heap.borrow_mut();
            heap.clear();
            let mut next = expand(&mut heap, self.levels.len(), 0, limit2);
            while let Some(key) = next.take().or_else(|| heap.pop().map(|Reverse(k)| k)) {
                let (d2, level, node) = unpack_node_key(key);
                let bound = best.bound(limit2);
                if d2 > bound {
                    break;
                }
                if level == 1 {
                    let first = node * NODE_SIZE;
                    for (i, it) in self.leaf(node).iter().enumerate() {
                        if want.admits(it.mask) {
                            let d2 = chord2(&it.xyz, &q);
                            if d2 <= best.bound(limit2) {
                                best.offer(d2, (first + i) as u32);
                            }
                        }
                    }
                } else {
                    next = expand(&mut heap, level - 1, node, bound);
                }
            }
        });
        best
    }

    /// Calls `visit(item, squared chord)` for the items admitted by `want`, nearest
    /// first, until it returns [`Walk::Stop`] or the next is beyond `limit2`.
    ///
    /// `takes_first`: `Some(k)` promises that `visit` takes every item it is given and
    /// stops after `k`. The walk then finds the `k` nearest without queueing items,
    /// and hands them over at the end.
    pub fn nearest(
        &self,
        q: [f64; 3],
        want: Want,
        limit2: f64,
        takes_first: Option<usize>,
        mut visit: impl FnMut(&Item, f64) -> Walk,
    ) {
        let top = self.levels.len();
        if top == 0 || takes_first == Some(0) {
            return;
        }
        let qf = q.map(|v| v as f32);
        if let Some(k) = takes_first {
            let best = self.k_nearest(k, q, qf, want, limit2);
            for (d2, at) in best.found {
                if let Walk::Stop = visit(&self.items[at as usize], d2) {
                    break;
                }
            }
            return;
        }
        HEAP.with(|heap| {
            let mut heap = heap.borrow_mut();
            heap.clear();
            self.push_children(&mut heap, top, 0, qf, want, limit2);
            {
                {
                    while let Some(e) = heap.pop() {
                        if e.d2 > limit2 {
                            break;
                        }
                        let node = e.index as usize;
                        match e.level {
                            0 => {
                                if let Walk::Stop = visit(&self.items[node], e.d2) {
                                    break;
                                }
                            }
                            1 => {
                                let first = node * NODE_SIZE;
                                for (i, it) in self.leaf(node).iter().enumerate() {
                                    if want.admits(it.mask) {
                                        let d2 = chord2(&it.xyz, &q);
                                        if d2 <= limit2 {
                                            heap.push(Queued {
                                                d2,
                                                level: 0,
                                                index: (first + i) as u32,
                                            });
                                        }
                                    }
                                }
                            }
                            level => {
                                let level = level as usize - 1;
                                self.push_children(&mut heap, level, node, qf, want, limit2);
                            }
                        }
                    }
                }
            }
        });
    }

    /// How many items admitted by `want` lie within the squared chord `r2` of `q`
    /// (edge included): a depth-first walk that skips subtrees out of reach.
    pub fn count_within(&self, q: [f64; 3], want: Want, r2: f64) -> usize {
        let top = self.levels.len();
        if top == 0 {
            return 0;
        }
        let qf = q.map(|v| v as f32);
        // (level of the children, parent index): the children are block `parent` of that level.
        let mut stack: Vec<(usize, usize)> = vec![(top, 0)];
        let mut count = 0;
        while let Some((level, parent)) = stack.pop() {
            for (_, _, node) in self.children_within(level, parent, qf, want, r2) {
                if level == 1 {
                    count += self
                        .leaf(node)
                        .iter()
                        .filter(|it| want.admits(it.mask) && chord2(&it.xyz, &q) <= r2)
                        .count();
                } else {
                    stack.push((level - 1, node));
                }
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::sphere::unit_vector;
    use crate::model::LonLat;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// `got` (id, squared chord) is a correct nearest-first answer against
    /// `expected`, the brute force sorted by distance: the same distance at every
    /// rank, distinct ids, and each id an item `want` admits, within `limit2`, at
    /// exactly the distance reported for it (so among equal distances any order
    /// of the tied ids passes, and nothing else does).
    fn check_answer(
        got: &[(u32, f64)],
        expected: &[(u32, f64)],
        items: &[Item],
        qv: [f64; 3],
        want: Want,
        limit2: f64,
    ) -> Result<(), TestCaseError> {
        let mut seen = HashSet::new();
        for (rank, (&(id, d2), &(_, e2))) in got.iter().zip(expected).enumerate() {
            prop_assert_eq!(
                d2,
                e2,
                "rank {}: got {:?}, expected {:?}",
                rank,
                got,
                expected
            );
            let it = &items[id as usize];
            prop_assert!(seen.insert(id), "id {} twice: {:?}", id, got);
            prop_assert!(want.admits(it.mask), "id {} not admitted", id);
            prop_assert_eq!(
                chord2(&it.xyz, &qv),
                d2,
                "id {} is not at its reported distance",
                id
            );
            prop_assert!(d2 <= limit2);
        }
        Ok(())
    }

    proptest! {
        /// Items come out in exactly the brute-force order, filters applied.
        #[test]
        fn walk_is_sorted_and_complete(
            pts in prop::collection::vec((-180.0..180.0f64, -90.0..90.0f64, 0u32..16), 0..600),
            q in (-180.0..180.0f64, -90.0..90.0f64),
            all in 0u32..4,
            any in 1u32..16,
            limit in prop::option::of(0.0..4.0f64),
            k in 1usize..30,
            dups in prop::collection::vec((any::<prop::sample::Index>(), 0u32..16), 0..60),
        ) {
            // Some items share a place (and so a distance), with their own masks.
            let mut pts = pts;
            if !pts.is_empty() {
                for (at, m) in &dups {
                    let (lon, lat, _) = pts[at.index(pts.len())];
                    pts.push((lon, lat, *m));
                }
            }
            let items: Vec<Item> = pts.iter().enumerate().map(|(i, (lon, lat, m))| Item {
                xyz: unit_vector(LonLat::new(*lon, *lat).unwrap()), id: i as u32, mask: *m,
            }).collect();
            let tree = PackedTree::new(items.clone());
            let qv = unit_vector(LonLat::new(q.0, q.1).unwrap());
            let want = Want { all, any };
            let limit2 = limit.unwrap_or(f64::INFINITY);
            let mut expected: Vec<(u32, f64)> = items.iter()
                .filter(|it| want.admits(it.mask))
                .map(|it| (it.id, chord2(&it.xyz, &qv)))
                .filter(|(_, d2)| *d2 <= limit2)
                .collect();
            expected.sort_by(|a, b| a.1.total_cmp(&b.1));

            // The whole walk: every admitted item within the limit, once, in order.
            let mut got = Vec::new();
            tree.nearest(qv, want, limit2, None, |it, d2| { got.push((it.id, d2)); Walk::Continue });
            prop_assert_eq!(got.len(), expected.len());
            check_answer(&got, &expected, &items, qv, want, limit2)?;

            // With the k promise: exactly the first k (ties in any order).
            let mut first = Vec::new();
            tree.nearest(qv, want, limit2, Some(k), |it, d2| {
                first.push((it.id, d2));
                if first.len() == k { Walk::Stop } else { Walk::Continue }
            });
            prop_assert_eq!(first.len(), expected.len().min(k));
            check_answer(&first, &expected, &items, qv, want, limit2)?;

            // A walk stopped early hands over what it was asked for and no more.
            let stop = k.min(expected.len());
            let mut stopped = Vec::new();
            tree.nearest(qv, want, limit2, None, |it, d2| {
                stopped.push((it.id, d2));
                if stopped.len() == stop { Walk::Stop } else { Walk::Continue }
            });
            prop_assert_eq!(stopped.len(), stop);
            check_answer(&stopped, &expected, &items, qv, want, limit2)?;

            if let Some(r2) = limit {
                prop_assert_eq!(tree.count_within(qv, want, r2), expected.len());
            }
        }
    }
}
