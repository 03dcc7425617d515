//! Strings many records repeat (cities, districts, operators, sources, dates),
//! stored once and held by a thin pointer.
//!
//! A million facilities name a few hundred cities: each record keeps 8 bytes per
//! such field (an `Arc` to the one copy) instead of a 16-byte `Arc<str>` or its own
//! string. The table holds only weak references: a string no generation uses any
//! more (a city renamed by an edit) is freed with its last record, and the table
//! drops its dead entries as it grows, so live edits do not make it grow forever.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use serde::{Serialize, Serializer};

/// A shared, immutable string (compares and hashes by content).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shared(Arc<String>);

/// The one copy of each string in use, and the table size at the last sweep.
struct Table {
    strings: HashMap<Box<str>, Weak<String>>,
    swept_at: usize,
}

static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();

impl Shared {
    /// The one copy of `s`.
    pub fn new(s: &str) -> Self {
        let table = TABLE.get_or_init(|| {
            Mutex::new(Table {
                strings: HashMap::new(),
                swept_at: 0,
            })
        });
        // A poisoned lock only means another thread panicked mid-insert; the map
        // itself is still whole.
        let mut table = table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = table.strings.get(s).and_then(Weak::upgrade) {
            return Shared(found);
        }
        // Sweep the dead entries whenever the table has doubled since the last sweep:
        // amortised O(1) per insert, and the table stays within twice the live strings.
        if table.strings.len() >= 2 * table.swept_at.max(1024) {
            table.strings.retain(|_, w| w.strong_count() > 0);
            table.swept_at = table.strings.len();
        }
        let stored = Arc::new(s.to_owned());
        table.strings.insert(s.into(), Arc::downgrade(&stored));
        Shared(stored)
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many distinct strings the table holds, live or not yet swept (tests).
    #[cfg(test)]
    fn table_len() -> usize {
        TABLE.get().map_or(0, |t| {
            t.lock().unwrap_or_else(|e| e.into_inner()).strings.len()
        })
    }
}

impl Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Shared {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_per_string() {
        let a = Shared::new("临沂市");
        let b = Shared::new(&String::from("临沂市"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(&*a, "临沂市");
        assert_ne!(a, Shared::new("济南市"));
        assert_eq!(std::mem::size_of::<Option<Shared>>(), 8);
    }

    #[test]
    fn strings_no_record_holds_are_freed() {
        let before = Shared::table_len();
        for i in 0..10_000 {
            // Each edit names a city nobody keeps.
            drop(Shared::new(&format!("临时城市{i}")));
        }
        let kept = Shared::new("仍在使用");
        // The table swept what no record held: it did not grow by 10,000.
        assert!(
            Shared::table_len() < before + 4_000,
            "{}",
            Shared::table_len()
        );
        assert_eq!(&*kept, "仍在使用");
    }
}
