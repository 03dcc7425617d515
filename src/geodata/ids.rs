//! The id → feature lookup. A hash table of [`FeatureRef`]s that keeps no copy of
//! the ids: it reads them from the records (a million facilities would otherwise
//! hold a million more strings).

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::FeatureRef;
use crate::model::{Facility, Park};

/// Ids of facilities and parks, pointing at their records.
#[derive(Debug, Default)]
pub struct IdIndex {
    table: HashTable<FeatureRef>,
    hasher: DefaultHashBuilder,
}

/// The id of the record `r` points at.
fn id_of<'a>(facilities: &'a [Facility], parks: &'a [Park], r: FeatureRef) -> &'a str {
    match r {
        FeatureRef::Facility(i) => facilities.get(i as usize).map_or("", |f| f.id()),
        FeatureRef::Park(i) => parks.get(i as usize).map_or("", |p| &p.id),
    }
}

impl IdIndex {
    /// Where `id` points, if anywhere.
    pub fn get(&self, id: &str, facilities: &[Facility], parks: &[Park]) -> Option<FeatureRef> {
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |r| id_of(facilities, parks, *r) == id)
            .copied()
    }

    /// Adds the record `r` (already in `facilities` or `parks`) under its id; false
    /// (and nothing changes) if the id is taken.
    pub fn insert(&mut self, r: FeatureRef, facilities: &[Facility], parks: &[Park]) -> bool {
        let id = id_of(facilities, parks, r);
        let hash = self.hasher.hash_one(id);
        if self
            .table
            .find(hash, |o| id_of(facilities, parks, *o) == id)
            .is_some()
        {
            return false;
        }
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, r, |o| hasher.hash_one(id_of(facilities, parks, *o)));
        true
    }

    /// Every record of `facilities` and `parks`; later duplicates are left out.
    pub fn of(facilities: &[Facility], parks: &[Park]) -> Self {
        let mut index = IdIndex {
            table: HashTable::with_capacity(facilities.len() + parks.len()),
            hasher: DefaultHashBuilder::default(),
        };
        let refs = (0..facilities.len() as u32)
            .map(FeatureRef::Facility)
            .chain((0..parks.len() as u32).map(FeatureRef::Park));
        for r in refs {
            index.insert(r, facilities, parks);
        }
        index
    }
}
