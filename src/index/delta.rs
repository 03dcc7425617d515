//! The edits since the base was built: features written since (in the order a fold
//! of the same changes would give them) and tombstones over the base.
//!
//! A generation is an immutable base (the packed and lon/lat trees over a dataset)
//! plus one of these, small and rebuilt whole for each batch of changes: publishing
//! an edit copies the delta, never the base. The indexes a generation hands out are
//! those of the dataset the fold would give ([`Dataset::joined`]): the live base
//! records in base order, then the delta's. So `atlas.facility(i)` and
//! `atlas.data().facilities[i]` agree, and consumers need not know about deltas.

use super::packed::{Item, PackedTree};
use super::{layer_bit, sphere};
use crate::geodata::{Dataset, FeatureRef};

/// Features written since the base and tombstones over it.
#[derive(Debug)]
pub(super) struct Delta {
    /// The written features (created or replaced), with the schedules (the base's
    /// plus the new ones) and the fingerprint of the generation.
    pub data: Dataset,
    /// Base facility indexes written or deleted since, ascending.
    pub dead_facilities: Vec<u32>,
    /// Base park indexes written or deleted since, ascending.
    pub dead_parks: Vec<u32>,
    /// The delta's facilities as tree items (`id` = index into `data.facilities`),
    /// scanned by brute force beside the packed tree.
    pub items: Vec<Item>,
    /// The same items in a packed tree of their own, for the nearest walks.
    pub tree: PackedTree,
    /// Whether any change was folded in since the base (a delete of an unknown id
    /// included: the fingerprint moved).
    pub changed: bool,
}

impl Delta {
    /// No change over `base`.
    pub fn empty(base: &Dataset) -> Self {
        Delta {
            data: base.empty_like(),
            dead_facilities: Vec::new(),
            dead_parks: Vec::new(),
            items: Vec::new(),
            tree: PackedTree::default(),
            changed: false,
        }
    }

    /// The delta `data` over `base`, with these base indexes dead (any order,
    /// duplicates allowed).
    pub fn new(data: Dataset, mut dead_facilities: Vec<u32>, mut dead_parks: Vec<u32>) -> Self {
        dead_facilities.sort_unstable();
        dead_facilities.dedup();
        dead_parks.sort_unstable();
        dead_parks.dedup();
        let items = data
            .facilities
            .iter()
            .enumerate()
            .map(|(i, f)| Item {
                xyz: sphere::unit_vector(f.position),
                id: i as u32,
                mask: f.amenities.bits() | layer_bit(f.layer),
            })
            .collect::<Vec<_>>();
        Delta {
            tree: PackedTree::new(items.clone()),
            data,
            dead_facilities,
            dead_parks,
            items,
            changed: true,
        }
    }

    /// How many changes it holds (written features and tombstones): the measure of
    /// when to fold it into a new base.
    pub fn size(&self) -> usize {
        self.data.facilities.len()
            + self.data.parks.len()
            + self.dead_facilities.len()
            + self.dead_parks.len()
    }
}

/// The records of `all` whose indexes are not in the ascending `dead`, in order.
pub(super) fn live<'a, T>(all: &'a [T], dead: &'a [u32]) -> impl Iterator<Item = &'a T> + 'a {
    let mut d = 0;
    all.iter().enumerate().filter_map(move |(i, x)| {
        if d < dead.len() && dead[d] as usize == i {
            d += 1;
            None
        } else {
            Some(x)
        }
    })
}

/// Finds `id` in `delta` over a lower layer with `facilities` and `parks` live
/// records (`lower` looks it up there): the index it has seen through the delta.
pub(super) fn get(
    delta: &Delta,
    facilities: u32,
    parks: u32,
    id: &str,
    lower: impl FnOnce() -> Option<FeatureRef>,
) -> Option<FeatureRef> {
    match delta.data.get(id) {
        Some(FeatureRef::Facility(j)) => return Some(FeatureRef::Facility(facilities + j)),
        Some(FeatureRef::Park(j)) => return Some(FeatureRef::Park(parks + j)),
        None => {}
    }
    match lower()? {
        FeatureRef::Facility(b) if !is_dead(&delta.dead_facilities, b) => {
            Some(FeatureRef::Facility(live_of(&delta.dead_facilities, b)))
        }
        FeatureRef::Park(b) if !is_dead(&delta.dead_parks, b) => {
            Some(FeatureRef::Park(live_of(&delta.dead_parks, b)))
        }
        _ => None,
    }
}

/// Whether base index `b` is in the ascending `dead`.
pub(super) fn is_dead(dead: &[u32], b: u32) -> bool {
    !dead.is_empty() && dead.binary_search(&b).is_ok()
}

/// The generation index of the live base index `b`: `b` less the dead before it.
pub(super) fn live_of(dead: &[u32], b: u32) -> u32 {
    b - dead.partition_point(|&t| t < b) as u32
}

/// The base index of the generation index `l` (which must be below the number of
/// live base records). The `j`-th dead index `t_j` has `t_j - j` live records
/// before it, a non-decreasing sequence: the dead before the answer are those with
/// `t_j - j <= l`.
pub(super) fn base_of(dead: &[u32], l: u32) -> u32 {
    let (mut lo, mut hi) = (0usize, dead.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if dead[mid] - mid as u32 <= l {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    l + lo as u32
}

/// The base indexes `found` (ascending) that are not dead, as generation indexes.
pub(super) fn live_sorted(dead: &[u32], found: Vec<u32>) -> Vec<u32> {
    if dead.is_empty() {
        return found;
    }
    let mut out = Vec::with_capacity(found.len());
    let mut d = 0;
    for b in found {
        while d < dead.len() && dead[d] < b {
            d += 1;
        }
        if d < dead.len() && dead[d] == b {
            continue;
        }
        out.push(b - d as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index arithmetic against counting by hand.
    #[test]
    fn index_maps_agree_with_counting() {
        let dead = [0u32, 3, 4, 9];
        let live: Vec<u32> = (0..12).filter(|b| !dead.contains(b)).collect();
        for (l, &b) in live.iter().enumerate() {
            assert_eq!(base_of(&dead, l as u32), b);
            assert_eq!(live_of(&dead, b), l as u32);
            assert!(!is_dead(&dead, b));
        }
        assert!(dead.iter().all(|&b| is_dead(&dead, b)));
        assert_eq!(
            live_sorted(&dead, (0..12).collect()),
            (0..live.len() as u32).collect::<Vec<_>>()
        );
    }
}
