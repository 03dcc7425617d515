//! A binary snapshot of a validated [`Dataset`], next to the GeoJSON it was read
//! from, so a restart skips parsing and validating a million features.
//!
//! The file (`.waystation.snapshot` in the data directory) starts with a key: a
//! hash of the snapshot format, this build's version, and the name, size and
//! modification time of every `*.geojson` file and of the holiday calendar. Any
//! change to the data gives another key, and the snapshot is ignored (and written
//! anew after the GeoJSON is loaded). A snapshot that cannot be read or does not
//! check out is ignored the same way: the GeoJSON is always the source of truth.
//!
//! A database's snapshot (`FILE.snapshot` beside it) is keyed instead by the
//! database's random id, the build and the holiday calendar, and its header says
//! which commit of the database it holds (a [`Stamp`]): it stays usable when the
//! database moves on, the caller replaying the features changed since (see
//! `registry::seed`).
//!
//! Layout (postcard): a [`Header`] with the shared strings and the distinct
//! opening-hours texts, then the facilities in [`CHUNKS`] chunks and the parks in
//! one, each chunk its record count and byte length, then one record per feature.
//! Chunks decode in parallel, each record straight into its in-memory form. The
//! writer reads the records through [`Records`] (a dataset, or a served generation
//! without folding it) and encodes one chunk at a time: it never holds a second
//! copy of the data.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Dataset;
use super::load::{CALENDAR_FILE, data_files, read_calendar};
use crate::model::Shared;
use crate::model::hours::{HoursId, Schedules};
use crate::model::{
    AmenitySet, Facility, FacilityText, Grade, Layer, LonLat, Park, ParkCounts, ParkType,
    PositionAccuracy, Provenance, UnionStatus,
};
pub use crate::store::Stamp;

/// The snapshot's file name in the data directory.
pub const SNAPSHOT_FILE: &str = ".waystation.snapshot";

const MAGIC: &str = "waystation snapshot";
/// Bump when the layout below changes.
const FORMAT: u32 = 3;
/// Facility chunks (decoded side by side on load).
const CHUNKS: usize = 8;

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    magic: &'a str,
    key: u64,
    /// The database commit the records are of (0, 0 for a data directory's).
    generation: i64,
    nonce: i64,
    fingerprint: u64,
    #[serde(borrow)]
    strings: Vec<&'a str>,
    #[serde(borrow)]
    schedules: Vec<&'a str>,
    facilities: u32,
    parks: u32,
}

/// What precedes a chunk's records.
#[derive(Serialize, Deserialize)]
struct ChunkHead {
    records: u32,
    bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct ProvenanceRec<'a> {
    source: u32,
    accuracy: &'a str,
    synthetic: bool,
    updated: u32,
    notes: Option<&'a str>,
}

#[derive(Serialize, Deserialize)]
struct FacilityRec<'a> {
    text: &'a str,
    ends: [u32; 5],
    present: u8,
    layer: &'a str,
    lon: f64,
    lat: f64,
    city: u32,
    district: u32,
    amenities: u32,
    hours: Option<u32>,
    operator: u32,
    grade: Option<Grade>,
    #[serde(borrow)]
    provenance: ProvenanceRec<'a>,
}

#[derive(Serialize, Deserialize)]
struct ParkRec<'a> {
    id: &'a str,
    name: &'a str,
    name_en: Option<&'a str>,
    city: u32,
    district: u32,
    park_type: Option<ParkType>,
    counts: [Option<u32>; 4],
    union_status: Option<UnionStatus>,
    union_founded: u32,
    counts_as_of: u32,
    lon: f64,
    lat: f64,
    geometry: Option<&'a str>,
    #[serde(borrow)]
    provenance: ProvenanceRec<'a>,
}

/// Why a snapshot was not used (logged; the GeoJSON is loaded instead).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// No snapshot, or one for other data or another build.
    #[error("no snapshot for this data")]
    Stale,
    /// Reading or writing the file failed.
    #[error("snapshot file: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes do not decode or do not check out.
    #[error("snapshot is damaged: {0}")]
    Damaged(String),
}

fn damaged(e: impl std::fmt::Display) -> SnapshotError {
    SnapshotError::Damaged(e.to_string())
}

/// The state of a data directory's files that a snapshot is valid for. Take it
/// *before* reading the GeoJSON, so a file changed during the load makes the
/// snapshot stale rather than wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotKey(u64);

/// The key of the data in `dir` as it is on disk now.
pub fn current_key(dir: &Path) -> Result<SnapshotKey, SnapshotError> {
    key(dir).map(SnapshotKey)
}

fn key(dir: &Path) -> Result<u64, SnapshotError> {
    let mut h = DefaultHasher::new();
    h.write(MAGIC.as_bytes());
    h.write_u32(FORMAT);
    h.write(env!("CARGO_PKG_VERSION").as_bytes());
    let files = data_files(dir).map_err(SnapshotError::Io)?;
    for path in files.iter().chain([&dir.join(CALENDAR_FILE)]) {
        file_state(&mut h, path)?;
    }
    Ok(h.finish())
}

/// A file's name, size and modification time (or its absence) into `h`.
fn file_state(h: &mut DefaultHasher, path: &Path) -> Result<(), SnapshotError> {
    h.write(path.as_os_str().as_encoded_bytes());
    match std::fs::metadata(path) {
        Ok(m) => {
            h.write_u64(m.len());
            let modified = m.modified()?;
            let since = modified
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            h.write_u128(since.as_nanos());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => h.write_u8(0),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Strings shared between records, numbered from 1 (0 = absent).
#[derive(Default)]
struct Table<'a> {
    strings: Vec<&'a str>,
    index: std::collections::HashMap<&'a str, u32>,
}

impl<'a> Table<'a> {
    fn id(&mut self, s: Option<&'a str>) -> u32 {
        let Some(s) = s else { return 0 };
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        self.strings.push(s);
        let i = self.strings.len() as u32;
        self.index.insert(s, i);
        i
    }

    fn provenance(&mut self, p: &'a Provenance) -> ProvenanceRec<'a> {
        ProvenanceRec {
            source: self.id(Some(&p.source)),
            accuracy: p.position_accuracy.id(),
            synthetic: p.synthetic,
            updated: self.id(p.updated.as_deref()),
            notes: p.notes.as_deref(),
        }
    }
}

/// Writes the snapshot of `data`, loaded from `dir` when its files were as `key`
/// says (atomically: a temporary file, then a rename).
pub fn write(dir: &Path, data: &Dataset, key: SnapshotKey) -> Result<PathBuf, SnapshotError> {
    write_to(&dir.join(SNAPSHOT_FILE), data, key)
}

/// The key of a database's snapshots: the database's random id (see
/// `Store::database_id`), this build (the executable's size and modification
/// time: a rebuilt program may validate differently) and the holiday calendar of
/// `calendar_dir`. Which generation a snapshot holds is in its header, not its key.
pub fn database_key(database_id: &str, calendar_dir: &Path) -> Result<SnapshotKey, SnapshotError> {
    let mut h = DefaultHasher::new();
    h.write(MAGIC.as_bytes());
    h.write_u32(FORMAT);
    h.write(env!("CARGO_PKG_VERSION").as_bytes());
    file_state(&mut h, &std::env::current_exe()?)?;
    h.write(b"database");
    h.write(database_id.as_bytes());
    file_state(&mut h, &calendar_dir.join(CALENDAR_FILE))?;
    Ok(SnapshotKey(h.finish()))
}

/// The snapshot file of a database: beside it, `FILE.snapshot`.
pub fn database_snapshot(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".snapshot");
    PathBuf::from(name)
}

/// [`write`] to the file `path`.
pub fn write_to(path: &Path, data: &Dataset, key: SnapshotKey) -> Result<PathBuf, SnapshotError> {
    write_records(path, data, key, None, Pace::Full)
}

/// The features a snapshot is written from, by index (a [`Dataset`], or a served
/// generation read through its delta without folding it).
pub trait Records {
    /// How many facilities.
    fn facility_count(&self) -> usize;
    /// Facility `i`, below [`Records::facility_count`].
    fn facility(&self, i: u32) -> &Facility;
    /// How many parks.
    fn park_count(&self) -> usize;
    /// Park `i`, below [`Records::park_count`].
    fn park(&self, i: u32) -> &Park;
    /// The opening-hours expressions the facilities refer to.
    fn schedules(&self) -> &Schedules;
    /// The data's fingerprint.
    fn fingerprint(&self) -> u64;
}

impl Records for Dataset {
    fn facility_count(&self) -> usize {
        self.facilities.len()
    }
    fn facility(&self, i: u32) -> &Facility {
        &self.facilities[i as usize]
    }
    fn park_count(&self) -> usize {
        self.parks.len()
    }
    fn park(&self, i: u32) -> &Park {
        &self.parks[i as usize]
    }
    fn schedules(&self) -> &Schedules {
        &self.schedules
    }
    fn fingerprint(&self) -> u64 {
        Dataset::fingerprint(self)
    }
}

/// How hard a writer may work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// As fast as it can (at start-up and shutdown, when nothing else runs).
    Full,
    /// At most about half of one core: it sleeps as long as it has worked, every
    /// few thousand records (a background write while the server answers).
    Background,
}

/// Records between two pauses of a [`Pace::Background`] writer.
const PACE_RECORDS: usize = 8_192;

/// Writes the snapshot of `records` to `path` under `key`, saying it holds the
/// database commit `stamp` (none for a data directory): atomically (a temporary
/// file, fsync'd, then a rename), one chunk in memory at a time.
pub fn write_records(
    path: &Path,
    records: &(impl Records + ?Sized),
    key: SnapshotKey,
    stamp: Option<Stamp>,
    pace: Pace,
) -> Result<PathBuf, SnapshotError> {
    match write_unless(path, records, key, stamp, pace, None)? {
        Written::Wrote(path) => Ok(path),
        // Never: nothing is asked to be kept.
        Written::Kept(_) => Err(SnapshotError::Stale),
    }
}

/// What [`write_database`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Wrote the snapshot, to this file.
    Wrote(PathBuf),
    /// Kept the snapshot already there (of this database, holding this commit),
    /// which the caller's `keep` preferred: nothing was written.
    Kept(Stamp),
}

/// [`write_records`] of a database's snapshot holding the commit `stamp`, unless
/// the one already at `path` under the same `key` is to be kept: `keep` is asked
/// with the commit that one holds before anything is written and again just
/// before the rename, which another writer's rename cannot interleave with (a lock
/// on `PATH.lock`). Another process (the CLI beside a server) may write its
/// snapshot meanwhile: this way an older one never replaces it.
pub fn write_database(
    path: &Path,
    records: &(impl Records + ?Sized),
    key: SnapshotKey,
    stamp: Stamp,
    pace: Pace,
    mut keep: impl FnMut(Stamp) -> bool,
) -> Result<Written, SnapshotError> {
    if let Some(there) = stamp_under(path, key)
        && keep(there)
    {
        return Ok(Written::Kept(there));
    }
    let mut kept = || stamp_under(path, key).filter(|there| keep(*there));
    write_unless(path, records, key, Some(stamp), pace, Some(&mut kept))
}

/// The commit the snapshot at `path` holds, if it is one of this format under
/// `key` (none when missing, of another key, or unreadable: then it is replaced).
fn stamp_under(path: &Path, key: SnapshotKey) -> Option<Stamp> {
    let mut head = Vec::new();
    let file = std::fs::File::open(path).ok()?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, 4096), &mut head).ok()?;
    #[derive(Deserialize)]
    struct Start<'a> {
        magic: &'a str,
        key: u64,
        generation: i64,
        nonce: i64,
    }
    let (start, _) = postcard::take_from_bytes::<Start<'_>>(&head).ok()?;
    (start.magic == MAGIC && start.key == key.0).then_some(Stamp {
        generation: start.generation,
        nonce: start.nonce,
    })
}

/// Holds the lock beside a snapshot (`PATH.lock`) while its writer checks what is
/// there and renames its own over it. `None` when the lock cannot be had (a file
/// system without locks): the check and the rename then run unlocked.
fn rename_lock(path: &Path) -> Option<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(name))
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

/// [`write_records`], renamed over `path` unless `kept()`, asked under the rename
/// lock just before the rename, says which commit the snapshot there holds that is
/// to be kept instead (then the temporary file is removed). Without `kept`, no lock.
fn write_unless(
    path: &Path,
    records: &(impl Records + ?Sized),
    key: SnapshotKey,
    stamp: Option<Stamp>,
    pace: Pace,
    mut kept: Option<&mut dyn FnMut() -> Option<Stamp>>,
) -> Result<Written, SnapshotError> {
    let SnapshotKey(key) = key;
    let (nf, np) = (records.facility_count(), records.park_count());
    // First pass: the shared strings, which the header carries.
    let mut table = Table::default();
    for i in 0..nf {
        let f = records.facility(i as u32);
        let _ = facility_rec(&mut table, f);
    }
    for i in 0..np {
        let _ = park_rec(&mut table, records.park(i as u32));
    }
    let schedules = records.schedules();
    let header = Header {
        magic: MAGIC,
        key,
        generation: stamp.map_or(0, |s| s.generation),
        nonce: stamp.map_or(0, |s| s.nonce),
        fingerprint: records.fingerprint(),
        strings: table.strings.clone(),
        schedules: (0..schedules.len())
            .map(|i| schedules.text(HoursId::from_index(i)))
            .collect(),
        facilities: nf as u32,
        parks: np as u32,
    };

    let path = path.to_owned();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut pacer = Pacer::new(pace);
    let result = (|| -> Result<Written, SnapshotError> {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        postcard::to_io(&header, &mut out).map_err(damaged)?;
        let per_chunk = nf.div_ceil(CHUNKS).max(1);
        for c in 0..CHUNKS {
            let range = (c * per_chunk).min(nf)..((c + 1) * per_chunk).min(nf);
            write_chunk(&mut out, range, &mut pacer, |i| {
                facility_rec(&mut table, records.facility(i))
            })?;
        }
        write_chunk(&mut out, 0..np, &mut pacer, |i| {
            park_rec(&mut table, records.park(i))
        })?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        let lock = kept.is_some().then(|| rename_lock(&path));
        if let Some(there) = kept.as_mut().and_then(|kept| kept()) {
            drop(lock);
            let _ = std::fs::remove_file(&tmp);
            return Ok(Written::Kept(there));
        }
        std::fs::rename(&tmp, &path)?;
        drop(lock);
        // The rename is durable once the directory is.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(Written::Wrote(path.clone()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Sleeps a [`Pace::Background`] writer as long as it has worked.
struct Pacer {
    pace: Pace,
    since: std::time::Instant,
    records: usize,
}

impl Pacer {
    fn new(pace: Pace) -> Self {
        Pacer {
            pace,
            since: std::time::Instant::now(),
            records: 0,
        }
    }

    fn record(&mut self) {
        if self.pace == Pace::Full {
            return;
        }
        self.records += 1;
        if self.records >= PACE_RECORDS {
            std::thread::sleep(self.since.elapsed());
            self.records = 0;
            self.since = std::time::Instant::now();
        }
    }
}

fn facility_rec<'a>(table: &mut Table<'a>, f: &'a Facility) -> FacilityRec<'a> {
    let (text, ends, present) = f.text.raw();
    FacilityRec {
        text,
        ends,
        present,
        layer: f.layer.id(),
        lon: f.position.lon(),
        lat: f.position.lat(),
        city: table.id(f.city.as_deref()),
        district: table.id(f.district.as_deref()),
        amenities: f.amenities.bits(),
        hours: f.hours.map(|h| h.index() as u32),
        operator: table.id(f.operator.as_deref()),
        grade: f.grade,
        provenance: table.provenance(&f.provenance),
    }
}

fn park_rec<'a>(table: &mut Table<'a>, p: &'a Park) -> ParkRec<'a> {
    ParkRec {
        id: &p.id,
        name: &p.name,
        name_en: p.name_en.as_deref(),
        city: table.id(p.city.as_deref()),
        district: table.id(p.district.as_deref()),
        park_type: p.park_type,
        counts: [
            p.counts.enterprises,
            p.counts.unionised_enterprises,
            p.counts.workers,
            p.counts.union_members,
        ],
        union_status: p.union_status,
        union_founded: table.id(p.union_founded.as_deref()),
        counts_as_of: table.id(p.counts_as_of.as_deref()),
        lon: p.position.lon(),
        lat: p.position.lat(),
        geometry: p.geometry.as_deref().map(RawValue::get),
        provenance: table.provenance(&p.provenance),
    }
}

/// Encodes the records `range` (made by `make`) as one chunk, straight to `out`:
/// a first pass only counts the bytes its head announces, so no chunk is held in
/// memory (at 1M facilities one is 25 MB).
fn write_chunk<T: Serialize>(
    out: &mut impl std::io::Write,
    range: std::ops::Range<usize>,
    pacer: &mut Pacer,
    mut make: impl FnMut(u32) -> T,
) -> Result<(), SnapshotError> {
    let mut counted = Counter(0);
    for i in range.clone() {
        postcard::to_io(&make(i as u32), &mut counted).map_err(damaged)?;
        pacer.record();
    }
    let head = ChunkHead {
        records: range.len() as u32,
        bytes: counted.0,
    };
    postcard::to_io(&head, &mut *out).map_err(damaged)?;
    for i in range {
        postcard::to_io(&make(i as u32), &mut *out).map_err(damaged)?;
        pacer.record();
    }
    Ok(())
}

/// A writer that only counts.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The next chunk of `rest`: its record count and bytes.
fn take_chunk<'a>(rest: &mut &'a [u8]) -> Result<(u32, &'a [u8]), SnapshotError> {
    let (head, after) = postcard::take_from_bytes::<ChunkHead>(rest).map_err(damaged)?;
    let len = usize::try_from(head.bytes).map_err(damaged)?;
    if after.len() < len {
        return Err(damaged("chunk runs past the end"));
    }
    let (chunk, after) = after.split_at(len);
    *rest = after;
    Ok((head.records, chunk))
}

/// Decodes `count` records of `chunk` with `make`, all of it or an error.
fn decode_chunk<'a, R: Deserialize<'a>, T>(
    count: u32,
    mut chunk: &'a [u8],
    make: impl Fn(R) -> Result<T, SnapshotError>,
) -> Result<Vec<T>, SnapshotError> {
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (r, next) = postcard::take_from_bytes::<R>(chunk).map_err(damaged)?;
        chunk = next;
        out.push(make(r)?);
    }
    if !chunk.is_empty() {
        return Err(damaged("trailing bytes in a chunk"));
    }
    Ok(out)
}

/// Reads the snapshot of `dir` if it was written for the data as `key` says (take
/// it with [`current_key`]: the caller keeps it, to write a new snapshot with if
/// this one is stale).
pub fn read(dir: &Path, key: SnapshotKey) -> Result<Dataset, SnapshotError> {
    read_from(&dir.join(SNAPSHOT_FILE), dir, key)
}

/// [`read`] from the file `path`, with the holiday calendar of `calendar_dir`.
pub fn read_from(
    path: &Path,
    calendar_dir: &Path,
    key: SnapshotKey,
) -> Result<Dataset, SnapshotError> {
    read_stamped(path, calendar_dir, key, |_| true).map(|(data, _)| data)
}

/// The database commit the snapshot at `path` says it holds, if it is a snapshot
/// of this format (its key is not checked: for diagnostics and tests).
pub fn stamp_of(path: &Path) -> Result<Stamp, SnapshotError> {
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path)?, 4096),
        &mut head,
    )?;
    // The header's strings may run past what was read: decode only what precedes them.
    #[derive(Deserialize)]
    struct Start<'a> {
        magic: &'a str,
        _key: u64,
        generation: i64,
        nonce: i64,
    }
    let (start, _) = postcard::take_from_bytes::<Start<'_>>(&head).map_err(damaged)?;
    if start.magic != MAGIC {
        return Err(SnapshotError::Stale);
    }
    Ok(Stamp {
        generation: start.generation,
        nonce: start.nonce,
    })
}

/// [`read_from`] a database's snapshot, if `accept` takes the commit it says it
/// holds (asked before the records are decoded); the records and that commit.
pub fn read_stamped(
    path: &Path,
    calendar_dir: &Path,
    key: SnapshotKey,
    accept: impl FnOnce(Stamp) -> bool,
) -> Result<(Dataset, Stamp), SnapshotError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SnapshotError::Stale),
        Err(e) => return Err(e.into()),
    };
    let (header, mut rest) =
        postcard::take_from_bytes::<Header<'_>>(&bytes).map_err(|_| SnapshotError::Stale)?;
    if header.magic != MAGIC || header.key != key.0 {
        return Err(SnapshotError::Stale);
    }
    let stamp = Stamp {
        generation: header.generation,
        nonce: header.nonce,
    };
    if !accept(stamp) {
        return Err(SnapshotError::Stale);
    }
    let shared: Vec<Shared> = header.strings.iter().map(|s| Shared::new(s)).collect();
    let string = |i: u32| -> Result<Option<Shared>, SnapshotError> {
        match i {
            0 => Ok(None),
            i => shared
                .get(i as usize - 1)
                .cloned()
                .map(Some)
                .ok_or_else(|| damaged(format!("string {i} out of range"))),
        }
    };
    let provenance = |p: ProvenanceRec<'_>| -> Result<Provenance, SnapshotError> {
        Ok(Provenance {
            source: string(p.source)?.ok_or_else(|| damaged("source missing"))?,
            position_accuracy: p.accuracy.parse::<PositionAccuracy>().map_err(damaged)?,
            synthetic: p.synthetic,
            updated: string(p.updated)?,
            notes: p.notes.map(Into::into),
        })
    };

    let (calendar, _) = read_calendar(calendar_dir).map_err(damaged)?;
    let mut schedules = Schedules::new(calendar.map_err(damaged)?);
    for (i, text) in header.schedules.iter().enumerate() {
        let id = schedules.intern(text).map_err(damaged)?;
        if id.index() != i {
            return Err(damaged("opening hours out of order"));
        }
    }

    let facility = |f: FacilityRec<'_>| -> Result<Facility, SnapshotError> {
        let hours = match f.hours {
            Some(i) if (i as usize) < schedules.len() => Some(HoursId::from_index(i as usize)),
            Some(_) => return Err(damaged("opening hours out of range")),
            None => None,
        };
        Ok(Facility {
            text: FacilityText::from_raw(f.text, f.ends, f.present).map_err(damaged)?,
            layer: f.layer.parse::<Layer>().map_err(damaged)?,
            position: LonLat::new(f.lon, f.lat).map_err(damaged)?,
            city: string(f.city)?,
            district: string(f.district)?,
            amenities: AmenitySet::from_bits(f.amenities),
            hours,
            operator: string(f.operator)?,
            grade: f.grade,
            provenance: provenance(f.provenance)?,
        })
    };
    let park = |p: ParkRec<'_>| -> Result<Park, SnapshotError> {
        let [enterprises, unionised_enterprises, workers, union_members] = p.counts;
        Ok(Park {
            id: p.id.into(),
            name: p.name.into(),
            name_en: p.name_en.map(Into::into),
            city: string(p.city)?,
            district: string(p.district)?,
            park_type: p.park_type,
            counts: ParkCounts {
                enterprises,
                unionised_enterprises,
                workers,
                union_members,
            },
            union_status: p.union_status,
            union_founded: string(p.union_founded)?,
            counts_as_of: string(p.counts_as_of)?,
            position: LonLat::new(p.lon, p.lat).map_err(damaged)?,
            geometry: p
                .geometry
                .map(|g| RawValue::from_string(g.to_owned()))
                .transpose()
                .map_err(damaged)?,
            provenance: provenance(p.provenance)?,
        })
    };

    let chunks = (0..CHUNKS)
        .map(|_| take_chunk(&mut rest))
        .collect::<Result<Vec<_>, _>>()?;
    let (park_count, park_bytes) = take_chunk(&mut rest)?;
    if !rest.is_empty() {
        return Err(damaged("trailing bytes"));
    }
    let decoded: Vec<Result<Vec<Facility>, SnapshotError>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|&(count, bytes)| s.spawn(move || decode_chunk(count, bytes, facility)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(damaged("a decoding thread panicked")))
            })
            .collect()
    });
    let mut facilities = Vec::with_capacity(header.facilities as usize);
    for part in decoded {
        facilities.append(&mut part?);
    }
    if facilities.len() != header.facilities as usize || park_count != header.parks {
        return Err(damaged("record counts differ from the header"));
    }
    let parks = decode_chunk(park_count, park_bytes, park)?;
    let data = Dataset::restored(facilities, parks, schedules, header.fingerprint);
    Ok((data, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_bundled(to: &Path) {
        for e in std::fs::read_dir("geodata").unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".geojson") || name == CALENDAR_FILE {
                std::fs::copy(&p, to.join(name)).unwrap();
            }
        }
    }

    /// The snapshot gives back the very records the GeoJSON gave, and goes stale
    /// when a file changes.
    #[test]
    fn round_trip_and_staleness() {
        let dir = tempfile::tempdir().unwrap();
        copy_bundled(dir.path());
        assert!(matches!(
            read(dir.path(), current_key(dir.path()).unwrap()),
            Err(SnapshotError::Stale)
        ));
        let key = current_key(dir.path()).unwrap();
        let loaded = super::super::load_dir(dir.path()).unwrap();
        write(dir.path(), &loaded, key).unwrap();
        let restored = read(dir.path(), current_key(dir.path()).unwrap()).unwrap();
        assert_eq!(restored.fingerprint(), loaded.fingerprint());
        assert_eq!(restored.facilities.len(), loaded.facilities.len());
        assert_eq!(restored.parks.len(), loaded.parks.len());
        for (a, b) in restored.facilities.iter().zip(&loaded.facilities) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        for (a, b) in restored.parks.iter().zip(&loaded.parks) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        let some = &loaded.facilities[7];
        assert_eq!(
            restored.get(some.id()),
            Some(super::super::FeatureRef::Facility(7))
        );

        // Touch a file: same bytes, new time — stale.
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "geojson"))
            .unwrap();
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        assert!(matches!(
            read(dir.path(), current_key(dir.path()).unwrap()),
            Err(SnapshotError::Stale)
        ));

        // A file changed while it was being read: the snapshot written with the key
        // taken before the load is stale at once.
        let before = current_key(dir.path()).unwrap();
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(9))
            .unwrap();
        write(dir.path(), &loaded, before).unwrap();
        assert!(matches!(
            read(dir.path(), current_key(dir.path()).unwrap()),
            Err(SnapshotError::Stale)
        ));
    }

    /// A snapshot written from records says which commit it holds; a reader that
    /// does not take that commit, or has another key, gets `Stale`.
    #[test]
    fn stamped_snapshot_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        copy_bundled(dir.path());
        let loaded = super::super::load_dir(dir.path()).unwrap();
        let path = dir.path().join("t.db.snapshot");
        let key = database_key("one", dir.path()).unwrap();
        let stamp = Stamp {
            generation: 7,
            nonce: -3,
        };
        write_records(&path, &loaded, key, Some(stamp), Pace::Background).unwrap();
        assert_eq!(stamp_of(&path).unwrap(), stamp);
        let (restored, got) = read_stamped(&path, dir.path(), key, |s| s == stamp).unwrap();
        assert_eq!(got, stamp);
        assert_eq!(restored.fingerprint(), loaded.fingerprint());
        for (a, b) in restored.facilities.iter().zip(&loaded.facilities) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        for (a, b) in restored.parks.iter().zip(&loaded.parks) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        assert!(matches!(
            read_stamped(&path, dir.path(), key, |s| s.generation < 7),
            Err(SnapshotError::Stale)
        ));
        let other = database_key("two", dir.path()).unwrap();
        assert!(matches!(
            read_stamped(&path, dir.path(), other, |_| true),
            Err(SnapshotError::Stale)
        ));
    }

    /// A damaged snapshot is refused, never half-read.
    #[test]
    fn damaged_snapshot_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        copy_bundled(dir.path());
        let key = current_key(dir.path()).unwrap();
        let loaded = super::super::load_dir(dir.path()).unwrap();
        let path = write(dir.path(), &loaded, key).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        // Keep the key valid: only the body is cut.
        assert!(matches!(
            read(dir.path(), current_key(dir.path()).unwrap()),
            Err(SnapshotError::Damaged(_))
        ));
    }

    /// A database's snapshot never replaces one its caller keeps: neither one there
    /// before the write, nor one another writer renamed into place during it; one
    /// under another key is replaced without asking, and no temporary file is left.
    #[test]
    fn a_kept_snapshot_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        copy_bundled(dir.path());
        let data = super::super::load_dir(dir.path()).unwrap();
        let path = dir.path().join("t.db.snapshot");
        let key = database_key("one", dir.path()).unwrap();
        let at = |generation| Stamp {
            generation,
            nonce: generation * 7,
        };
        let write = |stamp: Stamp, keep: &mut dyn FnMut(Stamp) -> bool| {
            write_database(&path, &data, key, stamp, Pace::Full, keep).unwrap()
        };
        // Nothing there: written, nothing asked.
        let mut never = |_: Stamp| -> bool { panic!("asked with nothing there") };
        assert_eq!(write(at(5), &mut never), Written::Wrote(path.clone()));
        assert_eq!(stamp_of(&path).unwrap(), at(5));
        // An older commit than the one there: kept, untouched.
        let mut newer = |there: Stamp| there.generation >= 4;
        assert_eq!(write(at(4), &mut newer), Written::Kept(at(5)));
        assert_eq!(stamp_of(&path).unwrap(), at(5));
        // Another writer's newer snapshot renamed into place while this one writes
        // (after its first look): kept at the rename.
        let mut asked = Vec::new();
        let mut racing = |there: Stamp| {
            asked.push(there.generation);
            if asked.len() == 1 {
                let mut no = |_: Stamp| false;
                assert!(matches!(write(at(9), &mut no), Written::Wrote(_)));
            }
            there.generation >= 6
        };
        assert_eq!(write(at(6), &mut racing), Written::Kept(at(9)));
        assert_eq!(asked, [5, 9]);
        assert_eq!(stamp_of(&path).unwrap(), at(9));
        // A newer commit than the one there replaces it.
        let mut newer = |there: Stamp| there.generation >= 10;
        assert_eq!(write(at(10), &mut newer), Written::Wrote(path.clone()));
        assert_eq!(stamp_of(&path).unwrap(), at(10));
        let (restored, _) = read_stamped(&path, dir.path(), key, |s| s == at(10)).unwrap();
        assert_eq!(restored.fingerprint(), data.fingerprint());
        // Another key's (another database, another build): replaced unasked.
        let other = database_key("two", dir.path()).unwrap();
        let written =
            write_database(&path, &data, other, at(3), Pace::Full, |_| panic!("asked")).unwrap();
        assert_eq!(written, Written::Wrote(path.clone()));
        assert_eq!(stamp_of(&path).unwrap(), at(3));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
