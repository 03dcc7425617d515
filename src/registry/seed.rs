//! Opening the store of record: created and seeded from a data directory the first
//! time, then read back into a validated dataset; and exporting it to the same
//! directory layout.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::geodata::snapshot::{self, Stamp};
use crate::geodata::{
    Change, Collection, Dataset, LoadError, load_collections, load_dir, read_calendar,
};
use crate::index::Atlas;
use crate::model::Layer;
use crate::store::{Store, StoreError};

use super::replay;

/// More changes than this replayed onto the snapshot at [`open`] and it writes the
/// snapshot again. At 1M a replay costs ~2 µs a change (4,000 in 8 ms), writing
/// the snapshot 1.5–2.5 s: for commands of about 1,000 rows each, a rewrite every
/// 20,000 changes keeps the replay under ~50 ms and spends a twentieth of
/// a write per command; it also prunes the tombstones when no server does.
pub(super) const REWRITE_AFTER: usize = 20_000;

/// Why the store could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The seed directory or the stored features do not validate.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
struct Features<'a> {
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    properties: Option<IdProps<'a>>,
}

#[derive(Deserialize)]
struct IdProps<'a> {
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// Opens the database `db`; when it does not exist yet, creates it and seeds it from
/// the data directory `seed` (validated whole first: bad seed data creates nothing).
/// Returns the store, its features (validated by the loader's rules against the
/// holiday calendar of `seed`, else the bundled one), whether it was created, and
/// the store generation the features are of.
///
/// For a command that writes a few rows (the CLI's `import`): it writes the
/// snapshot beside the database only when there is no usable one, or when more
/// than `REWRITE_AFTER` (20,000) changes were replayed onto it. A snapshot merely
/// behind (a server beside it writes its own in the background) is left: writing
/// one costs 1.5–2.5 s at 1M, replaying a few thousand changes milliseconds.
pub fn open(db: &Path, seed: &Path) -> Result<(Store, Dataset, bool, i64), OpenError> {
    let opened = open_replayed(db, seed)?;
    let mut data = opened.data;
    if !opened.replay.is_empty() {
        data = data.with_changes(&opened.replay, db)?;
    }
    if opened.snapshot.is_none() || opened.replay.len() > REWRITE_AFTER {
        write_snapshot(&opened.store, &data, opened.generation, seed);
    }
    Ok((opened.store, data, opened.created, opened.generation))
}

/// A database opened for serving (see [`load`]).
pub struct Loaded {
    /// The store.
    pub store: Store,
    /// Its features, indexed: a snapshot's with the changes since in the delta.
    pub atlas: Atlas,
    /// Whether the database was created (from the seed directory).
    pub created: bool,
    /// The store generation the features are of.
    pub generation: i64,
    /// The generation of the snapshot the features were read from, if any.
    pub snapshot: Option<i64>,
    /// How many changes since the snapshot were replayed onto it.
    pub replayed: usize,
}

/// [`open`] for the server: the features indexed, read from the snapshot beside the
/// database with the changes committed since replayed into the delta (a crash costs
/// only the replay), else from the whole database. Writes no snapshot: the caller
/// does, in the background, when [`Loaded::snapshot`] is not the generation.
pub fn load(db: &Path, seed: &Path) -> Result<Loaded, OpenError> {
    remove_unfinished_snapshots(db);
    let started = std::time::Instant::now();
    let opened = open_replayed(db, seed)?;
    let replayed = opened.replay.len();
    let read_time = started.elapsed();
    let atlas = Atlas::new(opened.data);
    let indexed = started.elapsed();
    let timed = |replay: std::time::Duration| {
        tracing::info!(
            read_s = read_time.as_secs_f64(),
            index_s = (indexed - read_time).as_secs_f64(),
            replay_s = replay.as_secs_f64(),
            replayed,
            "loaded"
        );
    };
    let atlas = if opened.replay.is_empty() {
        timed(std::time::Duration::ZERO);
        atlas
    } else {
        let replaying = std::time::Instant::now();
        let replayed_atlas = atlas.with_changes(&opened.replay, db);
        timed(replaying.elapsed());
        match replayed_atlas {
            Ok(atlas) => atlas,
            Err(e) => {
                // The database is the truth: read it whole (which reports the same
                // problems if they are its own).
                tracing::warn!(
                    "cannot replay the changes since the snapshot ({e}); reading the database"
                );
                drop(atlas);
                let store = opened.store;
                let (data, generation) =
                    store.consistent(|s| Ok((read(s, seed), s.generation()?)))?;
                return Ok(Loaded {
                    store,
                    atlas: Atlas::new(data?),
                    created: opened.created,
                    generation,
                    snapshot: None,
                    replayed: 0,
                });
            }
        }
    };
    Ok(Loaded {
        store: opened.store,
        atlas,
        created: opened.created,
        generation: opened.generation,
        snapshot: opened.snapshot.map(|s| s.generation),
        replayed,
    })
}

/// Removes the temporary files of snapshots a killed process left unfinished
/// (`FILE.snapshot.PID.tmp`): those whose process is gone, or untouched for ten
/// minutes. Another process's write in flight (a CLI command beside a server, or
/// the other way round) is left alone.
fn remove_unfinished_snapshots(db: &Path) {
    let file = snapshot::database_snapshot(db);
    let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{name}.");
    for e in entries.flatten() {
        let n = e.file_name();
        if let Some(n) = n.to_str()
            && let Some(pid) = n
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".tmp"))
        {
            let writing = Path::new("/proc").join(pid).exists();
            let quiet = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(600));
            if !writing || quiet {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Writes the snapshot of `data`, the store's features as of `generation`, beside
/// the database (logged; a failure only means the next start reads more).
fn write_snapshot(
    store: &Store,
    data: &(impl snapshot::Records + ?Sized),
    generation: i64,
    calendar_dir: &Path,
) {
    match write_unless_newer(store, data, generation, calendar_dir, snapshot::Pace::Full) {
        Ok(Some(snapshot::Written::Wrote(path))) => tracing::info!("wrote {}", path.display()),
        Ok(_) => {}
        Err(e) => tracing::warn!("no snapshot written: {e}"),
    }
}

/// Writes the snapshot of `data`, which holds every commit of `store` through
/// `generation` (and perhaps later ones: replaying them again changes nothing),
/// beside the database, then prunes the tombstones no reader needs. Unless the
/// snapshot there already holds that commit or a later one of this database's
/// history: another process (the CLI beside a server, or the server beside the
/// CLI) may have written it meanwhile, and an older one never replaces it. What
/// was done; `None` when the store has no such commit.
pub(super) fn write_unless_newer(
    store: &Store,
    data: &(impl snapshot::Records + ?Sized),
    generation: i64,
    calendar_dir: &Path,
    pace: snapshot::Pace,
) -> Result<Option<snapshot::Written>, String> {
    let file = snapshot::database_snapshot(store.path());
    let Some(stamp) = store.stamp(generation).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let id = store.database_id().map_err(|e| e.to_string())?;
    let key = snapshot::database_key(&id, calendar_dir).map_err(|e| e.to_string())?;
    // Another history's snapshot (a copy restored over the file) is of no use.
    let newer = |there: Stamp| {
        there.generation >= generation
            && store.stamp(there.generation).ok().flatten() == Some(there)
    };
    let written = snapshot::write_database(&file, data, key, stamp, pace, newer)
        .map_err(|e| e.to_string())?;
    match &written {
        snapshot::Written::Wrote(_) => super::prune(store, generation),
        snapshot::Written::Kept(there) => tracing::info!(
            generation,
            kept = there.generation,
            "no snapshot written: {} holds this commit or a later one",
            file.display()
        ),
    }
    Ok(Some(written))
}

/// What [`open_replayed`] found.
struct Opened {
    store: Store,
    /// The features of the snapshot, or of the whole database.
    data: Dataset,
    /// The changes committed after the snapshot, to apply to `data` in order.
    replay: Vec<Change>,
    created: bool,
    /// The store generation `data` with `replay` is of.
    generation: i64,
    /// The commit of the snapshot `data` was read from, if it was.
    snapshot: Option<Stamp>,
}

/// Opens (creating and seeding it when missing) the database: the features of the
/// snapshot beside it and the changes since, or the whole database when there is no
/// usable snapshot.
fn open_replayed(db: &Path, seed: &Path) -> Result<Opened, OpenError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| OpenError::Io { path, source }
    };
    let created = !db.exists();
    if created {
        // Validate before creating anything.
        load_dir(seed)?;
    }
    let mut store = Store::open(db)?;
    if created {
        let mut rows = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(seed)
            .map_err(io(seed))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "geojson"))
            .collect();
        files.sort();
        for path in files {
            let stem = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .unwrap_or("");
            let Ok(layer) = stem.parse::<Layer>() else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let parsed: Features = serde_json::from_str(&text).map_err(|e| OpenError::Io {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?;
            for raw in parsed.features {
                let id = serde_json::from_str::<IdOnly>(raw.get())
                    .ok()
                    .and_then(|f| f.properties?.id)
                    .map(|id| id.into_owned())
                    .unwrap_or_default();
                rows.push((id, layer, raw.get().to_owned()));
            }
        }
        let n = store.seed(rows)?;
        tracing::info!(
            "created {} with {n} features from {}",
            db.display(),
            seed.display()
        );
    }
    if let Some((data, replay, generation, stamp)) = read_snapshot(&store, seed)? {
        return Ok(Opened {
            store,
            data,
            replay,
            created,
            generation,
            snapshot: Some(stamp),
        });
    }
    let (data, generation) = store.consistent(|s| Ok((read(s, seed), s.generation()?)))?;
    Ok(Opened {
        store,
        data: data?,
        replay: Vec::new(),
        created,
        generation,
        snapshot: None,
    })
}

/// The snapshot beside the database, if it is this database's (its id), of this
/// build and calendar, and of a commit in this database's history (its stamp) not
/// too far behind; with the changes committed since and the generation they bring
/// it to, all read in one read transaction. A snapshot of 1M features decodes in
/// about a second; validating the database takes seven.
#[allow(clippy::type_complexity)]
fn read_snapshot(
    store: &Store,
    calendar_dir: &Path,
) -> Result<Option<(Dataset, Vec<Change>, i64, Stamp)>, OpenError> {
    let file = snapshot::database_snapshot(store.path());
    let key = match snapshot::database_key(&store.database_id()?, calendar_dir) {
        Ok(key) => key,
        Err(why) => {
            tracing::warn!("no snapshot: {why}");
            return Ok(None);
        }
    };
    let found = store.consistent(|s| {
        let generation = s.generation()?;
        let mut ok: Result<bool, StoreError> = Ok(false);
        let read = snapshot::read_stamped(&file, calendar_dir, key, |stamp| {
            ok = replay::untrusted(s, stamp).map(|why| match why {
                Some(why) => {
                    tracing::warn!("{}: {why}; reading the database", file.display());
                    false
                }
                None => true,
            });
            matches!(ok, Ok(true))
        });
        ok?;
        match read {
            Ok((data, stamp)) => {
                let changes = replay::changes_since(s, stamp.generation)?;
                Ok(Some((data, changes, generation, stamp)))
            }
            Err(snapshot::SnapshotError::Stale) => Ok(None),
            Err(why) => {
                tracing::warn!("{}: {why}; reading the database", file.display());
                Ok(None)
            }
        }
    })?;
    if let Some((_, replay, generation, stamp)) = &found {
        tracing::info!(
            "features read from the snapshot {} (generation {}) and {} changes since (generation {generation})",
            file.display(),
            stamp.generation,
            replay.len()
        );
    }
    Ok(found)
}

/// The store's features, validated as the loader validates files.
pub fn read(store: &Store, calendar_dir: &Path) -> Result<Dataset, OpenError> {
    let (calendar, _) = read_calendar(calendar_dir).map_err(|source| OpenError::Io {
        path: calendar_dir.to_owned(),
        source,
    })?;
    let calendar = calendar.unwrap_or_else(|why| {
        tracing::warn!(
            "holiday calendar in {}: {why}; using the bundled one",
            calendar_dir.display()
        );
        crate::model::hours::Calendar::bundled()
    });
    let collections = Layer::ALL
        .iter()
        .map(|&layer| {
            Ok(Collection {
                label: store.path().join(layer.id()),
                layer,
                bytes: store.layer_collection(layer)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(load_collections(&collections, calendar)?)
}

/// Writes the store's features in the layout of `geodata/`: one
/// `LAYER.registry.geojson` FeatureCollection per layer, each feature exactly as
/// stored. Seeding a new database from the directory gives the same features.
pub fn export(store: &Store, out: &Path) -> Result<Vec<(PathBuf, usize)>, OpenError> {
    std::fs::create_dir_all(out).map_err(|source| OpenError::Io {
        path: out.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for layer in Layer::ALL {
        let features = store.features(Some(layer))?;
        let mut text = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
        for (i, (_, body)) in features.iter().enumerate() {
            if i > 0 {
                text.push_str(",\n");
            }
            text.push_str(body);
        }
        text.push_str("\n]}\n");
        let path = out.join(format!("{}.registry.geojson", layer.id()));
        std::fs::write(&path, text).map_err(|source| OpenError::Io {
            path: path.clone(),
            source,
        })?;
        written.push((path, features.len()));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::testing::{self, seed_dir, served, truth};
    use crate::store::{Op, Write};

    /// A courier station created as the API creates one.
    fn station(id: &str, name: &str, lon: f64) -> Write {
        testing::station(id, name, lon, Op::Create)
    }

    /// Some of everything, in `round`'s own commits: creates, a seed feature
    /// renamed, one deleted, one created and deleted, one deleted and created again.
    fn edit(store: &mut Store, round: &str) {
        let seeded = store.features(None).unwrap();
        let (renamed, _) = &seeded[3 + round.len()];
        let (gone, _) = &seeded[40 + round.len()];
        let (again, _) = &seeded[80 + round.len()];
        let stored = store.get(renamed).unwrap().unwrap();
        let mut body: serde_json::Value = serde_json::from_str(&stored.body).unwrap();
        body["properties"]["name"] = format!("改名 {round}").into();
        for i in 0..5 {
            let id = format!("cs-{round}-{i}");
            let w = station(&id, &format!("新站 {round} {i}"), 118.0 + i as f64 * 0.01);
            store.apply("t", None, &[w]).unwrap();
        }
        let writes = [
            Write::Put {
                id: renamed.clone(),
                layer: stored.layer,
                body: body.to_string(),
                expect: None,
                op: Op::Update,
            },
            Write::Delete {
                id: gone.clone(),
                expect: None,
                op: Op::Delete,
            },
        ];
        store.apply("t", None, &writes).unwrap();
        let brief = format!("cs-{round}-brief");
        store
            .apply("t", None, &[station(&brief, "短暂", 118.5)])
            .unwrap();
        let delete = |id: &str| Write::Delete {
            id: id.into(),
            expect: None,
            op: Op::Delete,
        };
        store.apply("t", None, &[delete(&brief)]).unwrap();
        store.apply("t", None, &[delete(again)]).unwrap();
        store
            .apply("t", None, &[station(again, "重建", 118.7)])
            .unwrap();
    }

    /// A snapshot older than the last write plus the changes since serve exactly
    /// what reading the whole database serves: every id, every field.
    #[test]
    fn a_snapshot_and_the_changes_since_are_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("w.db");
        let (mut store, _, created, first) = open(&db, &seed).unwrap();
        assert!(created);
        let file = snapshot::database_snapshot(&db);
        assert_eq!(snapshot::stamp_of(&file).unwrap().generation, first);
        edit(&mut store, "a");
        let loaded = load(&db, &seed).unwrap();
        assert_eq!(loaded.snapshot, Some(first));
        assert_eq!(loaded.generation, store.generation().unwrap());
        assert!(loaded.replayed >= 8, "{}", loaded.replayed);
        assert_eq!(served(&loaded.atlas), truth(&db, &seed));
        // A snapshot in between, then more writes.
        let middle = loaded.generation;
        write_snapshot(&store, &loaded.atlas, middle, &seed);
        edit(&mut store, "bb");
        let loaded = load(&db, &seed).unwrap();
        assert_eq!(loaded.snapshot, Some(middle));
        assert_eq!(served(&loaded.atlas), truth(&db, &seed));
        // `open` (the CLI's) gives the same.
        let (_, data, _, _) = open(&db, &seed).unwrap();
        assert_eq!(served(&Atlas::new(data)), truth(&db, &seed));
    }

    /// `open` (the CLI's, for a command that writes a few rows) writes the snapshot
    /// only when there is no usable one or many changes were replayed onto it: one
    /// merely behind is left for the server (or a later command) to write.
    #[test]
    fn open_writes_the_snapshot_only_when_none_or_far_behind() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("o.db");
        let file = snapshot::database_snapshot(&db);
        let (mut store, _, _, first) = open(&db, &seed).unwrap();
        assert_eq!(snapshot::stamp_of(&file).unwrap().generation, first);
        edit(&mut store, "a");
        let (_, data, _, generation) = open(&db, &seed).unwrap();
        assert!(generation > first);
        assert_eq!(snapshot::stamp_of(&file).unwrap().generation, first);
        assert_eq!(served(&Atlas::new(data)), truth(&db, &seed));
        // None: written.
        std::fs::remove_file(&file).unwrap();
        drop(open(&db, &seed).unwrap());
        assert_eq!(snapshot::stamp_of(&file).unwrap().generation, generation);
        // Far behind: written again.
        let many: Vec<Write> = (0..=REWRITE_AFTER)
            .map(|i| station(&format!("cs-many-{i}"), "多", 100.0 + i as f64 * 1e-4))
            .collect();
        store.apply("t", None, &many).unwrap();
        let (_, data, _, now) = open(&db, &seed).unwrap();
        assert_eq!(snapshot::stamp_of(&file).unwrap().generation, now);
        assert_eq!(
            data.facilities.len(),
            truth(&db, &seed).len() - data.parks.len()
        );
    }

    /// A snapshot older than the pruned horizon is not replayed onto (its deletes
    /// are gone): the database is read whole, and serves the same.
    #[test]
    fn a_snapshot_older_than_the_pruned_horizon_is_not_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let db = dir.path().join("p.db");
        let (mut store, _, _, first) = open(&db, &seed).unwrap();
        edit(&mut store, "a");
        let now = store.generation().unwrap();
        let pruned = store.prune(now, 0).unwrap();
        assert!(pruned.horizon > first && pruned.tombstones > 0);
        assert_eq!(
            snapshot::stamp_of(&snapshot::database_snapshot(&db))
                .unwrap()
                .generation,
            first
        );
        let loaded = load(&db, &seed).unwrap();
        assert_eq!(loaded.snapshot, None);
        assert_eq!(loaded.generation, now);
        assert_eq!(served(&loaded.atlas), truth(&db, &seed));
    }

    /// The snapshot of a copy of the database that went its own way, of another
    /// database, or a damaged one is never used: the database is read whole.
    #[test]
    fn snapshots_of_another_history_or_damaged_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_dir(dir.path());
        let a = dir.path().join("a.db");
        let b = dir.path().join("b.db");
        let (store, _, _, _) = open(&a, &seed).unwrap();
        drop(store);
        // A plain copy (a restored backup): same id, same history so far.
        std::fs::copy(&a, &b).unwrap();
        let mut store_a = Store::open(&a).unwrap();
        edit(&mut store_a, "a");
        let loaded = load(&a, &seed).unwrap();
        write_snapshot(&store_a, &loaded.atlas, loaded.generation, &seed);
        let a_stamp = snapshot::stamp_of(&snapshot::database_snapshot(&a)).unwrap();
        let mut store_b = Store::open(&b).unwrap();
        edit(&mut store_b, "bb");
        edit(&mut store_b, "ccc");
        assert!(store_b.generation().unwrap() > a_stamp.generation);
        let b_snapshot = snapshot::database_snapshot(&b);
        std::fs::copy(snapshot::database_snapshot(&a), &b_snapshot).unwrap();
        let loaded = load(&b, &seed).unwrap();
        assert_eq!(loaded.snapshot, None, "another history's snapshot was used");
        assert_eq!(served(&loaded.atlas), truth(&b, &seed));

        // Damaged: cut short, with its key and stamp intact.
        drop(open(&b, &seed).unwrap());
        assert_eq!(
            load(&b, &seed).unwrap().snapshot,
            Some(store_b.generation().unwrap())
        );
        let bytes = std::fs::read(&b_snapshot).unwrap();
        std::fs::write(&b_snapshot, &bytes[..bytes.len() - 1000]).unwrap();
        let loaded = load(&b, &seed).unwrap();
        assert_eq!(loaded.snapshot, None);
        assert_eq!(served(&loaded.atlas), truth(&b, &seed));

        // Another database seeded from the same files.
        let c = dir.path().join("c.db");
        drop(open(&c, &seed).unwrap());
        std::fs::copy(
            snapshot::database_snapshot(&a),
            snapshot::database_snapshot(&c),
        )
        .unwrap();
        let loaded = load(&c, &seed).unwrap();
        assert_eq!(loaded.snapshot, None);
        assert_eq!(served(&loaded.atlas), truth(&c, &seed));
    }
}
