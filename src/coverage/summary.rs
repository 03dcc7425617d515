//! Totals per city or district: parks, enterprises and workers with their unionised
//! shares, facilities, and the share of parks and of workers within each layer's radius.
//!
//! Shares are taken over the parks where the counts they need are known: the unionised
//! share of enterprises over parks with both enterprise counts, of workers over parks
//! with both worker and member counts, the share of workers within reach over parks with
//! a worker count. Each share is `None` when no park has what it needs.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::{FacilityLayer, ParkCoverage, ParkFilter, PerLayer, Radii};
use crate::index::Atlas;
use crate::model::Shared;

/// How to group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// One group: everything selected.
    All,
    /// By city.
    City,
    /// By city and district.
    District,
}

impl FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(GroupBy::All),
            "city" => Ok(GroupBy::City),
            "district" => Ok(GroupBy::District),
            other => Err(format!("unknown group_by '{other}' (city, district, all)")),
        }
    }
}

/// The figures of one group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    /// The city (`None` for the whole, or for features with no city).
    pub city: Option<Shared>,
    /// The district (when grouping by district).
    pub district: Option<Shared>,
    /// Parks.
    pub parks: u32,
    /// Enterprises (parks with a known count).
    pub enterprises: u64,
    /// Enterprises of the parks where both enterprise counts are known.
    pub enterprises_with_unions_known: u64,
    /// Of which have a union.
    pub unionised_enterprises: u64,
    /// Workers (parks with a known count).
    pub workers: u64,
    /// Workers of the parks where both worker and member counts are known.
    pub workers_with_members_known: u64,
    /// Of which are union members.
    pub union_members: u64,
    /// Facilities of each layer in the group's area.
    pub facilities: PerLayer<u32>,
    /// Parks whose nearest facility of the layer is within its radius.
    pub parks_within: PerLayer<u32>,
    /// Workers of those parks (parks with a known count).
    pub workers_within: PerLayer<u64>,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Group {
    fn new(city: Option<Shared>, district: Option<Shared>) -> Self {
        Group {
            city,
            district,
            ..Default::default()
        }
    }

    /// Enterprises with a union per enterprise (建会率).
    pub fn unionised_enterprise_share(&self) -> Option<f64> {
        share(
            self.unionised_enterprises,
            self.enterprises_with_unions_known,
        )
    }

    /// Union members per worker (入会率).
    pub fn unionised_worker_share(&self) -> Option<f64> {
        share(self.union_members, self.workers_with_members_known)
    }

    /// Workers not (yet) in the union, over the parks where both counts are known.
    pub fn ununionised_workers(&self) -> u64 {
        self.workers_with_members_known
            .saturating_sub(self.union_members)
    }

    /// Share of parks within the layer's radius.
    pub fn parks_within_share(&self, l: FacilityLayer) -> Option<f64> {
        share(u64::from(self.parks_within[l]), u64::from(self.parks))
    }

    /// Share of workers within the layer's radius.
    pub fn workers_within_share(&self, l: FacilityLayer) -> Option<f64> {
        share(self.workers_within[l], self.workers)
    }

    fn add_park(&mut self, atlas: &Atlas, row: &ParkCoverage, radii: &Radii) {
        let c = atlas.park(row.park).counts;
        self.parks += 1;
        self.enterprises += u64::from(c.enterprises.unwrap_or(0));
        if let (Some(e), Some(u)) = (c.enterprises, c.unionised_enterprises) {
            self.enterprises_with_unions_known += u64::from(e);
            self.unionised_enterprises += u64::from(u.min(e));
        }
        self.workers += u64::from(c.workers.unwrap_or(0));
        if let (Some(w), Some(m)) = (c.workers, c.union_members) {
            self.workers_with_members_known += u64::from(w);
            self.union_members += u64::from(m.min(w));
        }
        for (l, d) in row.nearest_m.iter() {
            if d.is_some_and(|d| d <= radii[l].metres()) {
                self.parks_within[l] += 1;
                self.workers_within[l] += u64::from(c.workers.unwrap_or(0));
            }
        }
    }
}

/// The groups, sorted by key, and the total over all of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// One per city or district, by name (code point order; unnamed last).
    pub groups: Vec<Group>,
    /// Everything.
    pub total: Group,
}

type Key = (Option<Shared>, Option<Shared>);

/// Sums the parks' coverage rows (see [`super::parks`]) into groups, and counts the
/// facilities that pass the place conditions of `filter` (bbox, city, district) into
/// the total and into the group of their city or district. A group exists when at
/// least one of the rows falls in it.
pub fn summarise(
    atlas: &Atlas,
    rows: &[ParkCoverage],
    radii: &Radii,
    group_by: GroupBy,
    filter: &ParkFilter,
) -> Summary {
    let key = |c: &Option<Shared>, d: &Option<Shared>| -> Key {
        match group_by {
            GroupBy::All => (None, None),
            GroupBy::City => (c.clone(), None),
            GroupBy::District => (c.clone(), d.clone()),
        }
    };
    // `None` sorts first in a BTreeMap; named groups should lead.
    let mut groups: BTreeMap<(bool, Key), Group> = BTreeMap::new();
    let mut total = Group::new(None, None);
    for row in rows {
        let p = atlas.park(row.park);
        let k = key(&p.city, &p.district);
        groups
            .entry((k.0.is_none(), k.clone()))
            .or_insert_with(|| Group::new(k.0, k.1))
            .add_park(atlas, row, radii);
        total.add_park(atlas, row, radii);
    }
    for f in &atlas.data().facilities {
        let Ok(l) = FacilityLayer::new(f.layer) else {
            continue;
        };
        let named = |want: &Option<String>, have: &Option<Shared>| {
            want.as_deref().is_none_or(|w| have.as_deref() == Some(w))
        };
        let inside = filter.bbox.is_none_or(|b| b.contains(f.position));
        if !(inside && named(&filter.city, &f.city) && named(&filter.district, &f.district)) {
            continue;
        }
        total.facilities[l] += 1;
        let k = key(&f.city, &f.district);
        if let Some(g) = groups.get_mut(&(k.0.is_none(), k)) {
            g.facilities[l] += 1;
        }
    }
    Summary {
        groups: groups.into_values().collect(),
        total,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::coverage::{parks, test_data};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        /// The groups add up to the total, whatever the grouping; shares are shares.
        #[test]
        fn groups_add_up(atlas in test_data::atlas(), by in 0usize..3) {
            let group_by = [GroupBy::All, GroupBy::City, GroupBy::District][by];
            let radii = Radii::defaults();
            let filter = ParkFilter::default();
            let rows = parks(&atlas, &filter, &radii);
            let s = summarise(&atlas, &rows, &radii, group_by, &filter);
            let sum = |f: fn(&Group) -> u64| s.groups.iter().map(f).sum::<u64>();
            prop_assert_eq!(sum(|g| u64::from(g.parks)), u64::from(s.total.parks));
            prop_assert_eq!(s.total.parks as usize, atlas.data().parks.len());
            prop_assert_eq!(sum(|g| g.workers), s.total.workers);
            prop_assert_eq!(sum(|g| g.union_members), s.total.union_members);
            prop_assert_eq!(sum(|g| g.unionised_enterprises), s.total.unionised_enterprises);
            let facilities: u32 = s.total.facilities.iter().map(|(_, n)| *n).sum();
            prop_assert_eq!(facilities as usize, atlas.data().facilities.len());
            for g in s.groups.iter().chain([&s.total]) {
                for share in [g.unionised_enterprise_share(), g.unionised_worker_share()]
                    .into_iter()
                    .chain(FacilityLayer::ALL.map(|l| g.parks_within_share(l)))
                    .chain(FacilityLayer::ALL.map(|l| g.workers_within_share(l)))
                    .flatten()
                {
                    prop_assert!((0.0..=1.0).contains(&share), "{share}");
                }
            }
            if group_by == GroupBy::All {
                prop_assert_eq!(s.groups.len(), 1);
            }
        }
    }
}
