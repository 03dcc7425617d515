//! What `serve` loads in the background while `/healthz` already answers: the
//! database with edits on (the registry), or a data directory read-only. Either
//! reads its snapshot when it is fresh, and `/readyz` answers once the index is
//! set. An error here stops the server with its message.

use std::path::Path;

use super::logging::LOG_TARGET;
use crate::geodata::{self, snapshot};
use crate::http::AppState;
use crate::index::Atlas;
use crate::registry::{self, Registry};

/// Serves the database `db` (created from `seed` when missing), with edits.
pub(super) fn database(state: &AppState, db: &Path, seed: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let loaded =
        registry::load(db, seed).map_err(|e| format!("refusing to serve {}: {e}", db.display()))?;
    let (created, generation) = (loaded.created, loaded.generation);
    let counts = (loaded.atlas.facility_count(), loaded.atlas.park_count());
    state.set_atlas(loaded.atlas);
    let registry = Registry::new(loaded.store, state.published(), generation, seed);
    // A snapshot behind the data (none, or older than the replayed changes) is
    // written again in the background, so the next start replays little.
    registry.snapshot_loaded(loaded.snapshot);
    state.set_registry(registry);
    tracing::info!(target: LOG_TARGET,
        facilities = counts.0,
        parks = counts.1,
        replayed = loaded.replayed,
        seconds = started.elapsed().as_secs_f64(),
        "data loaded from {}{}; ready (edits on)",
        db.display(),
        if created {
            " (created from the seed)"
        } else {
            ""
        }
    );
    Ok(())
}

/// Serves the data directory `data_dir` read-only, through its snapshot when fresh.
pub(super) fn directory(state: &AppState, data_dir: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    // Before anything is read: a file changed during the load then makes the
    // snapshot stale instead of wrong.
    let key = snapshot::current_key(data_dir);
    let fall_back = |why: &dyn std::fmt::Display| {
        tracing::warn!(target: LOG_TARGET, "{why}; reading the GeoJSON");
        None
    };
    let restored = match key.as_ref().map(|key| snapshot::read(data_dir, *key)) {
        Ok(Ok(data)) => Some(data),
        Ok(Err(snapshot::SnapshotError::Stale)) => None,
        Ok(Err(why)) => fall_back(&why),
        Err(why) => fall_back(why),
    };
    let from_snapshot = restored.is_some();
    let data = restored
        .map_or_else(|| geodata::load_dir(data_dir), Ok)
        .map_err(|e| format!("refusing to serve {}: {e}", data_dir.display()))?;
    let counts = (data.facilities.len(), data.parks.len());
    let atlas = state.set_atlas(Atlas::new(data));
    let from = if from_snapshot { "snapshot" } else { "GeoJSON" };
    tracing::info!(target: LOG_TARGET,
        facilities = counts.0,
        parks = counts.1,
        seconds = started.elapsed().as_secs_f64(),
        "data loaded from {} ({from}); ready (read-only)",
        data_dir.display()
    );
    if let (false, Ok(key)) = (from_snapshot, key) {
        match snapshot::write(data_dir, atlas.data(), key) {
            Ok(path) => tracing::info!(target: LOG_TARGET, "wrote {}", path.display()),
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, "no snapshot written (next start reads the GeoJSON again): {e}")
            }
        }
    }
    Ok(())
}
