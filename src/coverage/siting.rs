//! Siting: where should the next `p` facilities of a layer go so that they serve the
//! most demand (the maximal covering location problem, Church & ReVelle 1974)?
//!
//! A demand point (a park, weighted by its workers, its un-unionised workers, or 1) is
//! covered when a facility lies within the radius. Existing facilities of the layer
//! already cover what they reach; the rest is up to the candidates.
//!
//! 1. [`covered_by_existing`]: one nearest query per demand point on the layer's tree;
//! 2. [`CoverSets::build`]: for each candidate, in parallel, the uncovered demand within
//!    the radius (a range query on a 3-D tree of the demand points), refusing once the
//!    pairs pass a cap, since memory and time grow with them;
//! 3. [`celf`]: greedy picking with lazy evaluation (CELF, Leskovec et al. 2007).
//!
//! Greedy is the classic answer: coverage is monotone and submodular, so greedy gets at
//! least `1 − 1/e ≈ 63 %` of the optimum (Nemhauser, Wolsey & Fisher 1978), and usually
//! far more. Lazy evaluation makes it fast without changing the answer: a candidate's
//! gain can only shrink as sites are picked, so a gain computed in an earlier round is
//! an upper bound; candidates sit in a max-heap by that bound, and only the top one is
//! recomputed until a freshly computed gain is on top. Gains are whole numbers (sums of
//! integer weights) and ties go to the lowest candidate index, so the picks are exactly
//! those of plain greedy (the unit tests check this). Picking stops early when no
//! candidate adds anything.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use h3o::{CellIndex, LatLng, Resolution};
use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::{CoverageError, FacilityLayer, Radius, shortfall};
use crate::index::{Atlas, sphere};
use crate::model::LonLat;

/// One demand point: where, and how much it weighs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Demand {
    /// Unit vector (see [`sphere::unit_vector`]).
    pub xyz: [f64; 3],
    /// Its weight (0 counts for nothing).
    pub weight: u64,
}

/// What a park weighs as demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weight {
    /// Its workers (unknown: 0).
    Workers,
    /// Its un-unionised workers, `workers − union_members` (unknown: 0).
    UnunionisedWorkers,
    /// 1 per park.
    Parks,
}

impl Weight {
    /// The id, as in requests.
    pub fn id(self) -> &'static str {
        match self {
            Weight::Workers => "workers",
            Weight::UnunionisedWorkers => "ununionised_workers",
            Weight::Parks => "parks",
        }
    }
}

impl FromStr for Weight {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "workers" => Ok(Weight::Workers),
            "ununionised_workers" => Ok(Weight::UnunionisedWorkers),
            "parks" => Ok(Weight::Parks),
            other => Err(format!(
                "unknown weight '{other}' (workers, ununionised_workers, parks)"
            )),
        }
    }
}

/// The parks as demand points, in the given order.
pub fn park_demand(atlas: &Atlas, parks: &[u32], weight: Weight) -> Vec<Demand> {
    parks
        .iter()
        .map(|i| {
            let p = atlas.park(*i);
            let w = match weight {
                Weight::Workers => p.counts.workers.unwrap_or(0),
                Weight::UnunionisedWorkers => {
                    shortfall(p.counts.workers, p.counts.union_members).unwrap_or(0)
                }
                Weight::Parks => 1,
            };
            Demand {
                xyz: sphere::unit_vector(p.position),
                weight: u64::from(w),
            }
        })
        .collect()
}

/// The distinct H3 cells of `res` that hold at least one of `points`, in cell order,
/// each with its centre: candidate sites spread over where the demand is.
pub fn h3_candidates(points: &[LonLat], res: Resolution) -> Vec<(CellIndex, LonLat)> {
    let mut cells: Vec<CellIndex> = points
        .iter()
        .filter_map(|p| LatLng::new(p.lat(), p.lon()).ok().map(|ll| ll.to_cell(res)))
        .collect();
    cells.sort_unstable();
    cells.dedup();
    cells
        .into_iter()
        .filter_map(|c| {
            let ll = LatLng::from(c);
            LonLat::new(ll.lng(), ll.lat()).ok().map(|p| (c, p))
        })
        .collect()
}

/// Which demand points an existing facility of `layer` already covers.
pub fn covered_by_existing(
    atlas: &Atlas,
    layer: FacilityLayer,
    demand: &[Demand],
    radius: Radius,
) -> Vec<bool> {
    let limit = radius.chord2();
    demand
        .par_iter()
        .map(|d| {
            atlas
                .layer_nearest(layer.layer(), d.xyz)
                .is_some_and(|(_, d2)| d2 <= limit)
        })
        .collect()
}

/// Candidates whose pairs are counted before the real work, to refuse early.
const SAMPLE: usize = 256;

/// For each candidate, the demand points it would newly cover, with their weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverSets {
    /// Weight of each demand point.
    pub weights: Vec<u64>,
    /// Per candidate, indices into `weights`.
    pub sets: Vec<Vec<u32>>,
}

impl CoverSets {
    /// Range queries for every candidate against the demand not yet covered (weight
    /// above 0); refuses when the (candidate, demand) pairs in reach pass `max_pairs`,
    /// or when a sample of the candidates says they would pass twice that.
    pub fn build(
        demand: &[Demand],
        covered: &[bool],
        candidates: &[[f64; 3]],
        radius: Radius,
        max_pairs: u64,
    ) -> Result<Self, CoverageError> {
        let open: Vec<GeomWithData<[f64; 3], u32>> = demand
            .iter()
            .enumerate()
            .filter(|(i, d)| d.weight > 0 && !covered.get(*i).copied().unwrap_or(false))
            .map(|(i, d)| GeomWithData::new(d.xyz, i as u32))
            .collect();
        let tree = RTree::bulk_load(open);
        let limit = radius.chord2();
        // A cheap look first: the pairs of a sample of candidates, scaled up. Refuse at
        // once when that is far over the cap, rather than after doing the work.
        let step = candidates.len().div_ceil(SAMPLE).max(1);
        let sampled: u64 = candidates
            .par_iter()
            .step_by(step)
            .map(|c| tree.locate_within_distance(*c, limit).count() as u64)
            .sum();
        if sampled.saturating_mul(step as u64) > max_pairs.saturating_mul(2) {
            return Err(CoverageError::TooManyPairs { cap: max_pairs });
        }
        let pairs = AtomicU64::new(0);
        let over = AtomicBool::new(false);
        let sets: Vec<Vec<u32>> = candidates
            .par_iter()
            .map(|c| {
                let mut set = Vec::new();
                for g in tree.locate_within_distance(*c, limit) {
                    set.push(g.data);
                    // Check the running total now and then, so a refusal comes early.
                    if set.len().is_multiple_of(4096) {
                        if over.load(Ordering::Relaxed) {
                            return Vec::new();
                        }
                        if pairs.fetch_add(4096, Ordering::Relaxed) + 4096 > max_pairs {
                            over.store(true, Ordering::Relaxed);
                            return Vec::new();
                        }
                    }
                }
                let rest = (set.len() % 4096) as u64;
                if pairs.fetch_add(rest, Ordering::Relaxed) + rest > max_pairs {
                    over.store(true, Ordering::Relaxed);
                }
                set.sort_unstable();
                set
            })
            .collect();
        if over.load(Ordering::Relaxed) {
            return Err(CoverageError::TooManyPairs { cap: max_pairs });
        }
        Ok(CoverSets {
            weights: demand.iter().map(|d| d.weight).collect(),
            sets,
        })
    }

    fn gain(&self, j: usize, covered: &[bool]) -> u64 {
        self.sets[j]
            .iter()
            .filter(|d| !covered[**d as usize])
            .map(|d| self.weights[*d as usize])
            .sum()
    }

    fn take(&self, j: usize, covered: &mut [bool]) {
        for d in &self.sets[j] {
            covered[*d as usize] = true;
        }
    }
}

/// Greedy with lazy evaluation: up to `p` candidates in pick order, each with its gain.
/// Identical to plain greedy (highest gain, then lowest index; stop at gain 0).
pub fn celf(cs: &CoverSets, p: usize) -> Vec<(usize, u64)> {
    let mut covered = vec![false; cs.weights.len()];
    // (bound, lowest index first, the round the bound was computed in)
    let mut heap: BinaryHeap<(u64, Reverse<usize>, usize)> = (0..cs.sets.len())
        .into_par_iter()
        .map(|j| (cs.gain(j, &covered), Reverse(j), 0))
        .filter(|(g, _, _)| *g > 0)
        .collect::<Vec<_>>()
        .into();
    let mut picks = Vec::with_capacity(p.min(cs.sets.len()));
    while picks.len() < p {
        let Some((bound, Reverse(j), round)) = heap.pop() else {
            break;
        };
        if round == picks.len() {
            // Fresh: no other candidate's bound (≥ its gain) beats it.
            cs.take(j, &mut covered);
            picks.push((j, bound));
        } else {
            let g = cs.gain(j, &covered);
            if g > 0 {
                heap.push((g, Reverse(j), picks.len()));
            }
        }
    }
    picks
}

/// One proposed site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    /// Index into the candidates.
    pub candidate: usize,
    /// Demand it newly covers.
    pub gain: u64,
    /// Demand covered with it and the sites before it (and the existing facilities).
    pub covered_total: u64,
}

/// The answer to a siting problem, in demand units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Siting {
    /// All demand.
    pub demand_total: u64,
    /// Covered by the existing facilities.
    pub covered_before: u64,
    /// Covered once the proposed sites are built.
    pub covered_after: u64,
    /// The proposed sites, in pick order.
    pub picks: Vec<Pick>,
}

/// Solves a siting problem: `covered` marks the demand the existing facilities reach
/// (see [`covered_by_existing`]; shorter than `demand` means "not covered").
pub fn site(
    demand: &[Demand],
    covered: &[bool],
    candidates: &[[f64; 3]],
    radius: Radius,
    p: usize,
    max_pairs: u64,
) -> Result<Siting, CoverageError> {
    let demand_total = demand.iter().map(|d| d.weight).sum();
    let covered_before = demand
        .iter()
        .zip(covered)
        .filter(|(_, c)| **c)
        .map(|(d, _)| d.weight)
        .sum();
    let cs = CoverSets::build(demand, covered, candidates, radius, max_pairs)?;
    let mut total = covered_before;
    let picks = celf(&cs, p)
        .into_iter()
        .map(|(candidate, gain)| {
            total += gain;
            Pick {
                candidate,
                gain,
                covered_total: total,
            }
        })
        .collect();
    Ok(Siting {
        demand_total,
        covered_before,
        covered_after: total,
        picks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Plain greedy: every candidate's gain recomputed every round.
    fn plain_greedy(cs: &CoverSets, p: usize) -> Vec<(usize, u64)> {
        let mut covered = vec![false; cs.weights.len()];
        let mut picks = Vec::new();
        while picks.len() < p {
            let best = (0..cs.sets.len())
                .map(|j| (cs.gain(j, &covered), Reverse(j)))
                .max();
            match best {
                Some((g, Reverse(j))) if g > 0 => {
                    cs.take(j, &mut covered);
                    picks.push((j, g));
                }
                _ => break,
            }
        }
        picks
    }

    /// The best coverage any `p` candidates reach, by trying every subset.
    fn optimum(cs: &CoverSets, p: usize) -> u64 {
        let n = cs.sets.len();
        (0u32..1 << n)
            .filter(|m| m.count_ones() as usize <= p)
            .map(|m| {
                let mut covered = vec![false; cs.weights.len()];
                (0..n)
                    .filter(|j| m & (1 << j) != 0)
                    .for_each(|j| cs.take(j, &mut covered));
                covered
                    .iter()
                    .zip(&cs.weights)
                    .filter(|(c, _)| **c)
                    .map(|(_, w)| w)
                    .sum()
            })
            .max()
            .unwrap_or(0)
    }

    fn sets() -> impl Strategy<Value = (CoverSets, usize)> {
        (1usize..14, 1usize..10).prop_flat_map(|(nd, nc)| {
            (
                prop::collection::vec(0u64..6, nd),
                prop::collection::vec(prop::collection::btree_set(0..nd as u32, 0..=nd.min(5)), nc),
                1usize..5,
            )
                .prop_map(|(weights, sets, p)| {
                    let sets = sets.into_iter().map(|s| s.into_iter().collect()).collect();
                    (CoverSets { weights, sets }, p)
                })
        })
    }

    fn lon_lat() -> impl Strategy<Value = LonLat> {
        (116.0..116.2f64, 39.8..40.0f64).prop_map(|(lon, lat)| LonLat::new(lon, lat).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// CELF picks what plain greedy picks, and reaches (1 − 1/e) of the optimum.
        #[test]
        fn celf_is_greedy_and_near_optimal((cs, p) in sets()) {
            let lazy = celf(&cs, p);
            prop_assert_eq!(&lazy, &plain_greedy(&cs, p));
            let got: u64 = lazy.iter().map(|(_, g)| g).sum();
            let best = optimum(&cs, p);
            prop_assert!(got as f64 >= (1.0 - 1.0 / std::f64::consts::E) * best as f64 - 1e-9,
                "greedy {got} vs optimum {best}");
            // Submodular: gains never grow.
            prop_assert!(lazy.windows(2).all(|w| w[0].1 >= w[1].1));
        }

        /// Through the geometry: the cover sets are exactly the brute-force ones, and
        /// the totals add up.
        #[test]
        fn geometric_instances(
            demand in prop::collection::vec((lon_lat(), 0u64..100), 1..40),
            candidates in prop::collection::vec(lon_lat(), 1..12),
            covered in prop::collection::vec(any::<bool>(), 0..40),
            radius in 500.0..6_000.0f64,
            p in 1usize..6,
        ) {
            let r = Radius::new(radius).unwrap();
            let d: Vec<Demand> = demand.iter().map(|(ll, w)| Demand { xyz: sphere::unit_vector(*ll), weight: *w }).collect();
            let c: Vec<[f64; 3]> = candidates.iter().map(|ll| sphere::unit_vector(*ll)).collect();
            let cs = CoverSets::build(&d, &covered, &c, r, u64::MAX).unwrap();
            for (j, set) in cs.sets.iter().enumerate() {
                let brute: Vec<u32> = demand.iter().enumerate()
                    .filter(|(i, (ll, w))| *w > 0 && !covered.get(*i).copied().unwrap_or(false)
                        && sphere::haversine_m(candidates[j], *ll) <= radius)
                    .map(|(i, _)| i as u32)
                    .collect();
                let near_edge = demand.iter().any(|(ll, _)| (sphere::haversine_m(candidates[j], *ll) - radius).abs() < 1e-3);
                if !near_edge {
                    prop_assert_eq!(set, &brute);
                }
            }
            let s = site(&d, &covered, &c, r, p, u64::MAX).unwrap();
            prop_assert_eq!(s.demand_total, demand.iter().map(|(_, w)| w).sum::<u64>());
            prop_assert!(s.covered_before <= s.covered_after && s.covered_after <= s.demand_total);
            let gains: u64 = s.picks.iter().map(|p| p.gain).sum();
            prop_assert_eq!(s.covered_before + gains, s.covered_after);
            prop_assert_eq!(s.picks.last().map_or(s.covered_before, |p| p.covered_total), s.covered_after);
        }
    }

    #[test]
    fn pairs_over_the_cap_are_refused() {
        let pts: Vec<Demand> = (0..50)
            .map(|i| Demand {
                xyz: sphere::unit_vector(LonLat::new(116.0 + i as f64 * 1e-4, 39.9).unwrap()),
                weight: 1,
            })
            .collect();
        let c: Vec<[f64; 3]> = pts.iter().map(|d| d.xyz).collect();
        let r = Radius::new(10_000.0).unwrap();
        assert_eq!(
            CoverSets::build(&pts, &[], &c, r, 100),
            Err(CoverageError::TooManyPairs { cap: 100 })
        );
        // Under twice the cap passes the sample and is caught while counting.
        assert_eq!(
            CoverSets::build(&pts, &[], &c, r, 2_000),
            Err(CoverageError::TooManyPairs { cap: 2_000 })
        );
        assert!(CoverSets::build(&pts, &[], &c, r, 2_500).is_ok());
    }

    #[test]
    fn weights_parse() {
        assert_eq!("parks".parse(), Ok(Weight::Parks));
        assert!("people".parse::<Weight>().is_err());
    }
}
