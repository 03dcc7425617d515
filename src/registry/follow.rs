//! Following another process's writes (the CLI's `import`, `purge`) while serving:
//! the features written and deleted since the last commit the server has seen are
//! read ([`replay()`]: the check and read of [`super::replay`], as a start after a
//! crash makes onto its snapshot) and published as a delta, in proportion to the
//! change. The whole database is read again only when the replay cannot be trusted
//! ([`Followed::Untrusted`]).

use std::path::Path;

use crate::geodata::Change;
use crate::store::{Stamp, Store, StoreError};

/// What the server had seen of the database when it last held all of it: checked
/// again before a replay, so that a replay is only ever made onto the same history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Seen {
    /// The database's id (a backup restored over the file has another).
    pub database_id: String,
    /// Its schema version (a newer binary may have upgraded it).
    pub schema: i64,
    /// The commit through which the served data holds every change; `None` when
    /// unknown (then the next follow reads the database whole).
    pub stamp: Option<Stamp>,
}

impl Seen {
    /// What `store` is now, as of its commit `generation`.
    pub fn of(store: &Store, generation: i64) -> Result<Seen, StoreError> {
        Ok(Seen {
            database_id: store.database_id()?,
            schema: store.schema_version()?,
            stamp: store.stamp(generation)?,
        })
    }
}

/// The outcome of [`replay`].
#[derive(Debug)]
pub(super) enum Followed {
    /// The changes since the commit seen, to apply in order onto the data served,
    /// and the commit they bring it to.
    Replayed {
        changes: Vec<Change>,
        generation: i64,
        stamp: Option<Stamp>,
    },
    /// The replay cannot be trusted: why (the database must be read whole).
    Untrusted(String),
}

/// Reads, in one read transaction on a connection of its own, what changed in the
/// database `db` since the commit `seen` — or why that cannot be trusted: another
/// database id or schema, the commit seen gone or not the same (a copy of another
/// history restored over the file), its changes pruned, or more of them than
/// reading the whole database costs.
pub(super) fn replay(db: &Path, seen: &Seen) -> Result<Followed, StoreError> {
    let store = Store::open(db)?;
    store.consistent(|s| {
        let Some(stamp) = seen.stamp else {
            return Ok(Followed::Untrusted(
                "the commit last seen is unknown".into(),
            ));
        };
        let database_id = s.database_id()?;
        if database_id != seen.database_id {
            return Ok(Followed::Untrusted(format!(
                "the database id changed from {} to {database_id}",
                seen.database_id
            )));
        }
        let schema = s.schema_version()?;
        if schema != seen.schema {
            return Ok(Followed::Untrusted(format!(
                "the schema changed from version {} to {schema}",
                seen.schema
            )));
        }
        if let Some(why) = super::replay::untrusted(s, stamp)? {
            return Ok(Followed::Untrusted(why));
        }
        let generation = s.generation()?;
        let changes = super::replay::changes_since(s, stamp.generation)?;
        Ok(Followed::Replayed {
            changes,
            generation,
            stamp: s.stamp(generation)?,
        })
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::geodata::snapshot;
    use crate::registry::testing::{self, seed_dir, served, truth};
    use crate::registry::{DELTA_MAX, Message, Published, Registry, load};
    use crate::store::{Op, Write};

    /// `served` is `expected`; else the ids that differ (not two whole maps).
    fn assert_same(served: &BTreeMap<String, String>, expected: &BTreeMap<String, String>) {
        let differ: Vec<&String> = served
            .keys()
            .chain(expected.keys())
            .filter(|id| served.get(*id) != expected.get(*id))
            .take(10)
            .collect();
        assert!(
            differ.is_empty(),
            "served differs from the database: {differ:?}"
        );
    }

    /// A courier station written as the CLI's import writes it.
    fn station(id: &str, name: &str, lon: f64) -> Write {
        testing::station(id, name, lon, Op::Import)
    }

    fn delete(id: &str) -> Write {
        Write::Delete {
            id: id.into(),
            expect: None,
            op: Op::Purge,
        }
    }

    /// Another process's commits: creates, a seeded feature renamed, seeded
    /// features deleted, one created and deleted, one deleted and created again.
    fn other_process(db: &Path, round: &str) {
        let mut other = Store::open(db).unwrap();
        let seeded = other.features(None).unwrap();
        let writes: Vec<Write> = (0..20)
            .map(|i| station(&format!("cs-{round}-{i}"), "导入", 118.0 + i as f64 * 0.01))
            .collect();
        other.apply("other", None, &writes).unwrap();
        let (renamed, body) = &seeded[3 + round.len()];
        let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
        body["properties"]["name"] = format!("改名 {round}").into();
        let layer = other.get(renamed).unwrap().unwrap().layer;
        let deletes: Vec<Write> = seeded[40 + round.len()..60 + round.len()]
            .iter()
            .map(|(id, _)| delete(id))
            .collect();
        other.apply("other", None, &deletes).unwrap();
        other
            .apply(
                "other",
                None,
                &[Write::Put {
                    id: renamed.clone(),
                    layer,
                    body: body.to_string(),
                    expect: None,
                    op: Op::Update,
                }],
            )
            .unwrap();
        let again = &seeded[100 + round.len()].0;
        other.apply("other", None, &[delete(again)]).unwrap();
        other
            .apply("other", None, &[station(again, "重建", 118.7)])
            .unwrap();
        other
            .apply("other", None, &[delete(&format!("cs-{round}-3"))])
            .unwrap();
    }

    /// A registry serving `db` as [`load`] reads it.
    fn serve(db: &Path, seed: &Path) -> Arc<Registry> {
        let loaded = load(db, seed).unwrap();
        let published = Published::default();
        published.store(Some(Arc::new(loaded.atlas)));
        Registry::start(loaded.store, published, loaded.generation, seed, DELTA_MAX)
    }

    /// Waits until the registry holds every commit of the database.
    fn caught_up(registry: &Registry, db: &Path) {
        let store = Store::open(db).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while registry.complete_generation.load(Ordering::SeqCst) < store.generation().unwrap() {
            assert!(std::time::Instant::now() < deadline, "not followed");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Another process's writes, interleaved with the registry's own, are followed
    /// by replaying them into the delta, never by reading the database whole, and
    /// what is served is then the database.
    #[test]
    fn another_process_is_followed_by_replay() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("f.db");
        let registry = serve(&db, &seed);
        other_process(&db, "a");
        registry
            .commit("own", None, &[station("cs-own-1", "自己", 119.0)])
            .unwrap();
        other_process(&db, "bb");
        registry.commit("own", None, &[delete("cs-bb-5")]).unwrap();
        caught_up(&registry, &db);
        let atlas = registry.atlas().unwrap();
        assert!(atlas.get("cs-own-1").is_some() && atlas.get("cs-bb-5").is_none());
        assert_same(&served(&atlas), &truth(&db, &seed));
        assert!(registry.follows().replays.load(Ordering::SeqCst) >= 1);
        assert_eq!(registry.follows().reloads.load(Ordering::SeqCst), 0);
    }

    /// This process's change whose message reaches the publisher after another
    /// process's newer write of the same feature was followed is not applied over
    /// it (the replay held it already): the newer write stays served.
    #[test]
    fn a_late_own_change_never_undoes_a_followed_write() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("f.db");
        let registry = serve(&db, &seed);
        let old = station("cs-late", "旧名", 119.0);
        registry
            .commit("own", None, std::slice::from_ref(&old))
            .unwrap();
        let own_generation = Store::open(&db).unwrap().generation().unwrap();
        let mut other = Store::open(&db).unwrap();
        other
            .apply("other", None, &[station("cs-late", "新名", 119.0)])
            .unwrap();
        caught_up(&registry, &db);
        // The own commit's message again, late, as when it was sent after the
        // watcher's follow had read past it.
        let Write::Put { layer, body, .. } = &old else {
            unreachable!()
        };
        registry.send(Message::Changes {
            changes: vec![Change::Put {
                layer: *layer,
                id: "cs-late".into(),
                feature: body.clone().into_bytes(),
            }],
            generation: own_generation,
            stamp: None,
        });
        // A later own commit is served only after the message before it.
        registry
            .commit("own", None, &[station("cs-after", "后来", 119.1)])
            .unwrap();
        caught_up(&registry, &db);
        let atlas = registry.atlas().unwrap();
        assert!(atlas.get("cs-after").is_some());
        assert_same(&served(&atlas), &truth(&db, &seed));
    }

    /// A server whose last commit seen was pruned from the change log reads the
    /// database whole, and serves it.
    #[test]
    fn a_pruned_past_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("f.db");
        let loaded = load(&db, &seed).unwrap();
        // Written and pruned past the commit loaded before the registry looks.
        other_process(&db, "a");
        let generation = Store::open(&db).unwrap().generation().unwrap();
        let pruned = Store::open(&db).unwrap().prune(generation, 0).unwrap();
        assert!(pruned.horizon > loaded.generation && pruned.tombstones > 0);
        let published = Published::default();
        published.store(Some(Arc::new(loaded.atlas)));
        let registry = Registry::start(loaded.store, published, loaded.generation, &seed, 1000);
        caught_up(&registry, &db);
        assert_same(&served(&registry.atlas().unwrap()), &truth(&db, &seed));
        assert_eq!(registry.follows().reloads.load(Ordering::SeqCst), 1);
        assert_eq!(registry.follows().replays.load(Ordering::SeqCst), 0);
    }

    /// The replay is refused, and says why, when the changes since the commit seen
    /// were pruned, when the file is another database (a backup restored over it),
    /// or a copy whose history went another way since.
    #[test]
    fn an_untrusted_replay_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let a = dir.path().join("a.db");
        drop(load(&a, &seed).unwrap());
        let seen = Seen::of(&Store::open(&a).unwrap(), 1).unwrap();
        assert!(matches!(
            replay(&a, &seen).unwrap(),
            Followed::Replayed { ref changes, generation: 1, .. } if changes.is_empty()
        ));
        // A copy that went its own way: same id, another commit 2.
        let b = dir.path().join("b.db");
        std::fs::copy(&a, &b).unwrap();
        other_process(&a, "a");
        other_process(&b, "bb");
        let untrusted = |db: &Path, seen: &Seen| match replay(db, seen).unwrap() {
            Followed::Untrusted(why) => why,
            Followed::Replayed { .. } => panic!("replayed"),
        };
        let seen_a = Seen::of(&Store::open(&a).unwrap(), 2).unwrap();
        assert!(untrusted(&b, &seen_a).contains("gone or another"));
        // Another database.
        let c = dir.path().join("c.db");
        Store::open(&a).unwrap().backup(&c).unwrap();
        assert!(untrusted(&c, &seen_a).contains("database id"));
        // Pruned past the commit seen.
        let store = Store::open(&a).unwrap();
        store.prune(store.generation().unwrap(), 0).unwrap();
        assert!(untrusted(&a, &seen_a).contains("pruned"));
    }

    /// `settle` returns only once another process's commits are served, even when
    /// this process committed after them (its own newest commit is published before
    /// theirs is followed, within the watcher's look and the replay).
    #[test]
    fn settle_waits_for_another_process_commits() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("s.db");
        let registry = serve(&db, &seed);
        let mut other = Store::open(&db).unwrap();
        for round in 0..5 {
            let theirs = format!("cs-other-{round}");
            other
                .apply("other", None, &[station(&theirs, "别人", 118.0)])
                .unwrap();
            let own = format!("cs-own-{round}");
            registry
                .commit("own", None, &[station(&own, "自己", 119.0)])
                .unwrap();
            assert!(registry.settle(std::time::Duration::from_secs(10)));
            let atlas = registry.atlas().unwrap();
            assert!(atlas.get(&own).is_some(), "round {round}");
            assert!(
                atlas.get(&theirs).is_some(),
                "round {round}: settled before another process's commit was served"
            );
        }
        assert_same(&served(&registry.atlas().unwrap()), &truth(&db, &seed));
    }

    /// The server's snapshot of an older commit (written slowly in the background,
    /// or at shutdown) never replaces the newer one another process (the CLI)
    /// wrote meanwhile, and the server then knows the newer one is there.
    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("n.db");
        let loaded = load(&db, &seed).unwrap();
        let older = loaded.generation;
        let registry = serve(&db, &seed);
        let atlas = registry.atlas().unwrap();
        // The CLI: writes, then opens (no snapshot there: it writes one).
        other_process(&db, "a");
        let file = snapshot::database_snapshot(&db);
        assert!(!file.exists());
        let (_, _, _, newer) = crate::registry::open(&db, &seed).unwrap();
        assert!(newer > older);
        let theirs = snapshot::stamp_of(&file).unwrap();
        assert_eq!(theirs.generation, newer);
        // The server's write of what it served before following them.
        let written = registry
            .snapshots
            .write(&atlas, older, snapshot::Pace::Full)
            .unwrap();
        assert_eq!(written, None);
        assert_eq!(snapshot::stamp_of(&file).unwrap(), theirs);
        assert_eq!(*registry.snapshots.on_disk(), Some(newer));
        // What it serves once caught up is the same commit: not written again.
        caught_up(&registry, &db);
        assert_eq!(registry.write_snapshot().unwrap(), None);
        assert_eq!(snapshot::stamp_of(&file).unwrap(), theirs);
        // A newer commit of its own is.
        registry
            .commit("own", None, &[station("cs-own-n", "自己", 119.0)])
            .unwrap();
        assert!(registry.settle(std::time::Duration::from_secs(10)));
        assert!(registry.write_snapshot().unwrap().is_some());
        assert_eq!(snapshot::stamp_of(&file).unwrap().generation, newer + 1);
    }
}
