//! Strings many records repeat (cities, districts, operators, sources, dates),
//! stored once for the life of the process and held by a thin pointer.
//!
//! A million facilities name a few hundred cities: each record keeps 8 bytes per
//! such field instead of a 16-byte `Arc<str>`. The table only grows by strings not
//! seen before, so loading the same data again adds nothing.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

use serde::{Serialize, Serializer};

/// A shared, immutable string (compares and hashes by content).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shared(&'static String);

static TABLE: OnceLock<Mutex<HashMap<&'static str, &'static String>>> = OnceLock::new();

impl Shared {
    /// The one copy of `s`.
    pub fn new(s: &str) -> Self {
        let table = TABLE.get_or_init(Default::default);
        // A poisoned lock only means another thread panicked mid-insert; the map
        // itself is still whole (insert is the only write).
        let mut table = table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = table.get(s) {
            return Shared(found);
        }
        let stored: &'static String = Box::leak(Box::new(s.to_owned()));
        table.insert(stored.as_str(), stored);
        Shared(stored)
    }

    /// The string.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Shared {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
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
}
