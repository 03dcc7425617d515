//! The registry: the union's own data, edited live.
//!
//! It joins the store of record ([`crate::store`]) to what the server answers from
//! (an [`Atlas`], published as immutable generations):
//!
//! 1. a write is normalised ([`prepare`]: id, layer, `updated`, provenance kept) and
//!    validated by the loader's own rules ([`validate_feature`]);
//! 2. it is committed to the store with its audit entry, in one transaction;
//! 3. the change is handed to the publisher thread, which makes every change waiting
//!    into a new generation: the served base with a new delta
//!    ([`Atlas::with_changes`], milliseconds), swapped in. Readers hold the
//!    generation they started with and never wait for a writer. The base is rebuilt
//!    with the delta folded in on a background thread when the delta grows large or
//!    the writes pause (see `Publisher`).
//! 4. After a rebuild the served generation is written as a snapshot beside the
//!    database, in the background and at most every [`SNAPSHOT_EVERY`] (see
//!    `Snapshots`): a start after a crash reads it and replays only the changes
//!    committed since ([`load`]).
//! 5. Another process's commits (the CLI's `import`, `purge`) are noticed by a
//!    watcher and followed the same way: the changes since the last commit served
//!    are replayed into the delta (see `follow`); the whole database is read again
//!    only when that replay cannot be trusted. Tombstones no reader needs are
//!    pruned after each snapshot ([`RETAIN_COMMITS`]).

mod edit;
mod follow;
mod import;
mod replay;
mod reports;
mod seed;
#[cfg(test)]
mod testing;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwapOption;

pub use edit::{EditError, Editor, etag, merge_patch, today};
pub use import::{ImportRequest, ImportSummary};
pub use reports::{REPORT_LIMIT, ReportView, ReportedFeature, sender};
pub use seed::{Loaded, OpenError, export, load, open, read};

use crate::geodata::{Change, snapshot};
use crate::index::Atlas;
use crate::model::hours::Schedules;
use crate::model::{Facility, Park};
use crate::store::{Stamp, Store, StoreError, Stored, Write};

/// The generation of the data the server answers from; empty while loading.
pub type Published = Arc<ArcSwapOption<Atlas>>;

/// What the publisher is asked to do.
enum Message {
    /// Committed changes, with the store generation their transaction made and
    /// its stamp.
    Changes {
        changes: Vec<Change>,
        generation: i64,
        stamp: Option<Stamp>,
    },
    /// Another process wrote to the database: replay what it wrote.
    Follow,
    /// A base rebuilt in the background (taken when swapped in).
    Rebuilt {
        atlas: Option<Box<Atlas>>,
        epoch: u64,
    },
}

/// The store and the publisher of its generations.
pub struct Registry {
    store: Mutex<Store>,
    published: Published,
    messages: Mutex<mpsc::Sender<Message>>,
    /// The store generation the published data reflects.
    published_generation: Arc<AtomicI64>,
    /// The store generation this process expects: the loaded one plus its own
    /// commits. A larger one in the store means another process (the CLI's
    /// `import`, `purge`) wrote.
    expected_generation: Arc<AtomicI64>,
    /// The store generation through which the published data holds every commit
    /// (the publisher stores a generation before it counts it here).
    complete_generation: Arc<AtomicI64>,
    snapshots: Arc<Snapshots>,
    /// How other processes' writes were followed.
    follows: Arc<Follows>,
}

/// How often other processes' writes were followed by a replay, and how often the
/// whole database had to be read again instead.
#[derive(Debug, Default)]
pub struct Follows {
    /// Replays of the changes since the last commit seen.
    pub replays: AtomicU64,
    /// Whole reads of the database.
    pub reloads: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `store`, publishing to `published`, which must already hold
    /// the store's features as of store generation `generation`, validated against
    /// the holiday calendar of `calendar_dir`. Starts the publisher thread and a
    /// watcher that notices writes of other processes (checked every [`WATCH_EVERY`]).
    pub fn new(
        store: Store,
        published: Published,
        generation: i64,
        calendar_dir: &Path,
    ) -> Arc<Self> {
        let delta_max = std::env::var("WAYSTATION_DELTA_MAX")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DELTA_MAX);
        Self::start(store, published, generation, calendar_dir, delta_max)
    }

    /// [`Registry::new`] with the delta size that starts a rebuild.
    fn start(
        store: Store,
        published: Published,
        generation: i64,
        calendar_dir: &Path,
        delta_max: usize,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel::<Message>();
        let seen = follow::Seen::of(&store, generation).unwrap_or_else(|e| {
            tracing::warn!(
                "cannot read the commit loaded ({e}): other processes' writes will be read whole"
            );
            follow::Seen {
                database_id: String::new(),
                schema: 0,
                stamp: None,
            }
        });
        let follows = Arc::new(Follows::default());
        let published_generation = Arc::new(AtomicI64::new(generation));
        let expected_generation = Arc::new(AtomicI64::new(generation));
        let complete_generation = Arc::new(AtomicI64::new(generation));
        let snapshot_every = std::env::var("WAYSTATION_SNAPSHOT_EVERY")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(SNAPSHOT_EVERY, std::time::Duration::from_secs);
        let snapshots = Arc::new(Snapshots {
            db: store.path().to_owned(),
            calendar_dir: calendar_dir.to_owned(),
            on_disk: Mutex::new(None),
            writing: Mutex::new(()),
            queue: Mutex::new(Queue::default()),
            every: snapshot_every,
            // A start counts as a write: the snapshot on disk is the data loaded,
            // unless `snapshot_loaded` says otherwise.
            last_background: Mutex::new(Some(std::time::Instant::now())),
        });
        let publisher = Publisher {
            target: published.clone(),
            db: store.path().to_owned(),
            calendar_dir: calendar_dir.to_owned(),
            generation: published_generation.clone(),
            complete: complete_generation.clone(),
            snapshots: snapshots.clone(),
            tx: tx.clone(),
            delta_max,
            follows: follows.clone(),
        };
        std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || publisher.run(&rx, seen))
            .ok();
        let watcher = Watcher {
            db: store.path().to_owned(),
            expected: expected_generation.clone(),
            tx: tx.clone(),
        };
        std::thread::Builder::new()
            .name("watcher".into())
            .spawn(move || watcher.run())
            .ok();
        Arc::new(Registry {
            store: Mutex::new(store),
            published,
            messages: Mutex::new(tx),
            published_generation,
            expected_generation,
            complete_generation,
            snapshots,
            follows,
        })
    }

    /// How other processes' writes were followed so far.
    pub fn follows(&self) -> &Follows {
        &self.follows
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

    /// Commits `writes` in one transaction (with their audit entries), hands the
    /// changes to the publisher in commit order, and returns once they are served
    /// (at most 5 s later). Runs on a blocking thread.
    fn commit(
        &self,
        who: &str,
        import_id: Option<i64>,
        writes: &[Write],
    ) -> Result<Vec<Option<Stored>>, StoreError> {
        let mut store = self.store();
        // Counted before the commit so that the watcher, which reads the store's
        // generation first, never takes this commit for another process's.
        self.expected_generation.fetch_add(1, Ordering::SeqCst);
        let written = match store.apply(who, import_id, writes) {
            Ok(w) => w,
            Err(e) => {
                self.expected_generation.fetch_sub(1, Ordering::SeqCst);
                return Err(e);
            }
        };
        let generation = store.generation()?;
        // Only for following other processes: without it the next follow reads whole.
        let stamp = store.stamp(generation).ok().flatten();
        let changes = writes
            .iter()
            .map(|w| match w {
                Write::Put {
                    id, layer, body, ..
                } => Change::Put {
                    layer: *layer,
                    id: id.clone(),
                    feature: body.clone().into_bytes(),
                },
                Write::Delete { id, .. } => Change::Delete { id: id.clone() },
            })
            .collect();
        self.send(Message::Changes {
            changes,
            generation,
            stamp,
        });
        drop(store);
        // Read your writes: answer once the change is served (the publisher folds
        // whatever is waiting into one new delta), so a client that reads right after
        // its write sees it. Bounded: the write is committed either way.
        if self.published.load().is_some() {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while self.published_generation.load(Ordering::SeqCst) < generation
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        Ok(written)
    }

    fn send(&self, message: Message) {
        let sender = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        if sender.send(message).is_err() {
            tracing::error!(
                "the publisher has stopped: edits are stored but not served until restart"
            );
        }
    }

    /// Waits until everything committed so far, by this process or another, is
    /// published (at most `timeout`); whether it is. Another process's commits are
    /// followed within `WATCH_EVERY` (200 ms) and their replay.
    pub fn settle(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            // Not the published generation: that is this process's newest commit
            // served, with another process's earlier one perhaps not followed yet.
            let stored = self.store().generation().ok();
            if stored.is_some_and(|g| self.complete_generation.load(Ordering::SeqCst) >= g) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Writes the snapshot beside the database for the data being served, unless
    /// the one there is of the same generation already (at shutdown, after
    /// [`Registry::settle`]: the next start then replays nothing). `None` when there
    /// was nothing to write.
    pub fn write_snapshot(&self) -> Result<Option<PathBuf>, String> {
        // The generation first: the data loaded after it holds at least its commits.
        let generation = self.complete_generation.load(Ordering::SeqCst);
        let Some(atlas) = self.atlas() else {
            return Ok(None);
        };
        self.snapshots
            .write(&atlas, generation, snapshot::Pace::Full)
    }

    /// Notes that the snapshot beside the database is of generation `on_disk` (as
    /// [`load`] found it) and, when the data served is newer, writes a new one in
    /// the background.
    ///
    /// A generation with a delta (changes replayed onto the snapshot) is left to
    /// the rebuild that the publisher starts at once, which writes the snapshot
    /// after it (one write instead of two).
    ///
    /// Without a snapshot of the data loaded (none, or changes replayed onto it),
    /// the next snapshot is written without waiting for [`SNAPSHOT_EVERY`].
    pub fn snapshot_loaded(&self, on_disk: Option<i64>) {
        *self.snapshots.on_disk() = on_disk;
        let generation = self.complete_generation.load(Ordering::SeqCst);
        if on_disk != Some(generation) {
            *self.snapshots.last_background() = None;
        }
        if on_disk != Some(generation)
            && let Some(atlas) = self.atlas()
            && atlas.delta_size() == 0
        {
            self.snapshots.spawn(atlas, generation);
        }
    }
}

/// A served generation as a snapshot's records, read through its delta: no folded
/// copy is made to write it.
impl snapshot::Records for Atlas {
    fn facility_count(&self) -> usize {
        Atlas::facility_count(self)
    }
    fn facility(&self, i: u32) -> &Facility {
        Atlas::facility(self, i)
    }
    fn park_count(&self) -> usize {
        Atlas::park_count(self)
    }
    fn park(&self, i: u32) -> &Park {
        Atlas::park(self, i)
    }
    fn schedules(&self) -> &Schedules {
        Atlas::schedules(self)
    }
    fn fingerprint(&self) -> u64 {
        Atlas::fingerprint(self)
    }
}

/// How many of the newest commits keep their tombstones (and commit log entries)
/// even when a snapshot newer than them is on disk.
///
/// A tombstone is needed only by a reader replaying from before it: a start that
/// reads the snapshot beside the database (no older than the newest written, unless
/// a slower writer put an older one back), or a running server following another
/// process's writes from the last commit it saw (at most a second behind). The
/// window is counted in commits rather than days because that is what a follower
/// lags by, and commits are what the store counts without a clock: 10,000 commits
/// are over eight minutes of edits at 20 a second (the busiest rate measured), and
/// months at a union's usual pace, while their tombstones take under a megabyte. A
/// reader older than the horizon is told (`StoreError::Pruned`, and its commit's
/// stamp is gone) and reads the whole database: slower, never wrong.
pub const RETAIN_COMMITS: i64 = 10_000;

/// Prunes the tombstones no reader needs now that a snapshot of `generation` is
/// beside the database (logged; a failure only leaves them for the next time).
fn prune(store: &Store, generation: i64) {
    match store.prune(generation, RETAIN_COMMITS) {
        Ok(p) if p.tombstones + p.commits > 0 => tracing::info!(
            horizon = p.horizon,
            tombstones = p.tombstones,
            commits = p.commits,
            "pruned the change log"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("no tombstones pruned: {e}"),
    }
}

/// The least time between two background snapshots (`WAYSTATION_SNAPSHOT_EVERY`,
/// seconds, overrides it). Writing one takes 3–6 s of half a core at 1M, which cost
/// nearest 3–5 % of its requests/s under 20 edits/s when every rebuild (one every
/// 50 s) wrote one; replaying five minutes of such edits at a start takes
/// milliseconds.
const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The snapshot beside the database: written after a rebuild of the base on a
/// thread of its own at half a core's pace, at most every `every` (the newest
/// generation asked for meanwhile then), at shutdown at full speed; one write at a
/// time, never over a newer one.
struct Snapshots {
    db: PathBuf,
    calendar_dir: PathBuf,
    /// The generation of the snapshot on disk, as far as this process knows (the
    /// file is checked again before each write).
    on_disk: Mutex<Option<i64>>,
    /// Held while a snapshot is written.
    writing: Mutex<()>,
    /// The background writes asked for.
    queue: Mutex<Queue>,
    /// The least time between two background writes.
    every: std::time::Duration,
    /// When the last background write ended.
    last_background: Mutex<Option<std::time::Instant>>,
}

/// The background writer's work: it runs while there is any.
#[derive(Default)]
struct Queue {
    /// The newest generation asked for while a write ran (it replaces any older:
    /// only the newest is worth writing).
    next: Option<(Arc<Atlas>, i64)>,
    /// A writer thread is running.
    running: bool,
}

impl Snapshots {
    fn on_disk(&self) -> MutexGuard<'_, Option<i64>> {
        self.on_disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn last_background(&self) -> MutexGuard<'_, Option<std::time::Instant>> {
        self.last_background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `atlas`, which holds every commit through `generation` (and perhaps
    /// some later ones: replaying them again changes nothing), unless the snapshot
    /// on disk is of that generation or a later one: as this process knows, and as
    /// the file says before the write and at its rename (another process, the
    /// CLI, may have written a newer one meanwhile; see
    /// [`seed::write_unless_newer`]).
    fn write(
        &self,
        atlas: &Atlas,
        generation: i64,
        pace: snapshot::Pace,
    ) -> Result<Option<PathBuf>, String> {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        if self.on_disk().is_some_and(|g| g >= generation) {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let store = Store::open(&self.db).map_err(|e| e.to_string())?;
        match seed::write_unless_newer(&store, atlas, generation, &self.calendar_dir, pace)? {
            Some(snapshot::Written::Wrote(path)) => {
                *self.on_disk() = Some(generation);
                tracing::info!(
                    generation,
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "wrote the snapshot {}",
                    path.display()
                );
                Ok(Some(path))
            }
            Some(snapshot::Written::Kept(there)) => {
                *self.on_disk() = Some(there.generation);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`Snapshots::write`] on a thread of its own, at [`snapshot::Pace::Background`].
    /// Asked while a write runs, it is written after it (only the newest asked for
    /// meanwhile: a snapshot is not lost because the previous one was slow).
    fn spawn(self: &Arc<Self>, atlas: Arc<Atlas>, generation: i64) {
        let mut queue = self.queue();
        queue.next = Some((atlas, generation));
        if queue.running {
            return;
        }
        queue.running = true;
        drop(queue);
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                loop {
                    // Not before `every` has passed since the last one: the newest
                    // generation asked for by then is written.
                    let last = *this.last_background();
                    if let Some(wait) = last.map(|t| {
                        (t + this.every).saturating_duration_since(std::time::Instant::now())
                    }) {
                        std::thread::sleep(wait);
                    }
                    // Taken, or the thread ends, under one lock: a write asked for
                    // meanwhile either is taken here or starts a thread of its own.
                    let (atlas, generation) = {
                        let mut queue = this.queue();
                        match queue.next.take() {
                            Some(job) => job,
                            None => {
                                queue.running = false;
                                break;
                            }
                        }
                    };
                    match this.write(&atlas, generation, snapshot::Pace::Background) {
                        Ok(Some(_)) => {
                            *this.last_background() = Some(std::time::Instant::now());
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!("no snapshot written: {e}"),
                    }
                }
            });
        if let Err(e) = spawned {
            let mut queue = self.queue();
            queue.running = false;
            queue.next = None;
            tracing::warn!("cannot start writing a snapshot: {e}");
        }
    }
}

/// How many changes (written features and tombstones) the delta of a generation may
/// hold before its base is rebuilt; `WAYSTATION_DELTA_MAX` overrides it. Every
/// nearest query walks the delta's own small tree beside the base's, and a rebuild
/// costs 0.3–1.8 s of one core at 1M: at 20 edits/s this rebuilds every 50 s.
const DELTA_MAX: usize = 1_000;

/// After this long without a write, a non-empty delta is folded into a new base.
const QUIET: std::time::Duration = std::time::Duration::from_secs(10);

/// Publishes committed changes as new generations: each batch is a new delta over
/// the served base (cheap), and the base is rebuilt with the delta folded in on a
/// thread of its own when the delta grows past [`DELTA_MAX`] or the writes pause
/// for [`QUIET`]. Changes published while a rebuild runs are replayed onto its
/// result before it is swapped in.
struct Publisher {
    target: Published,
    db: PathBuf,
    calendar_dir: PathBuf,
    generation: Arc<AtomicI64>,
    /// The generation through which the published data holds every commit: the
    /// commits of this process arrive in order, another process's when followed.
    complete: Arc<AtomicI64>,
    snapshots: Arc<Snapshots>,
    /// To hand rebuilt bases back to the publisher's own loop.
    tx: mpsc::Sender<Message>,
    delta_max: usize,
    follows: Arc<Follows>,
}

/// A rebuild in flight.
struct Rebuild {
    /// Which rebuild: a reload of the database makes any in flight stale.
    epoch: u64,
    /// The changes published since the generation it folds, in commit order.
    since: Vec<Change>,
}

impl Publisher {
    /// Publishes until the registry is dropped; `seen` is what the data loaded
    /// was of (see [`follow::Seen`]).
    fn run(&self, rx: &mpsc::Receiver<Message>, mut seen: follow::Seen) {
        let mut epoch = 0u64;
        let mut rebuild: Option<Rebuild> = None;
        // The commit through which another process's writes were last read (by a
        // replay or a whole read): this process's own changes of that commit or
        // before, if their message comes later, are in the data already — applied
        // again they would undo a newer write of the other process.
        let mut followed_through = i64::MIN;
        // Started with changes replayed onto a snapshot (after a crash): fold them
        // now, so the snapshot written after the rebuild makes the next replay short.
        if let Some(current) = self.target.load_full()
            && current.delta_size() > 0
        {
            epoch += 1;
            rebuild = self.start_rebuild(current, epoch);
        }
        loop {
            let first = match rx.recv_timeout(QUIET) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if rebuild.is_none()
                        && let Some(current) = self.target.load_full()
                        && current.delta_size() > 0
                    {
                        epoch += 1;
                        rebuild = self.start_rebuild(current, epoch);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let started = std::time::Instant::now();
            // A finished rebuild first: the changes of this batch come after it.
            for m in &mut batch {
                if let Message::Rebuilt { atlas, epoch: e } = m
                    && let Some(r) = rebuild.take_if(|r| r.epoch == *e)
                    && let Some(rebuilt) = atlas.take()
                {
                    match rebuilt.with_changes(&r.since, &self.db) {
                        Ok(a) => {
                            let a = Arc::new(a);
                            self.target.store(Some(a.clone()));
                            tracing::debug!(replayed = r.since.len(), "swapped in a rebuilt base");
                            // It holds everything published so far.
                            self.snapshots
                                .spawn(a, self.complete.load(Ordering::SeqCst));
                        }
                        Err(e) => tracing::error!("cannot replay changes onto a rebuilt base: {e}"),
                    }
                }
            }
            // Another process wrote: what it changed since the last commit served,
            // replayed (or, when that cannot be trusted, the database read whole).
            // Read after the batch was taken, so every commit of this process in
            // the batch is in it already.
            let mut changes = Vec::new();
            let mut base_generation = i64::MIN;
            let mut replayed = None;
            let mut reload = false;
            if batch.iter().any(|m| matches!(m, Message::Follow)) {
                let from = seen.stamp.map(|s| s.generation);
                match follow::replay(&self.db, &seen) {
                    Ok(follow::Followed::Replayed {
                        changes: c,
                        generation,
                        stamp,
                    }) => {
                        tracing::info!(
                            changes = c.len(),
                            from,
                            generation,
                            "following another process's writes: replaying the changes since the last commit seen"
                        );
                        changes = c;
                        base_generation = generation;
                        followed_through = followed_through.max(generation);
                        replayed = Some(stamp);
                    }
                    Ok(follow::Followed::Untrusted(why)) => {
                        tracing::warn!(
                            "cannot replay another process's writes ({why}); reading the whole database again"
                        );
                        reload = true;
                    }
                    Err(e) => {
                        tracing::warn!(
                            "cannot read another process's writes ({e}); reading the whole database again"
                        );
                        reload = true;
                    }
                }
            }
            if reload {
                match self.reload() {
                    Ok((generation, now)) => {
                        epoch += 1;
                        rebuild = None;
                        seen = now;
                        base_generation = generation;
                        followed_through = followed_through.max(generation);
                    }
                    Err(e) => {
                        tracing::error!("cannot read the database again: {e}");
                        continue;
                    }
                }
            }
            // This process's changes the data does not hold yet, in commit order,
            // after the replayed ones; and the commit through which the data will
            // then hold every change.
            let mut newest = base_generation;
            let (mut complete, mut complete_stamp) = match replayed {
                Some(stamp) => (base_generation, stamp),
                None => (self.complete.load(Ordering::SeqCst), seen.stamp),
            };
            for m in batch {
                if let Message::Changes {
                    changes: c,
                    generation,
                    stamp,
                } = m
                    && generation > base_generation.max(followed_through)
                {
                    changes.extend(c);
                    newest = newest.max(generation);
                    // A gap is another process's commit: complete again once it is
                    // followed.
                    if generation == complete + 1 {
                        complete = generation;
                        complete_stamp = stamp;
                    }
                }
            }
            let Some(current) = self.target.load_full() else {
                continue;
            };
            if !changes.is_empty() {
                match current.with_changes(&changes, &self.db) {
                    Ok(next) => self.target.store(Some(Arc::new(next))),
                    // What this process commits was validated before, so this is a
                    // bug, or another process stored what this one refuses: the
                    // store keeps the truth, read whole here or at the next start.
                    Err(e) if replayed.is_some() => {
                        tracing::warn!(
                            "cannot replay another process's writes ({e}); reading the whole database again"
                        );
                        match self.reload() {
                            Ok((generation, now)) => {
                                epoch += 1;
                                rebuild = None;
                                seen = now;
                                followed_through = followed_through.max(generation);
                                self.generation.fetch_max(generation, Ordering::SeqCst);
                            }
                            Err(e) => tracing::error!("cannot read the database again: {e}"),
                        }
                        continue;
                    }
                    Err(e) => {
                        tracing::error!("cannot publish committed changes: {e}");
                        continue;
                    }
                }
                if let Some(r) = &mut rebuild {
                    r.since.extend(changes.iter().cloned());
                }
            }
            if replayed.is_some() {
                self.follows.replays.fetch_add(1, Ordering::SeqCst);
            }
            self.generation.fetch_max(newest, Ordering::SeqCst);
            if complete > self.complete.load(Ordering::SeqCst) {
                seen.stamp = complete_stamp;
            }
            self.complete.fetch_max(complete, Ordering::SeqCst);
            tracing::debug!(
                changes = changes.len(),
                reload,
                replayed = replayed.is_some(),
                ms = started.elapsed().as_secs_f64() * 1e3,
                "published a new generation"
            );
            if rebuild.is_none()
                && let Some(current) = self.target.load_full()
                && current.delta_size() >= self.delta_max
            {
                epoch += 1;
                rebuild = self.start_rebuild(current, epoch);
            }
        }
    }

    /// Folds `current`'s delta into a new base on a thread of its own (one core: the
    /// other serves), which hands it back as [`Message::Rebuilt`].
    fn start_rebuild(&self, current: Arc<Atlas>, epoch: u64) -> Option<Rebuild> {
        let tx = self.tx.clone();
        let spawned = std::thread::Builder::new()
            .name("rebuild".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let atlas = current.rebuilt();
                drop(current);
                tracing::info!(
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "rebuilt the base"
                );
                let _ = tx.send(Message::Rebuilt {
                    atlas: Some(Box::new(atlas)),
                    epoch,
                });
            });
        match spawned {
            Ok(_) => Some(Rebuild {
                epoch,
                since: Vec::new(),
            }),
            Err(e) => {
                tracing::warn!("cannot start a rebuild: {e}");
                None
            }
        }
    }

    /// Reads the whole database on a connection of its own and publishes it as a
    /// new base: its generation and what it is of.
    fn reload(&self) -> Result<(i64, follow::Seen), String> {
        let started = std::time::Instant::now();
        let store = Store::open(&self.db).map_err(|e| e.to_string())?;
        let (data, generation, seen) = store
            .consistent(|s| {
                let generation = s.generation()?;
                let seen = follow::Seen::of(s, generation)?;
                Ok((read(s, &self.calendar_dir), generation, seen))
            })
            .map_err(|e| e.to_string())?;
        let data = data.map_err(|e| e.to_string())?;
        self.target.store(Some(Arc::new(Atlas::new(data))));
        self.complete.store(generation, Ordering::SeqCst);
        self.follows.reloads.fetch_add(1, Ordering::SeqCst);
        tracing::info!(
            generation,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "read the whole database again"
        );
        Ok((generation, seen))
    }
}

/// How often the watcher reads the store's generation (one indexed row): another
/// process's write is served within this and the replay.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Notices writes of other processes to the database.
struct Watcher {
    db: PathBuf,
    expected: Arc<AtomicI64>,
    tx: mpsc::Sender<Message>,
}

impl Watcher {
    fn run(&self) {
        let store = match Store::open(&self.db) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("no watcher for other processes' writes: {e}");
                return;
            }
        };
        loop {
            std::thread::sleep(WATCH_EVERY);
            let Ok(found) = store.generation() else {
                continue;
            };
            let expected = self.expected.load(Ordering::SeqCst);
            if found > expected {
                self.expected.fetch_add(found - expected, Ordering::SeqCst);
                tracing::info!(
                    "the database was written by another process (generation {found}); following it"
                );
                if self.tx.send(Message::Follow).is_err() {
                    return;
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Layer;
    use crate::store::Op;

    const BASE: usize = 100_000;

    fn put(i: usize) -> Write {
        let id = format!("cs-rebuild-{i}");
        let body = serde_json::json!({"type": "Feature", "id": id,
            "geometry": {"type": "Point", "coordinates": [116.0 + i as f64 * 0.01, 39.9]},
            "properties": {"id": id, "layer": "courier_station", "name": format!("驿站{i}"),
                "source": "test", "position_accuracy": "surveyed", "synthetic": false}});
        Write::Put {
            id,
            layer: Layer::CourierStation,
            body: body.to_string(),
            expect: None,
            op: Op::Create,
        }
    }

    /// With a delta limit of 5, forty creates and ten deletes fold into new bases in
    /// the background while the writes go on (the changes published during a
    /// rebuild replayed onto it), and none is lost: each write is served when its
    /// commit returns, and at the end the delta is small again and every feature
    /// is where the writes put it.
    #[test]
    fn rebuilds_fold_the_delta_and_lose_no_write() {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        let (store, _, _, generation) = open(&dir.path().join("t.db"), &seed).unwrap();
        // A base large enough that a rebuild takes a while (in a debug build), so
        // that writes land while it runs and must be replayed onto it.
        let base: Vec<_> = (0..BASE)
            .map(|i| {
                let p = crate::model::LonLat::new(
                    100.0 + (i % 400) as f64 * 0.05,
                    30.0 + (i / 400) as f64 * 0.02,
                );
                crate::coverage::test_data::facility(i, Layer::DriverHome, p.unwrap())
            })
            .collect();
        let schedules =
            crate::model::hours::Schedules::new(crate::model::hours::Calendar::bundled());
        let data = crate::geodata::Dataset::from_parts(base, Vec::new(), schedules);
        let published = Published::default();
        published.store(Some(Arc::new(Atlas::new(data))));
        let registry = Registry::start(store, published, generation, &seed, 5);
        for i in 0..40 {
            registry.commit("test", None, &[put(i)]).unwrap();
            let atlas = registry.atlas().unwrap();
            assert!(atlas.get(&format!("cs-rebuild-{i}")).is_some(), "write {i}");
        }
        let deletes: Vec<Write> = (0..10)
            .map(|i| Write::Delete {
                id: format!("cs-rebuild-{}", i * 4),
                expect: None,
                op: Op::Delete,
            })
            .collect();
        registry.commit("test", None, &deletes).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while registry.atlas().unwrap().delta_size() >= 5 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let atlas = registry.atlas().unwrap();
        assert!(atlas.delta_size() < 5, "delta of {}", atlas.delta_size());
        assert_eq!(atlas.facility_count(), BASE + 30);
        for i in 0..40 {
            let id = format!("cs-rebuild-{i}");
            let found = atlas.get(&id);
            assert_eq!(found.is_some(), i % 4 != 0, "{id}");
            if let Some(crate::geodata::FeatureRef::Facility(f)) = found {
                assert_eq!(atlas.facility(f).id(), id);
            }
        }
    }
}
