//! A static packed R-tree over points on the unit sphere, with filter masks in
//! every node, for k-nearest queries that stay fast under selective filters.
//!
//! Why not only `rstar`: a filtered nearest query on a plain R-tree walks every
//! nearer facility that fails the filter (for a 2 % amenity, fifty of them per
//! hit, and far more where the amenity is clustered elsewhere). Here every node
//! also stores the OR of its items' masks (amenity bits and layer bits), so a
//! subtree that holds no facility with a shower is never opened.
//!
//! Layout (after flatbush): the items sorted along a Hilbert curve, then each
//! level of nodes over groups of [`NODE_SIZE`] children, all in flat arrays. The
//! query is the classic best-first search: a min-heap of nodes and items keyed by
//! squared chord distance (a lower bound for nodes, exact for items); items come
//! out in exact nearest-first order.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::Aabb;

/// Children per node.
pub const NODE_SIZE: usize = 16;

/// What a query wants: all of `amenities`, and any of `layers` (bit sets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    /// Every one of these bits must be present.
    pub all: u32,
    /// At least one of these bits must be present.
    pub any: u32,
}

impl Want {
    fn admits(self, mask: u32) -> bool {
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

#[derive(Clone, Copy, Debug)]
struct Node {
    bounds: Aabb,
    mask: u32,
}

impl Node {
    const EMPTY: Node = Node {
        bounds: Aabb::EMPTY,
        mask: 0,
    };
}

/// Whether a nearest walk goes on.
pub enum Walk {
    /// Give me the next nearest.
    Continue,
    /// Done.
    Stop,
}

/// The tree: items in curve order, and the levels of nodes above them.
#[derive(Debug, Default)]
pub struct PackedTree {
    items: Vec<Item>,
    /// Nodes of all levels, lowest level first; `levels[l]` is the range of level l + 1.
    nodes: Vec<Node>,
    levels: Vec<std::ops::Range<usize>>,
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
}

/// Position of a point along a Hilbert curve over longitude × latitude (16 bits
/// each). Groups of consecutive points are compact, so node boxes stay tight; where
/// the curve is cut (±180°, the poles) boxes only grow, answers stay exact.
fn hilbert_key(xyz: &[f64; 3]) -> u64 {
    let lon = xyz[1].atan2(xyz[0]).to_degrees();
    let lat = xyz[2].clamp(-1.0, 1.0).asin().to_degrees();
    let x = ((lon + 180.0) / 360.0 * 65535.0).clamp(0.0, 65535.0) as u32;
    let y = ((lat + 90.0) / 180.0 * 65535.0).clamp(0.0, 65535.0) as u32;
    hilbert_d(x, y)
}

/// The classic rotate-and-accumulate Hilbert index of (x, y) on a 2^16 grid.
fn hilbert_d(mut x: u32, mut y: u32) -> u64 {
    let n: u32 = 1 << 16;
    let mut d: u64 = 0;
    let mut s = n / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    super::sphere::chord2(a, b)
}

impl PackedTree {
    /// Packs the items (any order) into a tree.
    pub fn new(mut items: Vec<Item>) -> Self {
        items.sort_by_cached_key(|i| hilbert_key(&i.xyz));
        let mut nodes: Vec<Node> = Vec::new();
        let mut levels = Vec::new();
        // Level 1 over the items.
        let mut below: Vec<Node> = items
            .chunks(NODE_SIZE)
            .map(|group| {
                group.iter().fold(Node::EMPTY, |mut n, it| {
                    n.bounds.extend(&it.xyz);
                    n.mask |= it.mask;
                    n
                })
            })
            .collect();
        while !below.is_empty() {
            let start = nodes.len();
            nodes.extend_from_slice(&below);
            levels.push(start..nodes.len());
            if below.len() == 1 {
                break;
            }
            below = below
                .chunks(NODE_SIZE)
                .map(|group| {
                    group.iter().fold(Node::EMPTY, |n, c| Node {
                        bounds: Aabb::union(n.bounds, c.bounds),
                        mask: n.mask | c.mask,
                    })
                })
                .collect();
        }
        PackedTree {
            items,
            nodes,
            levels,
        }
    }

    /// Calls `visit(item, squared chord)` for the items admitted by `want`, nearest
    /// first, until it returns [`Walk::Stop`] or the next is beyond `limit2`.
    ///
    /// `takes_first`: `Some(k)` promises that `visit` takes every item it is given and
    /// stops after `k`. The walk then keeps the `k` nearest item distances seen so far
    /// and pushes nothing farther than the k-th: far fewer heap operations.
    pub fn nearest(
        &self,
        q: [f64; 3],
        want: Want,
        limit2: f64,
        takes_first: Option<usize>,
        mut visit: impl FnMut(&Item, f64) -> Walk,
    ) {
        let Some(top) = self.levels.last() else {
            return;
        };
        let k = takes_first.unwrap_or(usize::MAX);
        // The k smallest item distances pushed so far, ascending (k is small).
        let mut best: Vec<f64> = Vec::with_capacity(k.min(128));
        let bound = |best: &Vec<f64>| {
            if best.len() >= k {
                best[best.len() - 1].min(limit2)
            } else {
                limit2
            }
        };
        HEAP.with(|heap| {
            let mut heap = heap.borrow_mut();
            heap.clear();
            let top_level = self.levels.len() as u32;
            for i in top.clone() {
                let n = &self.nodes[i];
                if want.admits(n.mask) {
                    heap.push(Queued {
                        d2: n.bounds.min_d2(&q),
                        level: top_level,
                        index: (i - top.start) as u32,
                    });
                }
            }
            while let Some(e) = heap.pop() {
                if e.d2 > bound(&best) {
                    break;
                }
                if e.level == 0 {
                    if let Walk::Stop = visit(&self.items[e.index as usize], e.d2) {
                        break;
                    }
                    continue;
                }
                let first = e.index as usize * NODE_SIZE;
                if e.level == 1 {
                    let end = (first + NODE_SIZE).min(self.items.len());
                    for (i, it) in self.items[first..end].iter().enumerate() {
                        if want.admits(it.mask) {
                            let d2 = chord2(&it.xyz, &q);
                            if d2 <= bound(&best) {
                                if takes_first.is_some() {
                                    let at = best.partition_point(|b| *b <= d2);
                                    best.insert(at, d2);
                                    best.truncate(k);
                                }
                                heap.push(Queued {
                                    d2,
                                    level: 0,
                                    index: (first + i) as u32,
                                });
                            }
                        }
                    }
                } else {
                    let range = &self.levels[e.level as usize - 2];
                    let end = (first + NODE_SIZE).min(range.len());
                    for i in first..end {
                        let n = &self.nodes[range.start + i];
                        if want.admits(n.mask) {
                            let d2 = n.bounds.min_d2(&q);
                            if d2 <= bound(&best) {
                                heap.push(Queued {
                                    d2,
                                    level: e.level - 1,
                                    index: i as u32,
                                });
                            }
                        }
                    }
                }
            }
        });
    }
}

impl PackedTree {
    /// How many items admitted by `want` lie within the squared chord `r2` of `q`
    /// (edge included): a depth-first walk that skips subtrees out of reach.
    pub fn count_within(&self, q: [f64; 3], want: Want, r2: f64) -> usize {
        let Some(top) = self.levels.last() else {
            return 0;
        };
        let top_level = self.levels.len();
        let mut stack: Vec<(usize, usize)> = (0..top.len()).map(|i| (top_level, i)).collect();
        let mut count = 0;
        while let Some((level, index)) = stack.pop() {
            let node = &self.nodes[self.levels[level - 1].start + index];
            if !want.admits(node.mask) || node.bounds.min_d2(&q) > r2 {
                continue;
            }
            let first = index * NODE_SIZE;
            if level == 1 {
                let end = (first + NODE_SIZE).min(self.items.len());
                count += self.items[first..end]
                    .iter()
                    .filter(|it| want.admits(it.mask) && chord2(&it.xyz, &q) <= r2)
                    .count();
            } else {
                let end = (first + NODE_SIZE).min(self.levels[level - 2].len());
                stack.extend((first..end).map(|i| (level - 1, i)));
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
        ) {
            let items: Vec<Item> = pts.iter().enumerate().map(|(i, (lon, lat, m))| Item {
                xyz: unit_vector(LonLat::new(*lon, *lat).unwrap()), id: i as u32, mask: *m,
            }).collect();
            let tree = PackedTree::new(items.clone());
            let qv = unit_vector(LonLat::new(q.0, q.1).unwrap());
            let want = Want { all, any };
            let limit2 = limit.unwrap_or(f64::INFINITY);
            let mut got = Vec::new();
            tree.nearest(qv, want, limit2, None, |it, d2| { got.push((it.id, d2)); Walk::Continue });
            // With the k promise: the first k are the same distances.
            let mut first = Vec::new();
            tree.nearest(qv, want, limit2, Some(k), |it, d2| {
                first.push((it.id, d2));
                if first.len() == k { Walk::Stop } else { Walk::Continue }
            });
            prop_assert_eq!(first.len(), got.len().min(k));
            for (f, g) in first.iter().zip(&got) {
                prop_assert_eq!(f.1, g.1);
            }
            let mut expected: Vec<(u32, f64)> = items.iter()
                .filter(|it| want.admits(it.mask))
                .map(|it| (it.id, chord2(&it.xyz, &qv)))
                .filter(|(_, d2)| *d2 <= limit2)
                .collect();
            expected.sort_by(|a, b| a.1.total_cmp(&b.1));
            prop_assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!(g.1, e.1);
            }
            if let Some(r2) = limit {
                prop_assert_eq!(tree.count_within(qv, want, r2), expected.len());
            }
        }
    }
}
