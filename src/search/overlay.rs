//! A generation's overlay over its base's search index: what the delta changes.
//!
//! The base's index ([`Core`]) is built once per base and shared by every
//! generation over it; a generation adds, the first time it is searched:
//! 1. a small [`Core`] of its own over the delta's facilities (the same lists and
//!    the same matching, so its answers rank as the base's do), searched beside
//!    the base's and merged with it (nearest first, then by id), the base's dead
//!    facilities (tombstones: replaced or deleted) turned away;
//! 2. the places the delta touches (the cities and districts of its facilities
//!    and of the dead ones), counted again: the base place's sums less the dead
//!    plus the delta's, its edges measured again over its live facilities when a
//!    dead one lay on them.
//!
//! Its cost is in proportion to the delta (a millisecond or so for a few hundred
//! edits), not to the data.

use std::collections::BTreeMap;

use super::places::{Extent, Place, PlaceKind};
use super::{Core, Field};
use crate::index::Atlas;
use crate::model::Facility;

/// A place's identity: kind, city (districts), name.
type Key<'a> = (u8, Option<&'a str>, &'a str);

/// The places a facility counts in: its city, and its district (with the city).
fn keys(f: &Facility) -> impl Iterator<Item = Key<'_>> {
    let city = f.city.as_deref();
    let district = f.district.as_deref();
    [
        city.map(|c| (PlaceKind::City as u8, None, c)),
        district.map(|d| (PlaceKind::District as u8, city, d)),
    ]
    .into_iter()
    .flatten()
}

/// What a generation's delta changes in its base's search index.
pub(super) struct Overlay {
    /// The delta's facilities (indexes into the delta's dataset).
    pub core: Core,
    /// The base's places the delta touched (indexes into its places), ascending:
    /// `places` holds what they are now.
    pub replaced: Vec<u32>,
    /// The touched places as they are now, new ones included, in key order.
    pub places: Vec<Place>,
}

impl Overlay {
    /// The overlay of `atlas`'s delta over `base`, the index of its base.
    pub fn new(atlas: &Atlas, base: &Core) -> Self {
        let delta = &atlas.delta_data().facilities;
        let refs: Vec<&Facility> = delta.iter().collect();
        let core = Core::new(&refs, true);

        // Each touched place's extent, and whether its edges must be measured again.
        let mut touched: BTreeMap<Key<'_>, (Extent, bool)> = BTreeMap::new();
        let start = |key: &Key<'_>| {
            base.place_index(key)
                .map_or_else(Extent::default, |i| base.places[i].extent)
        };
        for &b in atlas.dead_facilities() {
            let f = atlas.base_facility(b);
            for key in keys(f) {
                let (extent, edges) = touched.entry(key).or_insert_with(|| (start(&key), false));
                *edges |= extent.remove(f.position);
            }
        }
        for f in delta {
            for key in keys(f) {
                let (extent, _) = touched.entry(key).or_insert_with(|| (start(&key), false));
                extent.add(f.position);
            }
        }
        for (key, (extent, edges)) in touched.iter_mut() {
            if !*edges {
                continue;
            }
            extent.clear_edges();
            for f in delta.iter().filter(|f| keys(f).any(|k| k == *key)) {
                extent.widen(f.position);
            }
            let (field, name) = match key.0 {
                k if k == PlaceKind::City as u8 => (Field::City, key.2),
                _ => (Field::District, key.2),
            };
            let slot = base.value_of.get(name).and_then(|s| s[field as usize]);
            let Some(value) = slot.and_then(|s| base.values.get(s as usize)) else {
                continue;
            };
            let dead = atlas.dead_facilities();
            for &r in &value.ranks {
                let b = base.by_rank[r as usize];
                if dead.binary_search(&b).is_ok() {
                    continue;
                }
                let f = atlas.base_facility(b);
                if keys(f).any(|k| k == *key) {
                    extent.widen(f.position);
                }
            }
        }

        let mut replaced: Vec<u32> = touched
            .keys()
            .filter_map(|k| base.place_index(k))
            .map(|i| i as u32)
            .collect();
        replaced.sort_unstable();
        let places = touched
            .iter()
            .filter_map(|((kind, city, name), (extent, _))| {
                let kind = if *kind == PlaceKind::City as u8 {
                    PlaceKind::City
                } else {
                    PlaceKind::District
                };
                Place::new(kind, name, *city, extent)
            })
            .collect();
        Overlay {
            core,
            replaced,
            places,
        }
    }

    /// The generation's places: the base's the delta left alone, and the touched
    /// ones as they are now.
    pub fn places<'a>(&'a self, base: &'a Core) -> impl Iterator<Item = &'a Place> {
        (base.places.iter().enumerate())
            .filter(|(i, _)| self.replaced.binary_search(&(*i as u32)).is_err())
            .map(|(_, p)| p)
            .chain(&self.places)
    }
}

impl Core {
    /// The index of the place `key` in `places` (which are in key order).
    fn place_index(&self, key: &Key<'_>) -> Option<usize> {
        self.places.binary_search_by(|p| p.key().cmp(key)).ok()
    }
}
