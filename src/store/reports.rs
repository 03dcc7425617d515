//! Problems the public reports from a station's page ("closed", "wrong hours", …),
//! kept until an editor marks them handled.
//!
//! - The sender's address is never stored: only a SHA-256 of a per-database random
//!   salt and the address, enough to count one sender's reports (the rate limit)
//!   and useless for finding who sent them (the salt stops a table of all IPv4
//!   addresses' hashes from reversing it).
//! - The rate limit is counted in the table itself, in the transaction that
//!   stores the report: it holds across restarts and across processes.
//! - A report names its feature by id without a foreign key: it outlives the
//!   feature's deletion (often its very outcome).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// The longest note a report may carry, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// What is wrong, as the sender says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// The station is closed for good, or not there at all.
    Closed,
    /// The opening hours shown are not the real ones.
    WrongHours,
    /// The station is somewhere else.
    WrongPlace,
    /// Anything else (the note says what).
    Other,
}

impl ReportKind {
    /// Every kind, in the order the form shows them.
    pub const ALL: [ReportKind; 4] = [
        ReportKind::Closed,
        ReportKind::WrongHours,
        ReportKind::WrongPlace,
        ReportKind::Other,
    ];

    /// The id in the API, the form and the database.
    pub fn id(self) -> &'static str {
        match self {
            ReportKind::Closed => "closed",
            ReportKind::WrongHours => "wrong_hours",
            ReportKind::WrongPlace => "wrong_place",
            ReportKind::Other => "other",
        }
    }
}

impl FromStr for ReportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.id() == s)
            .ok_or_else(|| format!("unknown kind '{s}' (closed, wrong_hours, wrong_place, other)"))
    }
}

/// A report as stored (the sender's hash stays in the database).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Its number.
    pub id: i64,
    /// The feature it is about.
    pub feature_id: String,
    /// What is wrong.
    pub kind: ReportKind,
    /// The sender's words, when given.
    pub note: Option<String>,
    /// When it was sent (RFC 3339, UTC).
    pub at: String,
    /// When an editor marked it handled; `None` while open.
    pub closed_at: Option<String>,
    /// The token's name that closed it.
    pub closed_by: Option<String>,
}

/// How many reports one sender may file in a sliding window.
#[derive(Clone, Copy, Debug)]
pub struct ReportLimit {
    /// Reports allowed per window.
    pub max: u32,
    /// The window.
    pub window: Duration,
}

/// What became of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filed {
    /// Stored.
    Stored(Report),
    /// Refused: the sender has filed its quota; one more fits in this many seconds.
    Limited {
        /// Seconds until the oldest report of the window leaves it.
        retry_after_s: u64,
    },
}

/// Which reports to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportStatus {
    /// Not handled yet.
    Open,
    /// Handled.
    Closed,
    /// Both.
    All,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn kind_of(s: &str) -> Result<ReportKind, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Damaged(format!("unknown report kind '{s}'")))
}

const COLUMNS: &str = "id, feature_id, kind, note, at, closed_at, closed_by";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Report, String)> {
    let kind: String = r.get(2)?;
    Ok((
        Report {
            id: r.get(0)?,
            feature_id: r.get(1)?,
            kind: ReportKind::Other,
            note: r.get(3)?,
            at: r.get(4)?,
            closed_at: r.get(5)?,
            closed_by: r.get(6)?,
        },
        kind,
    ))
}

fn with_kind((mut report, kind): (Report, String)) -> Result<Report, StoreError> {
    report.kind = kind_of(&kind)?;
    Ok(report)
}

impl Store {
    /// Stores a report about `feature_id` from the sender `client` (an address, or
    /// whatever names one sender: it is hashed with the database's salt), unless the
    /// sender has filed `limit.max` within `limit.window`. `NotFound` when no
    /// feature has that id.
    pub fn file_report(
        &mut self,
        feature_id: &str,
        kind: ReportKind,
        note: Option<&str>,
        client: &str,
        limit: ReportLimit,
    ) -> Result<Filed, StoreError> {
        // IMMEDIATE: two senders racing (or two processes) cannot both pass the count.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists = tx
            .query_row("SELECT 1 FROM feature WHERE id = ?1", [feature_id], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        if !exists {
            return Err(StoreError::NotFound(format!(
                "no feature with id '{feature_id}'"
            )));
        }
        let salt: String = tx.query_row(
            "SELECT value FROM meta WHERE key = 'report_salt'",
            [],
            |r| r.get(0),
        )?;
        let mut h = Sha256::new();
        h.update(salt.as_bytes());
        h.update(b"\n");
        h.update(client.as_bytes());
        let hash: [u8; 32] = h.finalize().into();

        let now = Utc::now();
        let window = chrono::Duration::from_std(limit.window)
            .map_err(|e| StoreError::Damaged(format!("report window: {e}")))?;
        let recent: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT at FROM report WHERE client = ?1 AND at > ?2 ORDER BY at",
            )?;
            let rows = stmt.query_map(params![&hash[..], stamp(now - window)], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        if recent.len() >= limit.max as usize {
            // One more fits once enough of the oldest have left the window.
            let leaving = recent.get(recent.len() - limit.max as usize);
            let retry_after_s = leaving
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|t| (t.with_timezone(&Utc) + window - now).num_milliseconds())
                .map(|ms| (ms.max(0) as u64).div_ceil(1000).max(1))
                .unwrap_or(limit.window.as_secs().max(1));
            return Ok(Filed::Limited { retry_after_s });
        }
        let at = stamp(now);
        tx.execute(
            "INSERT INTO report (feature_id, kind, note, at, client) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![feature_id, kind.id(), note, at, &hash[..]],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Filed::Stored(Report {
            id,
            feature_id: feature_id.to_owned(),
            kind,
            note: note.map(str::to_owned),
            at,
            closed_at: None,
            closed_by: None,
        }))
    }

    /// Reports of that status, newest first, at most `limit`.
    pub fn reports(&self, status: ReportStatus, limit: usize) -> Result<Vec<Report>, StoreError> {
        let filter = match status {
            ReportStatus::Open => "WHERE closed_at IS NULL",
            ReportStatus::Closed => "WHERE closed_at IS NOT NULL",
            ReportStatus::All => "",
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM report {filter} ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], row)?;
        rows.map(|r| with_kind(r?)).collect()
    }

    /// One report.
    pub fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM report WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?
            .map(with_kind)
            .transpose()
    }

    /// Marks a report handled by `who` (a closed one stays as it was closed).
    pub fn close_report(&mut self, id: i64, who: &str) -> Result<Report, StoreError> {
        self.conn.execute(
            "UPDATE report SET closed_at = ?2, closed_by = ?3 WHERE id = ?1 AND closed_at IS NULL",
            params![id, stamp(Utc::now()), who],
        )?;
        self.report(id)?
            .ok_or_else(|| StoreError::NotFound(format!("no report {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Layer;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        store
            .seed([("cs-a".to_owned(), Layer::CourierStation, "{}".to_owned())])
            .unwrap();
        (dir, store)
    }

    const LIMIT: ReportLimit = ReportLimit {
        max: 2,
        window: Duration::from_secs(3600),
    };

    /// Reports are counted per sender; the third within the window is refused with
    /// the time until the oldest leaves it; the address itself is not stored.
    #[test]
    fn reports_are_limited_per_sender_and_hashed() {
        let (_dir, mut s) = store();
        for _ in 0..2 {
            let filed = s
                .file_report("cs-a", ReportKind::Closed, None, "192.0.2.1", LIMIT)
                .unwrap();
            assert!(matches!(filed, Filed::Stored(_)));
        }
        match s
            .file_report("cs-a", ReportKind::Other, Some("x"), "192.0.2.1", LIMIT)
            .unwrap()
        {
            Filed::Limited { retry_after_s } => {
                assert!((3590..=3600).contains(&retry_after_s), "{retry_after_s}")
            }
            other => panic!("{other:?}"),
        }
        let other = s
            .file_report("cs-a", ReportKind::Other, Some("x"), "192.0.2.2", LIMIT)
            .unwrap();
        assert!(matches!(other, Filed::Stored(_)));
        assert!(matches!(
            s.file_report("cs-b", ReportKind::Other, None, "192.0.2.3", LIMIT),
            Err(StoreError::NotFound(_))
        ));
        let clients: Vec<Vec<u8>> = s
            .conn
            .prepare("SELECT client FROM report")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(clients.len(), 3);
        assert!(clients.iter().all(|c| c.len() == 32));
        assert_ne!(clients[0], clients[2]);
        let plain: [u8; 32] = Sha256::digest(b"192.0.2.1").into();
        assert_ne!(clients[0], plain.to_vec(), "salted");
    }

    /// Open reports are listed newest first; closing one records who, once.
    #[test]
    fn reports_close_once() {
        let (_dir, mut s) = store();
        for kind in [ReportKind::Closed, ReportKind::WrongHours] {
            s.file_report("cs-a", kind, Some("注意"), "a", LIMIT)
                .unwrap();
        }
        let open = s.reports(ReportStatus::Open, 10).unwrap();
        assert_eq!(
            open.iter().map(|r| r.kind).collect::<Vec<_>>(),
            [ReportKind::WrongHours, ReportKind::Closed]
        );
        let closed = s.close_report(open[1].id, "editor").unwrap();
        assert_eq!(closed.closed_by.as_deref(), Some("editor"));
        let again = s.close_report(open[1].id, "other").unwrap();
        assert_eq!(again, closed);
        assert_eq!(s.reports(ReportStatus::Open, 10).unwrap().len(), 1);
        assert_eq!(s.reports(ReportStatus::Closed, 10).unwrap(), [closed]);
        assert_eq!(s.reports(ReportStatus::All, 10).unwrap().len(), 2);
        assert!(matches!(
            s.close_report(99, "e"),
            Err(StoreError::NotFound(_))
        ));
    }
}
