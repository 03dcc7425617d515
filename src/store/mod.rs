//! The store of record: every feature, the editors' tokens, the audit log, the
//! imports with their row reports and the public's problem reports, in one
//! embedded SQLite database.
//!
//! This module is the only one that speaks SQL. Everything above it (the registry,
//! the CLI, the HTTP edge) sees [`Store`]'s methods: a PostgreSQL backend for
//! several replicas would implement the same methods.
//!
//! - Durability: WAL journal, `synchronous=FULL` (a committed write survives a
//!   power cut), foreign keys on, a busy timeout so the CLI and the server can share
//!   the file.
//! - The schema is versioned in code ([`MIGRATIONS`], `PRAGMA user_version`): a
//!   newer binary upgrades an older file on open, an older binary refuses a newer one.
//! - A feature is stored as the GeoJSON Feature that was validated (`body`), with its
//!   layer, a stable row id, and a version counting its writes.
//! - Every write goes to the audit log in the same transaction as the change.
//! - Every committed write transaction counts one generation (`meta`), is logged with
//!   a random nonce (`commit_log`), and marks what it wrote (`feature.generation`)
//!   and deleted (`tombstone`): [`Store::changes_since`] gives what changed after
//!   any generation, and a snapshot of that generation plus those changes is the
//!   store (see `registry::seed`); a running server follows another process's
//!   writes the same way (`registry::follow`).
//! - Tombstones and commit log entries no reader needs are pruned
//!   ([`Store::prune`]); the horizon is kept, and a replay from before it is refused
//!   ([`StoreError::Pruned`]) rather than missing deletes.

mod reports;
mod tokens;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

pub use reports::{Filed, MAX_NOTE_CHARS, Report, ReportKind, ReportLimit, ReportStatus};
pub use tokens::{Role, Token};

use crate::model::Layer;

/// The schema, one migration per version; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE feature (
    row_id  INTEGER PRIMARY KEY,          -- stable: never reused (AUTOINCREMENT below)
    id      TEXT NOT NULL UNIQUE,
    layer   TEXT NOT NULL CHECK (layer IN ('driver_home','courier_station','fitness_station','park')),
    body    TEXT NOT NULL,                -- the GeoJSON Feature as validated
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX feature_layer ON feature(layer, row_id);
CREATE TABLE token (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    role    TEXT NOT NULL CHECK (role IN ('editor','admin')),
    city    TEXT,
    hash    BLOB NOT NULL UNIQUE,         -- SHA-256 of the token; the token itself is never stored
    created TEXT NOT NULL,
    revoked TEXT
);
CREATE TABLE import (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    who       TEXT NOT NULL,
    layer     TEXT NOT NULL,
    crs       TEXT NOT NULL,
    source    TEXT,
    file_name TEXT,
    format    TEXT NOT NULL,
    dry_run   INTEGER NOT NULL,
    state     TEXT NOT NULL,              -- running, done, failed
    done      INTEGER NOT NULL DEFAULT 0,
    total     INTEGER NOT NULL DEFAULT 0,
    error     TEXT,
    file      BLOB NOT NULL               -- the user's file, for the report
);
CREATE TABLE import_row (
    import_id  INTEGER NOT NULL REFERENCES import(id) ON DELETE CASCADE,
    row        INTEGER NOT NULL,
    status     TEXT NOT NULL,             -- accepted, updated, unchanged, rejected
    reason     TEXT NOT NULL DEFAULT '',
    feature_id TEXT,
    warnings   TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, row)
);
CREATE TABLE audit (
    n          INTEGER PRIMARY KEY,
    feature_id TEXT NOT NULL,
    layer      TEXT NOT NULL,
    at         TEXT NOT NULL,
    who        TEXT NOT NULL,
    op         TEXT NOT NULL,             -- create, update, delete, revert, import, purge
    import_id  INTEGER REFERENCES import(id),
    before     TEXT,
    after      TEXT
);
CREATE INDEX audit_feature ON audit(feature_id, n);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('generation', '0');
"#,
    r#"
-- 2: problems the public reports from a station's page (see reports.rs)
CREATE TABLE report (
    id         INTEGER PRIMARY KEY,
    feature_id TEXT NOT NULL,             -- no foreign key: a report outlives its feature
    kind       TEXT NOT NULL CHECK (kind IN ('closed','wrong_hours','wrong_place','other')),
    note       TEXT CHECK (note IS NULL OR length(note) <= 500),
    at         TEXT NOT NULL,
    client     BLOB NOT NULL,             -- SHA-256 of report_salt and the sender's address, never the address
    closed_at  TEXT,
    closed_by  TEXT
);
CREATE INDEX report_client ON report(client, at);
CREATE INDEX report_open ON report(closed_at, id);
INSERT INTO meta VALUES ('report_salt', lower(hex(randomblob(16))));
"#,
    r#"
-- 3: what changed since a generation, so that a snapshot of an older generation
-- plus the changes since is the database (see `changes_since`)
ALTER TABLE feature ADD COLUMN generation INTEGER NOT NULL DEFAULT 0; -- the commit that last wrote it
CREATE INDEX feature_generation ON feature(generation);
CREATE TABLE tombstone (
    id         TEXT PRIMARY KEY,          -- a deleted feature (removed again when the id is written anew)
    generation INTEGER NOT NULL           -- the commit that deleted it
);
CREATE INDEX tombstone_generation ON tombstone(generation);
CREATE TABLE commit_log (
    generation INTEGER PRIMARY KEY,       -- one row per committed write transaction
    nonce      INTEGER NOT NULL           -- random: tells this history from a restored backup's
);
INSERT INTO commit_log SELECT CAST(value AS INTEGER), random() FROM meta WHERE key = 'generation';
INSERT INTO meta VALUES ('database_id', lower(hex(randomblob(16))));
"#,
];

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (disk, locking, a damaged file).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer waystation.
    #[error("{path}: schema version {found} is newer than this program's {known}")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this program knows.
        known: i64,
    },
    /// No feature (or token, import, history entry) of that name.
    #[error("{0}")]
    NotFound(String),
    /// The write conflicts with what is stored (id taken, stale version).
    #[error("{0}")]
    Conflict(String),
    /// Something stored is not what it should be.
    #[error("stored data damaged: {0}")]
    Damaged(String),
    /// The changes after `generation` are no longer all known: the tombstones
    /// through `horizon` were pruned (see [`Store::prune`]). Read the whole store.
    #[error(
        "the changes after generation {generation} are gone (pruned through generation {horizon})"
    )]
    Pruned {
        /// The generation asked about.
        generation: i64,
        /// The oldest generation whose changes since are all kept.
        horizon: i64,
    },
}

/// A feature as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The feature's id.
    pub id: String,
    /// Its layer.
    pub layer: Layer,
    /// The GeoJSON Feature.
    pub body: String,
    /// How many times it has been written (1 when created).
    pub version: i64,
}

/// A feature changed after some generation (see [`Store::changes_since`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Written (created or replaced): its state now.
    Put {
        /// The feature's id.
        id: String,
        /// Its layer.
        layer: Layer,
        /// The GeoJSON Feature.
        body: String,
    },
    /// Deleted, and not written since.
    Delete {
        /// The feature's id.
        id: String,
    },
}

/// What [`Store::prune`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruned {
    /// The oldest generation whose changes since are all kept.
    pub horizon: i64,
    /// Tombstones deleted.
    pub tombstones: usize,
    /// Commit log entries deleted.
    pub commits: usize,
}

/// Which commit a generation was: equal stamps from two databases (or one database
/// and a snapshot) mean the same history up to that generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The generation.
    pub generation: i64,
    /// The random nonce its commit was logged with.
    pub nonce: i64,
}

/// What an audited write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// A new feature.
    Create,
    /// A feature replaced or patched.
    Update,
    /// A feature removed (its last state stays in the log).
    Delete,
    /// A feature set back to an earlier state from the log.
    Revert,
    /// A feature created or changed by an import.
    Import,
    /// A generated demo feature removed by `waystation purge --synthetic`.
    Purge,
}

impl Op {
    fn id(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Revert => "revert",
            Op::Import => "import",
            Op::Purge => "purge",
        }
    }
}

/// One write of a transaction.
#[derive(Clone, Debug)]
pub enum Write {
    /// Store `body` under `id` (create, or replace the stored feature).
    Put {
        /// The feature's id.
        id: String,
        /// Its layer.
        layer: Layer,
        /// The GeoJSON Feature, validated.
        body: String,
        /// When given, the write applies only if the stored version is this one
        /// (`Some(0)`: only if no feature has this id).
        expect: Option<i64>,
        /// What to record in the log.
        op: Op,
    },
    /// Remove the feature `id`.
    Delete {
        /// The feature's id.
        id: String,
        /// As for [`Write::Put`].
        expect: Option<i64>,
        /// What to record in the log.
        op: Op,
    },
}

/// One entry of a feature's history.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// The entry's number (increasing over the whole log).
    pub n: i64,
    /// The feature.
    pub feature_id: String,
    /// Its layer at the time.
    pub layer: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The token's name, or the CLI command.
    pub who: String,
    /// What was done.
    pub op: String,
    /// The import that did it, if any.
    pub import_id: Option<i64>,
    /// The feature before (null when created).
    pub before: Option<serde_json::Value>,
    /// The feature after (null when deleted).
    pub after: Option<serde_json::Value>,
}

/// An import as recorded.
#[derive(Clone, Debug, Serialize)]
pub struct ImportRecord {
    /// Its id.
    pub id: i64,
    /// When it started.
    pub at: String,
    /// Who started it.
    pub who: String,
    /// The layer imported into.
    pub layer: String,
    /// The coordinate system of the file.
    pub crs: String,
    /// The `source` given to the features.
    pub source: Option<String>,
    /// The uploaded file's name, when known.
    pub file_name: Option<String>,
    /// `xlsx`, `csv` or `geojson`.
    pub format: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Rows handled so far.
    pub done: i64,
    /// Rows in the file.
    pub total: i64,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Rows that became new features.
    pub accepted: i64,
    /// Rows that changed a feature.
    pub updated: i64,
    /// Rows equal to what was stored.
    pub unchanged: i64,
    /// Rows refused.
    pub rejected: i64,
}

/// One row of an import's report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ImportRow {
    /// The row number as the user sees it in the sheet.
    pub row: i64,
    /// `accepted`, `updated`, `unchanged` or `rejected`.
    pub status: String,
    /// Why it was rejected (empty otherwise).
    pub reason: String,
    /// The feature the row became or matched.
    pub feature_id: Option<String>,
    /// Things accepted with a doubt (hours kept as text, unknown amenity words, …).
    pub warnings: Vec<String>,
}

/// The database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Now, as stored: RFC 3339 in UTC with milliseconds.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn layer_of(s: &str) -> Result<Layer, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Damaged(format!("unknown layer '{s}'")))
}

fn json_of(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A checkpoint leaves the WAL file at its largest (the seed's: the size of the
        // database) unless told otherwise; a crash then leaves it all on disk.
        conn.pragma_update(None, "journal_size_limit", 64i64 << 20)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many features are stored.
    pub fn feature_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM feature", [], |r| r.get(0))?)
    }

    /// Counts committed write transactions: equal generations mean equal features.
    pub fn generation(&self) -> Result<i64, StoreError> {
        let text: String =
            self.conn
                .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                    r.get(0)
                })?;
        text.parse()
            .map_err(|_| StoreError::Damaged(format!("generation '{text}'")))
    }

    /// The stamp of the commit that made `generation`, if this database made it
    /// (`None` for a generation it has not reached, or one before its log began).
    pub fn stamp(&self, generation: i64) -> Result<Option<Stamp>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT nonce FROM commit_log WHERE generation = ?1",
                [generation],
                |r| r.get(0),
            )
            .optional()?
            .map(|nonce| Stamp { generation, nonce }))
    }

    /// A random id given to the database when it was created (or upgraded to schema
    /// 3); a backup gets one of its own.
    pub fn database_id(&self) -> Result<String, StoreError> {
        Ok(self.conn.query_row(
            "SELECT value FROM meta WHERE key = 'database_id'",
            [],
            |r| r.get(0),
        )?)
    }

    /// The schema version of the file (`PRAGMA user_version`): a follower that sees
    /// it change (a newer binary upgraded the file) must read the store whole.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The oldest generation after which every change is still known: tombstones
    /// and commit log entries before it were pruned ([`Store::prune`]); 0 when none
    /// were. [`Store::changes_since`] of an older generation is refused.
    pub fn replay_horizon(&self) -> Result<i64, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'pruned_through'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match text {
            None => Ok(0),
            Some(t) => t
                .parse()
                .map_err(|_| StoreError::Damaged(format!("pruned_through '{t}'"))),
        }
    }

    /// [`StoreError::Pruned`] when the changes after `generation` are not all kept.
    fn check_replayable(&self, generation: i64) -> Result<(), StoreError> {
        let horizon = self.replay_horizon()?;
        if generation < horizon {
            return Err(StoreError::Pruned {
                generation,
                horizon,
            });
        }
        Ok(())
    }

    /// Forgets the tombstones and commit log entries no reader needs, and returns
    /// the new horizon with how many rows went (see [`Pruned`]).
    ///
    /// A reader replays from the generation of a snapshot, or of the last commit a
    /// running server has seen. The horizon is the older of `snapshot` (the
    /// generation of the newest snapshot written) and `retain_commits` commits
    /// before the newest; tombstones of that generation and before, and commit log
    /// entries before it, are deleted, and the horizon is kept in `meta` so that a
    /// reader from an older generation is told ([`StoreError::Pruned`]; its stamp is
    /// gone too) and reads the whole store instead, never a replay with deletes
    /// missing. The horizon never moves back. Features and the audit log are not
    /// touched, and no generation is counted: nothing served changes.
    pub fn prune(&self, snapshot: i64, retain_commits: i64) -> Result<Pruned, StoreError> {
        // Immediate: it reads the generation, then deletes; a deferred one would fail
        // at once (SQLITE_BUSY_SNAPSHOT) when another process commits in between.
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let generation: i64 = tx.query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'",
            [],
            |r| r.get(0),
        )?;
        let old = self.replay_horizon()?;
        let horizon = snapshot.min(generation - retain_commits.max(0));
        if horizon <= old {
            return Ok(Pruned {
                horizon: old,
                tombstones: 0,
                commits: 0,
            });
        }
        let tombstones = tx.execute("DELETE FROM tombstone WHERE generation <= ?1", [horizon])?;
        let commits = tx.execute("DELETE FROM commit_log WHERE generation < ?1", [horizon])?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('pruned_through', ?1)",
            [horizon.to_string()],
        )?;
        tx.commit()?;
        Ok(Pruned {
            horizon,
            tombstones,
            commits,
        })
    }

    /// How many features were written or deleted after `generation`
    /// ([`StoreError::Pruned`] when that is no longer known).
    pub fn changes_since_count(&self, generation: i64) -> Result<i64, StoreError> {
        self.check_replayable(generation)?;
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM feature WHERE generation > ?1)
                  + (SELECT count(*) FROM tombstone WHERE generation > ?1)",
            [generation],
            |r| r.get(0),
        )?)
    }

    /// Every feature written or deleted after `generation`, in its state now: the
    /// deletes first, then the writes in commit order. Applied in this order to the
    /// features as of `generation`, they give the features now (a feature deleted
    /// and written again is only written; one written and deleted only deleted).
    /// Read it inside [`Store::consistent`] with the generation it brings you to.
    /// [`StoreError::Pruned`] when the deletes after `generation` were pruned.
    pub fn changes_since(&self, generation: i64) -> Result<Vec<Changed>, StoreError> {
        self.check_replayable(generation)?;
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM tombstone WHERE generation > ?1 ORDER BY generation, id",
        )?;
        for id in stmt.query_map([generation], |r| r.get(0))? {
            out.push(Changed::Delete { id: id? });
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, layer, body FROM feature WHERE generation > ?1 ORDER BY generation, row_id",
        )?;
        let rows = stmt.query_map([generation], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, layer, body) = row?;
            out.push(Changed::Put {
                id,
                layer: layer_of(&layer)?,
                body,
            });
        }
        Ok(out)
    }

    /// Runs `read` inside one read transaction: everything it reads is of the same
    /// generation, whatever other connections commit meanwhile.
    pub fn consistent<T>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.execute_batch("BEGIN DEFERRED")?;
        let result = read(self);
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.conn.execute_batch(end)?;
        result
    }

    /// Every feature of `layer` as one GeoJSON FeatureCollection, in row order.
    pub fn layer_collection(&self, layer: Layer) -> Result<Vec<u8>, StoreError> {
        let mut out = br#"{"type":"FeatureCollection","features":["#.to_vec();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM feature WHERE layer = ?1 ORDER BY row_id")?;
        let mut rows = stmt.query([layer.id()])?;
        let mut first = true;
        while let Some(row) = rows.next()? {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(
                row.get_ref(0)?
                    .as_str()
                    .map_err(rusqlite::Error::from)?
                    .as_bytes(),
            );
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }

    /// One feature.
    pub fn get(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, layer, body, version FROM feature WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, layer, body, version)| {
            Ok(Stored {
                id,
                layer: layer_of(&layer)?,
                body,
                version,
            })
        })
        .transpose()
    }

    /// Features of `layer` (all layers when `None`) as `(id, body)`, in row order.
    pub fn features(&self, layer: Option<Layer>) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, body FROM feature WHERE ?1 IS NULL OR layer = ?1 ORDER BY row_id",
        )?;
        let rows = stmt.query_map([layer.map(Layer::id)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Applies `writes` in one transaction, each with its audit entry, all or none;
    /// returns the stored state of each written feature (`None` for a delete).
    pub fn apply(
        &mut self,
        who: &str,
        import_id: Option<i64>,
        writes: &[Write],
    ) -> Result<Vec<Option<Stored>>, StoreError> {
        let tx = self.conn.transaction()?;
        let generation = next_generation(&tx)?;
        let at = now();
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            out.push(apply_one(&tx, &at, who, import_id, generation, w)?);
        }
        tx.commit()?;
        Ok(out)
    }

    /// Fills an empty store with its first features, `(id, layer, body)`, already
    /// validated together: one transaction, no audit entries (the seed is where the
    /// history starts).
    pub fn seed(
        &mut self,
        features: impl IntoIterator<Item = (String, Layer, String)>,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let generation = next_generation(&tx)?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO feature (id, layer, body, generation) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (id, layer, body) in features {
                stmt.execute(params![id, layer.id(), body, generation])?;
                n += 1;
            }
        }
        tx.commit()?;
        // The seed went through the WAL whole: move it into the database and
        // truncate the WAL now rather than keep a second copy beside it.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(n)
    }

    /// A feature's history, oldest first (deleted features keep theirs).
    pub fn history(&self, id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT n, feature_id, layer, at, who, op, import_id, before, after FROM audit
             WHERE feature_id = ?1 ORDER BY n",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(AuditEntry {
                n: r.get(0)?,
                feature_id: r.get(1)?,
                layer: r.get(2)?,
                at: r.get(3)?,
                who: r.get(4)?,
                op: r.get(5)?,
                import_id: r.get(6)?,
                before: json_of(r.get(7)?),
                after: json_of(r.get(8)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a new import (state `running`) and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn create_import(
        &mut self,
        who: &str,
        layer: Layer,
        crs: &str,
        source: Option<&str>,
        file_name: Option<&str>,
        format: &str,
        dry_run: bool,
        file: &[u8],
    ) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO import (at, who, layer, crs, source, file_name, format, dry_run, state, file)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running', ?9)",
            params![now(), who, layer.id(), crs, source, file_name, format, dry_run, file],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records an import's progress.
    pub fn import_progress(&self, id: i64, done: usize, total: usize) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE import SET done = ?2, total = ?3 WHERE id = ?1",
            params![id, done as i64, total as i64],
        )?;
        Ok(())
    }

    /// Ends an import: its row report, and `error` when it failed as a whole.
    pub fn finish_import(
        &mut self,
        id: i64,
        rows: &[ImportRow],
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO import_row (import_id, row, status, reason, feature_id, warnings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in rows {
                let warnings = serde_json::to_string(&r.warnings).unwrap_or_else(|_| "[]".into());
                stmt.execute(params![
                    id,
                    r.row,
                    r.status,
                    r.reason,
                    r.feature_id,
                    warnings
                ])?;
            }
        }
        tx.execute(
            "UPDATE import SET state = ?2, error = ?3, done = ?4, total = ?4 WHERE id = ?1",
            params![
                id,
                if error.is_some() { "failed" } else { "done" },
                error,
                rows.len() as i64
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// An import and its row report (empty while it runs).
    pub fn import(&self, id: i64) -> Result<(ImportRecord, Vec<ImportRow>), StoreError> {
        let record = self
            .conn
            .query_row(
                "SELECT id, at, who, layer, crs, source, file_name, format, dry_run, state, done, total, error,
                    (SELECT count(*) FROM import_row r WHERE r.import_id = import.id AND status = 'accepted'),
                    (SELECT count(*) FROM import_row r WHERE r.import_id = import.id AND status = 'updated'),
                    (SELECT count(*) FROM import_row r WHERE r.import_id = import.id AND status = 'unchanged'),
                    (SELECT count(*) FROM import_row r WHERE r.import_id = import.id AND status = 'rejected')
                 FROM import WHERE id = ?1",
                [id],
                |r| {
                    Ok(ImportRecord {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        who: r.get(2)?,
                        layer: r.get(3)?,
                        crs: r.get(4)?,
                        source: r.get(5)?,
                        file_name: r.get(6)?,
                        format: r.get(7)?,
                        dry_run: r.get(8)?,
                        state: r.get(9)?,
                        done: r.get(10)?,
                        total: r.get(11)?,
                        error: r.get(12)?,
                        accepted: r.get(13)?,
                        updated: r.get(14)?,
                        unchanged: r.get(15)?,
                        rejected: r.get(16)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no import {id}")))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT row, status, reason, feature_id, warnings FROM import_row
             WHERE import_id = ?1 ORDER BY row",
        )?;
        let rows = stmt.query_map([id], |r| {
            let warnings: String = r.get(4)?;
            Ok(ImportRow {
                row: r.get(0)?,
                status: r.get(1)?,
                reason: r.get(2)?,
                feature_id: r.get(3)?,
                warnings: serde_json::from_str(&warnings).unwrap_or_default(),
            })
        })?;
        Ok((record, rows.collect::<Result<_, _>>()?))
    }

    /// The file an import was given.
    pub fn import_file(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        self.conn
            .query_row("SELECT file FROM import WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no import {id}")))
    }

    /// Copies the whole database to `dest` with SQLite's online backup: safe while
    /// the server writes.
    pub fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        let mut target = Connection::open(dest)?;
        let backup = rusqlite::backup::Backup::new(&self.conn, &mut target)?;
        backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
        drop(backup);
        // A copy is another database from here on: its own writes must not be
        // taken for the original's by a snapshot of either.
        target.execute(
            "UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'database_id'",
            [],
        )?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: `ok`, or what is damaged.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// Counts a new generation in `tx` and logs its commit: the generation its writes
/// are marked with.
fn next_generation(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    tx.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
        [],
    )?;
    let generation: i64 = tx.query_row(
        "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'",
        [],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO commit_log (generation, nonce) VALUES (?1, random())",
        [generation],
    )?;
    Ok(generation)
}

fn apply_one(
    tx: &Transaction<'_>,
    at: &str,
    who: &str,
    import_id: Option<i64>,
    generation: i64,
    w: &Write,
) -> Result<Option<Stored>, StoreError> {
    let (id, expect, op) = match w {
        Write::Put { id, expect, op, .. } | Write::Delete { id, expect, op } => (id, expect, op),
    };
    let current: Option<(String, i64, String)> = tx
        .query_row(
            "SELECT body, version, layer FROM feature WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let version = current.as_ref().map_or(0, |c| c.1);
    if let Some(expected) = expect
        && *expected != version
    {
        return Err(StoreError::Conflict(match (expected, &current) {
            (0, Some(_)) => format!("a feature with id '{id}' exists already"),
            (_, None) => format!("no feature with id '{id}'"),
            _ => format!("feature '{id}' has changed since it was read"),
        }));
    }
    let old_layer = current.as_ref().map(|c| c.2.clone());
    let before = current.map(|c| c.0);
    let mut audit = tx.prepare_cached(
        "INSERT INTO audit (feature_id, at, who, op, import_id, before, after, layer)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    match w {
        Write::Put { layer, body, .. } => {
            if before.is_some() {
                tx.execute(
                    "UPDATE feature SET layer = ?2, body = ?3, version = version + 1, generation = ?4
                     WHERE id = ?1",
                    params![id, layer.id(), body, generation],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO feature (id, layer, body, generation) VALUES (?1, ?2, ?3, ?4)",
                    params![id, layer.id(), body, generation],
                )?;
                tx.execute("DELETE FROM tombstone WHERE id = ?1", [id])?;
            }
            audit.execute(params![
                id,
                at,
                who,
                op.id(),
                import_id,
                before,
                body,
                layer.id()
            ])?;
            Ok(Some(Stored {
                id: id.clone(),
                layer: *layer,
                body: body.clone(),
                version: version + 1,
            }))
        }
        Write::Delete { .. } => {
            if before.is_none() {
                return Err(StoreError::NotFound(format!("no feature with id '{id}'")));
            }
            tx.execute("DELETE FROM feature WHERE id = ?1", [id])?;
            tx.execute(
                "INSERT OR REPLACE INTO tombstone (id, generation) VALUES (?1, ?2)",
                params![id, generation],
            )?;
            audit.execute(params![
                id,
                at,
                who,
                op.id(),
                import_id,
                before,
                None::<String>,
                old_layer
            ])?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests;
