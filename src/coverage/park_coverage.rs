//! Park coverage: for each park, how far the nearest facility of each layer is, how
//! many lie within the layer's radius, who is left out of the union, and the gap score
//! (defined in the [module documentation](super)).
//!
//! 1. select the parks ([`ParkFilter`]: bbox through the lon/lat tree, then status,
//!    workers, city, district);
//! 2. per park, in parallel: one nearest query and one radius count per layer on the
//!    3-D trees (exact geodesic answers, see [`crate::index::sphere`]): the atlas's
//!    R-trees for a few parks, a k-d tree built for the request (see [`super::kd`])
//!    when the parks are many;
//! 3. [`sort`] by the requested key, nulls last, ties by park order.

use std::cmp::Ordering;
use std::str::FromStr;

use rayon::prelude::*;

use super::kd::KdTree;
use super::{FacilityLayer, PerLayer, Radii, shortfall};
use crate::index::{Atlas, BBox, sphere};
use crate::model::Shared;
use crate::model::{Layer, Park, UnionStatus};

/// Which parks to analyse; every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParkFilter {
    /// Any of these statuses (parks of unknown status never match a status filter).
    pub union_status: Option<Vec<UnionStatus>>,
    /// At least this many workers (parks with an unknown count never match).
    pub min_workers: Option<u32>,
    /// Inside this box.
    pub bbox: Option<BBox>,
    /// In this city (exact name, e.g. `临沂市`).
    pub city: Option<String>,
    /// In this district (exact name, e.g. `兰山区`).
    pub district: Option<String>,
}

impl ParkFilter {
    /// Whether `park` passes every condition.
    pub fn matches(&self, park: &Park) -> bool {
        let status_ok = self
            .union_status
            .as_ref()
            .is_none_or(|wanted| park.union_status.is_some_and(|s| wanted.contains(&s)));
        let workers_ok = self
            .min_workers
            .is_none_or(|min| park.counts.workers.is_some_and(|w| w >= min));
        let bbox_ok = self.bbox.is_none_or(|b| b.contains(park.position));
        let named = |want: &Option<String>, have: &Option<Shared>| {
            want.as_deref()
                .is_none_or(|w| have.as_deref().is_some_and(|h| h == w))
        };
        status_ok
            && workers_ok
            && bbox_ok
            && named(&self.city, &park.city)
            && named(&self.district, &park.district)
    }

    /// Indices of the matching parks, in index order.
    pub fn select(&self, atlas: &Atlas) -> Vec<u32> {
        let candidates = match &self.bbox {
            Some(b) => atlas.in_bbox(Layer::Park, b),
            None => (0..atlas.park_count() as u32).collect(),
        };
        candidates
            .into_iter()
            .filter(|i| self.matches(atlas.park(*i)))
            .collect()
    }
}

/// One park's coverage.
#[derive(Clone, Debug, PartialEq)]
pub struct ParkCoverage {
    /// Index into [`crate::geodata::Dataset::parks`].
    pub park: u32,
    /// Metres to the nearest facility of each layer; `None` when the layer is empty.
    pub nearest_m: PerLayer<Option<f64>>,
    /// Facilities of each layer within that layer's radius.
    pub count_within: PerLayer<u32>,
    /// `enterprises − unionised_enterprises`, when both are known.
    pub ununionised_enterprises: Option<u32>,
    /// `workers − union_members`, when both are known.
    pub ununionised_workers: Option<u32>,
    /// See the [module documentation](super); `None` when the un-unionised workers are unknown.
    pub gap_score: Option<f64>,
}

/// The gap score of a park from its un-unionised workers and nearest distances.
pub fn gap_score(
    ununionised_workers: Option<u32>,
    nearest_m: &PerLayer<Option<f64>>,
    radii: &Radii,
) -> Option<f64> {
    let left_out = f64::from(ununionised_workers?);
    let reach: f64 = nearest_m
        .iter()
        .map(|(l, d)| d.map_or(1.0, |d| (d / radii[l].metres()).min(1.0)))
        .sum();
    Some(left_out * reach / 3.0)
}

/// The coverage of every park that passes `filter`, in park order (computed in parallel).
pub fn parks(atlas: &Atlas, filter: &ParkFilter, radii: &Radii) -> Vec<ParkCoverage> {
    cover_parks(atlas, &filter.select(atlas), radii, None)
}

/// How one layer's questions are answered: by the atlas's R-tree, or by a k-d tree
/// built for this request (see [`super::kd`]) when the parks are many.
enum LayerIndex<'a> {
    Atlas(&'a Atlas, FacilityLayer),
    Kd(KdTree),
}

impl LayerIndex<'_> {
    fn nearest_chord2(&self, xyz: &[f64; 3]) -> Option<f64> {
        match self {
            LayerIndex::Atlas(a, l) => a.layer_nearest(l.layer(), *xyz).map(|(_, d2)| d2),
            LayerIndex::Kd(t) => t.nearest_chord2(xyz),
        }
    }

    fn count_within(&self, xyz: &[f64; 3], r2: f64) -> usize {
        match self {
            LayerIndex::Atlas(a, l) => a.layer_count_within(l.layer(), *xyz, r2),
            LayerIndex::Kd(t) => t.count_within(xyz, r2),
        }
    }
}

/// A k-d tree pays for itself once there are this many parks per facility or more:
/// building costs about one nearest-and-count per 64 facilities.
const KD_PARKS_PER_FACILITY: usize = 64;

/// The coverage of the given parks; `kd` forces (or forbids) the per-request k-d
/// trees, `None` lets the size decide.
fn cover_parks(
    atlas: &Atlas,
    selected: &[u32],
    radii: &Radii,
    kd: Option<bool>,
) -> Vec<ParkCoverage> {
    let index = |l: FacilityLayer| -> LayerIndex<'_> {
        let facilities = atlas
            .layer_stats()
            .iter()
            .find(|s| s.layer == l.layer())
            .map_or(0, |s| s.count);
        if kd.unwrap_or(selected.len() * KD_PARKS_PER_FACILITY >= facilities) {
            let points: Vec<[f64; 3]> = atlas
                .data()
                .facilities
                .par_iter()
                .filter(|f| f.layer == l.layer())
                .map(|f| sphere::unit_vector(f.position))
                .collect();
            LayerIndex::Kd(KdTree::new(points))
        } else {
            LayerIndex::Atlas(atlas, l)
        }
    };
    let [a, b, c] = FacilityLayer::ALL;
    let (ia, (ib, ic)) = rayon::join(|| index(a), || rayon::join(|| index(b), || index(c)));
    let indices = PerLayer([ia, ib, ic]);
    selected
        .par_iter()
        .map(|i| {
            let p = atlas.park(*i);
            let xyz = sphere::unit_vector(p.position);
            let nearest_m = PerLayer::from_fn(|l| {
                indices[l]
                    .nearest_chord2(&xyz)
                    .map(sphere::chord2_to_metres)
            });
            let count_within = PerLayer::from_fn(|l| {
                let n = indices[l].count_within(&xyz, radii[l].chord2());
                u32::try_from(n).unwrap_or(u32::MAX)
            });
            let ununionised_workers = shortfall(p.counts.workers, p.counts.union_members);
            ParkCoverage {
                park: *i,
                gap_score: gap_score(ununionised_workers, &nearest_m, radii),
                nearest_m,
                count_within,
                ununionised_enterprises: shortfall(
                    p.counts.enterprises,
                    p.counts.unionised_enterprises,
                ),
                ununionised_workers,
            }
        })
        .collect()
}

/// What to sort the parks by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// The gap score (default; largest first).
    GapScore,
    /// Workers (largest first).
    Workers,
    /// Un-unionised workers (largest first).
    UnunionisedWorkers,
    /// Enterprises (largest first).
    Enterprises,
    /// Un-unionised enterprises (largest first).
    UnunionisedEnterprises,
    /// Distance to the nearest facility of a layer (farthest first).
    Nearest(FacilityLayer),
    /// Name, by Unicode code point (A–Z first).
    Name,
    /// Id (A–Z first).
    Id,
}

impl SortKey {
    /// The natural direction: numbers largest first, text A–Z.
    pub fn default_order(self) -> Order {
        match self {
            SortKey::Name | SortKey::Id => Order::Asc,
            _ => Order::Desc,
        }
    }

    /// The ids accepted by [`FromStr`], for error messages.
    pub const IDS: &'static str = "gap_score, workers, ununionised_workers, enterprises, \
        ununionised_enterprises, nearest_driver_home, nearest_courier_station, \
        nearest_fitness_station, name, id";
}

impl FromStr for SortKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "gap_score" => SortKey::GapScore,
            "workers" => SortKey::Workers,
            "ununionised_workers" => SortKey::UnunionisedWorkers,
            "enterprises" => SortKey::Enterprises,
            "ununionised_enterprises" => SortKey::UnunionisedEnterprises,
            "name" => SortKey::Name,
            "id" => SortKey::Id,
            other => {
                let layer = other
                    .strip_prefix("nearest_")
                    .and_then(|l| l.parse::<FacilityLayer>().ok());
                match layer {
                    Some(l) => SortKey::Nearest(l),
                    None => {
                        return Err(format!("unknown sort key '{other}' ({})", SortKey::IDS));
                    }
                }
            }
        })
    }
}

impl std::fmt::Display for SortKey {
    /// The id [`FromStr`] reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SortKey::GapScore => f.write_str("gap_score"),
            SortKey::Workers => f.write_str("workers"),
            SortKey::UnunionisedWorkers => f.write_str("ununionised_workers"),
            SortKey::Enterprises => f.write_str("enterprises"),
            SortKey::UnunionisedEnterprises => f.write_str("ununionised_enterprises"),
            SortKey::Nearest(l) => write!(f, "nearest_{}", l.id()),
            SortKey::Name => f.write_str("name"),
            SortKey::Id => f.write_str("id"),
        }
    }
}

/// Sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Smallest / A first.
    Asc,
    /// Largest / Z first.
    Desc,
}

impl FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "asc" => Ok(Order::Asc),
            "desc" => Ok(Order::Desc),
            other => Err(format!("unknown order '{other}' (asc, desc)")),
        }
    }
}

/// Orders two optional values in `order`, with `None` last either way.
fn nulls_last<T: PartialOrd>(a: Option<T>, b: Option<T>, order: Order) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => {
            let o = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if order == Order::Desc { o.reverse() } else { o }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Sorts rows by `key` in `order`; unknown values last, ties in park order.
pub fn sort(rows: &mut [ParkCoverage], atlas: &Atlas, key: SortKey, order: Order) {
    let num = |r: &ParkCoverage| -> Option<f64> {
        let c = &atlas.park(r.park).counts;
        match key {
            SortKey::GapScore => r.gap_score,
            SortKey::Workers => c.workers.map(f64::from),
            SortKey::UnunionisedWorkers => r.ununionised_workers.map(f64::from),
            SortKey::Enterprises => c.enterprises.map(f64::from),
            SortKey::UnunionisedEnterprises => r.ununionised_enterprises.map(f64::from),
            // An empty layer is infinitely far: farthest of all.
            SortKey::Nearest(l) => Some(r.nearest_m[l].unwrap_or(f64::INFINITY)),
            SortKey::Name | SortKey::Id => None,
        }
    };
    let text = |r: &ParkCoverage| -> &str {
        let p = atlas.park(r.park);
        if key == SortKey::Name { &p.name } else { &p.id }
    };
    rows.par_sort_by(|a, b| {
        let o = match key {
            SortKey::Name | SortKey::Id => nulls_last(Some(text(a)), Some(text(b)), order),
            _ => nulls_last(num(a), num(b), order),
        };
        o.then(a.park.cmp(&b.park))
    });
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::coverage::{Radius, test_data};

    fn per(v: [Option<f64>; 3]) -> PerLayer<Option<f64>> {
        PerLayer(v)
    }

    #[test]
    fn gap_score_follows_the_formula() {
        let r = Radii::defaults(); // 20 km, 3 km, 5 km
        // At the gate of all three: nothing to travel.
        assert_eq!(gap_score(Some(100), &per([Some(0.0); 3]), &r), Some(0.0));
        // Half a radius to a driver home, out of reach of the rest: (0.5 + 1 + 1) / 3.
        let s = gap_score(Some(300), &per([Some(10_000.0), Some(9_000.0), None]), &r);
        assert_eq!(s, Some(300.0 * 2.5 / 3.0));
        // Unknown workers: no score; nobody left out: zero.
        assert_eq!(gap_score(None, &per([None; 3]), &r), None);
        assert_eq!(gap_score(Some(0), &per([None; 3]), &r), Some(0.0));
        // Bounded by the un-unionised workers, whatever the distance.
        let far = gap_score(Some(50), &per([Some(1e7); 3]), &r);
        assert_eq!(far, Some(50.0));
        let wider = PerLayer::from_fn(|_| Radius::new(1e5).unwrap());
        assert!(gap_score(Some(50), &per([Some(3e4); 3]), &wider) < far);
    }

    #[test]
    fn sort_keys_parse() {
        assert_eq!("gap_score".parse(), Ok(SortKey::GapScore));
        assert_eq!(
            "nearest_courier_station".parse(),
            Ok(SortKey::Nearest(FacilityLayer::ALL[1]))
        );
        assert!("nearest_park".parse::<SortKey>().is_err());
        assert!("size".parse::<SortKey>().is_err());
        assert_eq!(SortKey::Name.default_order(), Order::Asc);
        assert_eq!(SortKey::Workers.default_order(), Order::Desc);
    }

    #[test]
    fn nulls_sort_last_both_ways() {
        for order in [Order::Asc, Order::Desc] {
            assert_eq!(nulls_last(Some(1.0), None, order), Ordering::Less);
            assert_eq!(nulls_last(None, Some(1.0), order), Ordering::Greater);
        }
        assert_eq!(
            nulls_last(Some(1.0), Some(2.0), Order::Desc),
            Ordering::Greater
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Distances, counts and scores equal a brute-force haversine computation.
        #[test]
        fn coverage_equals_brute_force(
            atlas in test_data::atlas(),
            radii in prop::array::uniform3(100.0..40_000.0f64),
        ) {
            let radii = PerLayer::from_fn(|l| Radius::new(radii[l.slot()]).unwrap());
            let rows = parks(&atlas, &ParkFilter::default(), &radii);
            prop_assert_eq!(rows.len(), atlas.data().parks.len());
            // The atlas's R-trees and the per-request k-d trees give the same rows.
            let all: Vec<u32> = (0..atlas.data().parks.len() as u32).collect();
            prop_assert_eq!(&cover_parks(&atlas, &all, &radii, Some(false)), &rows);
            prop_assert_eq!(&cover_parks(&atlas, &all, &radii, Some(true)), &rows);
            for row in &rows {
                let park = atlas.park(row.park);
                for l in FacilityLayer::ALL {
                    let dists: Vec<f64> = atlas.data().facilities.iter()
                        .filter(|f| f.layer == l.layer())
                        .map(|f| sphere::haversine_m(park.position, f.position))
                        .collect();
                    let brute_min = dists.iter().copied().reduce(f64::min);
                    match (row.nearest_m[l], brute_min) {
                        (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-3, "{a} vs {b}"),
                        (a, b) => prop_assert_eq!(a, b),
                    }
                    let r = radii[l].metres();
                    // Points within a millimetre of the edge may fall either way.
                    if dists.iter().all(|d| (d - r).abs() > 1e-3) {
                        let brute = dists.iter().filter(|d| **d <= r).count() as u32;
                        prop_assert_eq!(row.count_within[l], brute);
                    }
                }
                let u = park.counts.workers.zip(park.counts.union_members).map(|(w, m)| w.saturating_sub(m));
                prop_assert_eq!(row.ununionised_workers, u);
                let expected = u.map(|u| {
                    f64::from(u) * FacilityLayer::ALL.iter()
                        .map(|l| row.nearest_m[*l].map_or(1.0, |d| (d / radii[*l].metres()).min(1.0)))
                        .sum::<f64>() / 3.0
                });
                prop_assert_eq!(row.gap_score, expected);
                prop_assert!(row.gap_score.is_none_or(|g| g >= 0.0 && g <= f64::from(u.unwrap_or(0)) + 1e-9));
            }
        }

        /// Sorting by gap score puts larger scores first and unknown ones last;
        /// filters keep exactly the parks that match.
        #[test]
        fn sort_and_filter(atlas in test_data::atlas(), min in 0u32..5_000) {
            let radii = Radii::defaults();
            let mut rows = parks(&atlas, &ParkFilter::default(), &radii);
            sort(&mut rows, &atlas, SortKey::GapScore, Order::Desc);
            let scores: Vec<Option<f64>> = rows.iter().map(|r| r.gap_score).collect();
            let known = scores.iter().take_while(|s| s.is_some()).count();
            prop_assert!(scores[known..].iter().all(Option::is_none));
            prop_assert!(scores[..known].windows(2).all(|w| w[0] >= w[1]));
            let f = ParkFilter { min_workers: Some(min), city: Some("甲市".into()), ..Default::default() };
            let kept = parks(&atlas, &f, &radii);
            let brute: Vec<u32> = (0..atlas.data().parks.len() as u32)
                .filter(|i| {
                    let p = atlas.park(*i);
                    p.counts.workers.is_some_and(|w| w >= min) && p.city.as_deref() == Some("甲市")
                })
                .collect();
            prop_assert_eq!(kept.iter().map(|r| r.park).collect::<Vec<_>>(), brute);
        }
    }
}
