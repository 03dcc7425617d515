//! A static k-d tree over unit vectors, for bulk coverage queries: the nearest point
//! and how many points lie within a radius, both by exact squared chord (see
//! [`crate::index::sphere`]).
//!
//! Why a second tree next to the atlas's R-trees: counting "facilities within 20 km"
//! for 100,000 parks in a dataset of a million facilities means visiting some 85
//! million (park, facility) pairs one by one in an R-tree. Here every subtree is a
//! contiguous range of one array, so a subtree whose box lies wholly inside the ball
//! is counted in one subtraction, and only the subtrees the sphere's surface cuts are
//! opened. Building it costs about a tenth of a second per million points, so
//! [`super::parks`] builds one per request only when the parks are many compared with
//! the facilities.
//!
//! Layout: the points are partitioned recursively at the median of the widest axis
//! (an implicit tree: node `k` has children `2k + 1` and `2k + 2`, and the range of
//! each node follows from its parent's by halving), with one bounding box per node.

use rayon::join;

use crate::index::{Aabb, sphere};

/// Points per leaf.
const LEAF: usize = 16;
/// Below this many points the partition is not split across threads.
const PARALLEL: usize = 32_768;

/// The tree.
#[derive(Clone, Debug)]
pub struct KdTree {
    points: Vec<[f64; 3]>,
    boxes: Vec<Aabb>,
}

fn widest_axis(points: &[[f64; 3]]) -> usize {
    let b = Aabb::of(points);
    let ext: [f64; 3] = std::array::from_fn(|i| b.max[i] - b.min[i]);
    if ext[0] >= ext[1] && ext[0] >= ext[2] {
        0
    } else if ext[1] >= ext[2] {
        1
    } else {
        2
    }
}

fn partition(points: &mut [[f64; 3]]) {
    if points.len() <= LEAF {
        return;
    }
    let axis = widest_axis(points);
    let mid = points.len() / 2;
    points.select_nth_unstable_by(mid, |a, b| a[axis].total_cmp(&b[axis]));
    let big = points.len() > PARALLEL;
    let (left, right) = points.split_at_mut(mid);
    if big {
        join(|| partition(left), || partition(right));
    } else {
        partition(left);
        partition(right);
    }
}

impl KdTree {
    /// Builds the tree (in parallel for large inputs).
    pub fn new(mut points: Vec<[f64; 3]>) -> Self {
        partition(&mut points);
        let mut tree = KdTree {
            points,
            boxes: Vec::new(),
        };
        if !tree.points.is_empty() {
            tree.fill(0, 0, tree.points.len());
        }
        tree
    }

    /// Computes the boxes bottom-up.
    fn fill(&mut self, k: usize, lo: usize, hi: usize) -> Aabb {
        let b = if hi - lo <= LEAF {
            Aabb::of(&self.points[lo..hi])
        } else {
            let mid = lo + (hi - lo) / 2;
            let l = self.fill(2 * k + 1, lo, mid);
            let r = self.fill(2 * k + 2, mid, hi);
            Aabb::union(l, r)
        };
        if self.boxes.len() <= k {
            self.boxes.resize(k + 1, Aabb::EMPTY);
        }
        self.boxes[k] = b;
        b
    }

    /// How many points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The squared chord to the nearest point; `None` when there is none.
    pub fn nearest_chord2(&self, q: &[f64; 3]) -> Option<f64> {
        if self.points.is_empty() {
            return None;
        }
        let mut best = f64::INFINITY;
        self.nearest_in(0, 0, self.points.len(), q, &mut best);
        Some(best)
    }

    fn nearest_in(&self, k: usize, lo: usize, hi: usize, q: &[f64; 3], best: &mut f64) {
        if hi - lo <= LEAF {
            for p in &self.points[lo..hi] {
                *best = best.min(sphere::chord2(p, q));
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let (l, r) = (2 * k + 1, 2 * k + 2);
        let (dl, dr) = (self.boxes[l].min_d2(q), self.boxes[r].min_d2(q));
        let near_first = if dl <= dr {
            [(l, lo, mid, dl), (r, mid, hi, dr)]
        } else {
            [(r, mid, hi, dr), (l, lo, mid, dl)]
        };
        for (c, a, b, d) in near_first {
            if d < *best {
                self.nearest_in(c, a, b, q, best);
            }
        }
    }

    /// How many points lie within squared chord `r2` of `q` (edge included).
    pub fn count_within(&self, q: &[f64; 3], r2: f64) -> usize {
        if self.points.is_empty() {
            return 0;
        }
        self.count_in(0, 0, self.points.len(), q, r2)
    }

    fn count_in(&self, k: usize, lo: usize, hi: usize, q: &[f64; 3], r2: f64) -> usize {
        let b = &self.boxes[k];
        if b.min_d2(q) > r2 {
            return 0;
        }
        if b.max_d2(q) <= r2 {
            return hi - lo;
        }
        if hi - lo <= LEAF {
            return self.points[lo..hi]
                .iter()
                .filter(|p| sphere::chord2(p, q) <= r2)
                .count();
        }
        let mid = lo + (hi - lo) / 2;
        self.count_in(2 * k + 1, lo, mid, q, r2) + self.count_in(2 * k + 2, mid, hi, q, r2)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::LonLat;

    fn xyz() -> impl Strategy<Value = [f64; 3]> {
        prop_oneof![
            3 => (116.0..116.5f64, 39.5..40.0f64),
            1 => (-180.0..=180.0f64, -90.0..=90.0f64),
        ]
        .prop_map(|(lon, lat)| sphere::unit_vector(LonLat::new(lon, lat).unwrap()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Nearest and counts equal brute force, duplicates and all.
        #[test]
        fn equals_brute_force(
            mut points in prop::collection::vec(xyz(), 0..300),
            dup in 0usize..20,
            queries in prop::collection::vec(xyz(), 1..10),
            metres in prop::collection::vec(0.0..60_000.0f64, 1..4),
        ) {
            let copies: Vec<[f64; 3]> = points.iter().take(dup).copied().collect();
            points.extend(copies);
            let tree = KdTree::new(points.clone());
            prop_assert_eq!(tree.len(), points.len());
            for q in &queries {
                let brute = points.iter().map(|p| sphere::chord2(p, q)).reduce(f64::min);
                prop_assert_eq!(tree.nearest_chord2(q), brute);
                for m in &metres {
                    let r2 = sphere::metres_to_chord2(*m);
                    let brute = points.iter().filter(|p| sphere::chord2(p, q) <= r2).count();
                    prop_assert_eq!(tree.count_within(q, r2), brute);
                }
                // Exactly at a point's distance: that point is counted.
                if let Some(p) = points.first() {
                    let r2 = sphere::chord2(p, q);
                    let brute = points.iter().filter(|x| sphere::chord2(x, q) <= r2).count();
                    prop_assert_eq!(tree.count_within(q, r2), brute);
                }
            }
        }
    }

    #[test]
    fn empty_tree_answers_nothing() {
        let t = KdTree::new(Vec::new());
        assert!(t.is_empty());
        assert_eq!(t.nearest_chord2(&[1.0, 0.0, 0.0]), None);
        assert_eq!(t.count_within(&[1.0, 0.0, 0.0], 4.0), 0);
    }
}
