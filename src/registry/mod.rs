//! The registry: the union's own data, edited live.
//!
//! It joins the store of record ([`crate::store`]) to what the server answers from
//! (an [`Atlas`], published as immutable generations):
//!
//! 1. a write is normalised ([`prepare`]: id, layer, `updated`, provenance kept) and
//!    validated by the loader's own rules ([`validate_feature`]);
//! 2. it is committed to the store with its audit entry, in one transaction;
//! 3. the change is handed to the publisher thread, which folds every change waiting
//!    into a new dataset ([`crate::geodata::Dataset::with_changes`]), indexes it and
//!    swaps it in. Readers hold the generation they started with and never wait
//!    for a writer; a committed write is answered within one rebuild.

mod edit;
mod import;
mod seed;

use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwapOption;

pub use edit::{EditError, Editor, etag, merge_patch, today};
pub use import::{ImportRequest, ImportSummary};
pub use seed::{OpenError, export, open, read};

use crate::geodata::{Change, validate_feature};
use crate::index::Atlas;
use crate::store::{Store, StoreError};

/// The generation of the data the server answers from; empty while loading.
pub type Published = Arc<ArcSwapOption<Atlas>>;

/// The store and the publisher of its generations.
pub struct Registry {
    store: Mutex<Store>,
    published: Published,
    changes: Mutex<mpsc::Sender<Vec<Change>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `store`, publishing to `published` (which must already hold the
    /// store's features, indexed). Starts the publisher thread.
    pub fn new(store: Store, published: Published) -> Arc<Self> {
        let (tx, rx) = mpsc::channel::<Vec<Change>>();
        let target = published.clone();
        let label = store.path().to_owned();
        std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || publish_loop(&rx, &target, &label))
            .ok();
        Arc::new(Registry {
            store: Mutex::new(store),
            published,
            changes: Mutex::new(tx),
        })
    }

    /// The store, for one short operation. A poisoned lock only means another
    /// thread panicked mid-call; SQLite rolled its transaction back, so the
    /// connection is still consistent.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The generation being served.
    pub fn atlas(&self) -> Option<Arc<Atlas>> {
        self.published.load_full()
    }

    /// Hands committed changes to the publisher.
    fn publish(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let sender = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        if sender.send(changes).is_err() {
            tracing::error!(
                "the publisher has stopped: edits are stored but not served until restart"
            );
        }
    }
}

/// Folds every change waiting into a new generation, one rebuild at a time.
fn publish_loop(rx: &mpsc::Receiver<Vec<Change>>, target: &Published, label: &std::path::Path) {
    while let Ok(first) = rx.recv() {
        let mut changes = first;
        while let Ok(more) = rx.try_recv() {
            changes.extend(more);
        }
        let Some(current) = target.load_full() else {
            continue;
        };
        let started = std::time::Instant::now();
        match current.data().with_changes(&changes, label) {
            Ok(data) => {
                target.store(Some(Arc::new(Atlas::new(data))));
                tracing::debug!(
                    changes = changes.len(),
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "published a new generation"
                );
            }
            // Every change was validated before it was committed, so this is a bug;
            // the store keeps the truth and the next start serves it.
            Err(e) => tracing::error!("cannot publish committed changes: {e}"),
        }
    }
}

/// Checks a stored body again (used after a revert, whose target was valid once but
/// may not be under today's rules).
fn revalidate(layer: crate::model::Layer, body: &str) -> Result<(), EditError> {
    validate_feature(layer, body.as_bytes()).map_err(EditError::Invalid)
}

impl From<StoreError> for EditError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => EditError::NotFound(m),
            StoreError::Conflict(m) => EditError::Conflict(m),
            other => EditError::Store(other),
        }
    }
}
