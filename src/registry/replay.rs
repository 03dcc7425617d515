//! Replaying the changes committed after a commit onto features held as of it: the
//! one trust check and the one read, for a start onto the snapshot beside the
//! database ([`super::seed`]) and for following another process's writes while
//! serving ([`super::follow`]). Each caller runs both inside one read transaction
//! ([`Store::consistent`]), so the check holds for the changes read.

use crate::geodata::Change;
use crate::store::{Changed, Stamp, Store, StoreError};

/// More changes than this since the commit held and the whole database is read
/// instead: replaying costs about what reading costs, per feature.
pub(super) const REPLAY_MAX: i64 = 200_000;

/// Why the changes after the commit `held` cannot be replayed from `s`, or `None`
/// when they can: their deletes were pruned, the commit is not in this database's
/// history (gone, another history's, or one it has not reached), or there are more
/// of them than reading the whole database costs.
pub(super) fn untrusted(s: &Store, held: Stamp) -> Result<Option<String>, StoreError> {
    let horizon = s.replay_horizon()?;
    if held.generation < horizon {
        return Ok(Some(format!(
            "the changes after generation {} were pruned (through generation {horizon})",
            held.generation
        )));
    }
    if held.generation > s.generation()? || s.stamp(held.generation)? != Some(held) {
        return Ok(Some(format!(
            "the commit of generation {} is gone or another",
            held.generation
        )));
    }
    let count = s.changes_since_count(held.generation)?;
    if count > REPLAY_MAX {
        return Ok(Some(format!(
            "{count} changes since generation {}: reading is cheaper",
            held.generation
        )));
    }
    Ok(None)
}

/// The changes committed after `generation`, in the order to apply them, as the
/// index takes them.
pub(super) fn changes_since(s: &Store, generation: i64) -> Result<Vec<Change>, StoreError> {
    Ok(s.changes_since(generation)?
        .into_iter()
        .map(|c| match c {
            Changed::Put { id, layer, body } => Change::Put {
                layer,
                id,
                feature: body.into_bytes(),
            },
            Changed::Delete { id } => Change::Delete { id },
        })
        .collect())
}
