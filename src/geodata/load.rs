//! Reading and validating a data directory into a [`Dataset`].
//!
//! 1. list the `*.geojson` files: the stem before the first `.` names the layer
//!    (`driver_home.reported.geojson`, `park.synthetic.geojson`, …);
//! 2. parse each FeatureCollection, one feature at a time (no feature is held before
//!    it is a record);
//! 3. validate every feature with the model's one validation
//!    ([`FeatureInput::validate`]), collecting *all* problems (feature id, field,
//!    why) rather than stopping at the first, and add the file to each;
//! 4. check ids are unique across all files.
//!
//! A dataset with any problem is refused whole: the server never starts on half the data.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::ids::IdIndex;
use crate::model::hours::{Calendar, Schedules};
use crate::model::properties::Kind;
use crate::model::{
    Context, Facility, FacilityInput, FeatureInput, FieldProblem, Layer, Park, ParkInput,
};

/// The holiday calendar's file name inside a data directory.
pub const CALENDAR_FILE: &str = "holidays_cn.json";

/// One thing wrong with the data: where, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// The feature's id, or its index when it has none.
    pub feature: Option<String>,
    /// The field at fault (`geometry`, `properties.amenities`, …).
    pub field: String,
    /// Why it is refused.
    pub reason: String,
}

impl Problem {
    /// A feature's problem, in `file`.
    pub fn in_file(file: &Path, p: FieldProblem) -> Self {
        Problem {
            file: file.to_owned(),
            feature: p.feature,
            field: p.field,
            reason: p.reason,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(id) = &self.feature {
            write!(f, "feature {id}: ")?;
        }
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Why a data directory could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The directory itself could not be read.
    #[error("cannot read data directory {dir}: {source}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The data has problems; one line each.
    #[error("{} problem(s) in the data:\n{}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// Where an id points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureRef {
    /// Index into [`Dataset::facilities`].
    Facility(u32),
    /// Index into [`Dataset::parks`].
    Park(u32),
}

/// Every feature of a data directory, validated.
#[derive(Debug)]
pub struct Dataset {
    /// All facilities of the three facility layers.
    pub facilities: Vec<Facility>,
    /// All parks.
    pub parks: Vec<Park>,
    /// The distinct opening-hours expressions and the holiday calendar.
    pub schedules: Schedules,
    ids: IdIndex,
    fingerprint: u64,
}

impl Dataset {
    /// Finds a feature by id.
    pub fn get(&self, id: &str) -> Option<FeatureRef> {
        self.ids.get(id, &self.facilities, &self.parks)
    }

    /// A dataset from its parts and fingerprint (a snapshot of a validated one, or
    /// [`Dataset::from_parts`]).
    pub(super) fn restored(
        facilities: Vec<Facility>,
        parks: Vec<Park>,
        schedules: Schedules,
        fingerprint: u64,
    ) -> Self {
        let ids = IdIndex::of(&facilities, &parks);
        Dataset {
            facilities,
            parks,
            schedules,
            ids,
            fingerprint,
        }
    }

    /// A dataset built in code rather than read from files (tests, benchmarks).
    /// It is not validated: [`load_dir`] is the checked path.
    pub fn from_parts(facilities: Vec<Facility>, parks: Vec<Park>, schedules: Schedules) -> Self {
        let mut hasher = DefaultHasher::new();
        for f in &facilities {
            hasher.write(f.id().as_bytes());
        }
        for p in &parks {
            hasher.write(p.id.as_bytes());
        }
        Self::restored(facilities, parks, schedules, hasher.finish())
    }

    /// A hash of every input byte: equal fingerprints mean equal data (used for ETags).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// The `*.geojson` files of `dir`, sorted.
pub(super) fn data_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "geojson"))
        .collect();
    files.sort();
    Ok(files)
}

/// The holiday calendar of `dir` (`holidays_cn.json`), else the bundled one, with
/// the text it was read from (empty for the bundled one); `Err(reason)` inside when
/// the file does not parse, the outer error when it cannot be read.
pub fn read_calendar(dir: &Path) -> std::io::Result<(Result<Calendar, String>, String)> {
    match std::fs::read_to_string(dir.join(CALENDAR_FILE)) {
        Ok(text) => Ok((Calendar::from_json(&text), text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((Ok(Calendar::bundled()), String::new()))
        }
        Err(e) => Err(e),
    }
}

/// Loads and validates every `*.geojson` file of `dir`, and its holiday calendar
/// (`holidays_cn.json`, else the one bundled into the binary).
pub fn load_dir(dir: &Path) -> Result<Dataset, LoadError> {
    let io_err = |source| LoadError::Dir {
        dir: dir.to_owned(),
        source,
    };
    let files = data_files(dir).map_err(io_err)?;

    let mut problems = Vec::new();
    let mut hasher = DefaultHasher::new();
    let (calendar, text) = read_calendar(dir).map_err(io_err)?;
    hasher.write(text.as_bytes());
    let calendar = calendar.unwrap_or_else(|reason| {
        problems.push(Problem {
            file: dir.join(CALENDAR_FILE),
            feature: None,
            field: "calendar".into(),
            reason,
        });
        Calendar::default()
    });

    let mut builder = Builder::new(Schedules::new(calendar), problems);
    for path in &files {
        let bytes = std::fs::read(path).map_err(io_err)?;
        hasher.write(path.as_os_str().as_encoded_bytes());
        hasher.write(&bytes);
        builder.file(path, &bytes);
    }
    builder.finish(hasher.finish())
}

/// One layer's features as a GeoJSON FeatureCollection held in memory (a store's
/// rows, an import), labelled for the problems it may have.
pub struct Collection {
    /// Where the features come from, for problem reports (`waystation.db`, …).
    pub label: PathBuf,
    /// The layer every feature belongs to.
    pub layer: Layer,
    /// The FeatureCollection's bytes.
    pub bytes: Vec<u8>,
}

/// Validates collections held in memory exactly as [`load_dir`] validates files.
pub fn load_collections(
    collections: &[Collection],
    calendar: Calendar,
) -> Result<Dataset, LoadError> {
    let mut hasher = DefaultHasher::new();
    let mut builder = Builder::new(Schedules::new(calendar), Vec::new());
    for c in collections {
        hasher.write(c.layer.id().as_bytes());
        hasher.write(&c.bytes);
        builder.collection(&c.label, c.layer, &c.bytes);
    }
    builder.finish(hasher.finish())
}

/// One change to a dataset: a feature written (created or replaced) or removed.
#[derive(Clone, Debug)]
pub enum Change {
    /// A GeoJSON Feature of `layer`, replacing any feature with the same id.
    Put {
        /// The feature's layer.
        layer: Layer,
        /// The feature's id (also in its properties).
        id: String,
        /// The GeoJSON Feature.
        feature: Vec<u8>,
    },
    /// The feature with this id is gone.
    Delete {
        /// The feature's id.
        id: String,
    },
}

/// Validates one GeoJSON Feature of `layer` on its own, as the loader would: every
/// field at fault, each with its reason (the field names are the loader's:
/// `geometry`, `properties.name`, …). Uniqueness of the id is the caller's to check.
pub fn validate_feature(layer: Layer, feature: &[u8]) -> Result<(), Vec<FieldProblem>> {
    let mut ctx = Context::new(Schedules::new(Calendar::bundled()));
    let json = |e: serde_json::Error| {
        vec![FieldProblem {
            feature: None,
            field: "json".into(),
            reason: format!("not a GeoJSON Feature: {e}"),
        }]
    };
    if layer.is_facility() {
        serde_json::from_slice::<FeatureInput<FacilityInput>>(feature)
            .map_err(json)?
            .validate(layer, 0, &mut ctx)
            .map(drop)
    } else {
        serde_json::from_slice::<FeatureInput<ParkInput>>(feature)
            .map_err(json)?
            .validate(layer, 0, &mut ctx)
            .map(drop)
    }
}

impl Dataset {
    /// A new dataset: this one with `changes` applied in order (later changes to the
    /// same id win). The records that do not change are copied, not re-validated;
    /// the written features are validated as the loader does.
    pub fn with_changes(&self, changes: &[Change], label: &Path) -> Result<Dataset, LoadError> {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, c) in changes.iter().enumerate() {
            let id = match c {
                Change::Put { id, .. } | Change::Delete { id } => id.as_str(),
            };
            last.insert(id, i);
        }
        let mut builder = Builder::new(self.schedules.clone(), Vec::new());
        builder.facilities = self
            .facilities
            .iter()
            .filter(|f| !last.contains_key(f.id()))
            .cloned()
            .collect();
        builder.parks = self
            .parks
            .iter()
            .filter(|p| !last.contains_key(&*p.id))
            .cloned()
            .collect();
        builder.ids = IdIndex::of(&builder.facilities, &builder.parks);
        let mut hasher = DefaultHasher::new();
        hasher.write_u64(self.fingerprint);
        for (i, c) in changes.iter().enumerate() {
            if let Change::Put { layer, id, feature } = c
                && last.get(id.as_str()) == Some(&i)
            {
                hasher.write(feature);
                builder.single(label, *layer, feature);
            } else if let Change::Delete { id } = c {
                hasher.write(id.as_bytes());
            }
        }
        builder.finish(hasher.finish())
    }

    /// An empty dataset with this one's schedules and fingerprint: the start of a
    /// delta of edits over it (see [`crate::index::Atlas::with_changes`]).
    pub fn empty_like(&self) -> Dataset {
        Dataset::restored(
            Vec::new(),
            Vec::new(),
            self.schedules.clone(),
            self.fingerprint,
        )
    }

    /// `base` without its facilities and parks at the (sorted) indexes `dead_facilities`
    /// and `dead_parks`, followed by `delta`'s, with `delta`'s schedules (a superset of
    /// `base`'s) and fingerprint. With `delta` the result of `with_changes` on
    /// [`Dataset::empty_like`] and the dead ones every base feature those changes
    /// touched, this is what `base.with_changes` of the same changes gives.
    pub fn joined(
        base: &Dataset,
        dead_facilities: &[u32],
        dead_parks: &[u32],
        delta: &Dataset,
    ) -> Dataset {
        fn keep<T: Clone>(all: &[T], dead: &[u32], extra: &[T]) -> Vec<T> {
            let mut out = Vec::with_capacity(all.len().saturating_sub(dead.len()) + extra.len());
            let mut start = 0;
            for &d in dead {
                let d = d as usize;
                if d >= start && d < all.len() {
                    out.extend_from_slice(&all[start..d]);
                    start = d + 1;
                }
            }
            out.extend_from_slice(&all[start.min(all.len())..]);
            out.extend_from_slice(extra);
            out
        }
        Dataset::restored(
            keep(&base.facilities, dead_facilities, &delta.facilities),
            keep(&base.parks, dead_parks, &delta.parks),
            delta.schedules.clone(),
            delta.fingerprint,
        )
    }
}

struct Builder {
    facilities: Vec<Facility>,
    parks: Vec<Park>,
    ids: IdIndex,
    /// Ids of refused features (valid ones are in `ids`), to report duplicates of them too.
    invalid_ids: HashSet<Box<str>>,
    /// The opening hours and the repeated strings (city, operator, source, dates).
    ctx: Context,
    problems: Vec<Problem>,
}

/// Where a validated record goes.
trait Record {
    fn id(&self) -> &str;
    fn store(self, b: &mut Builder) -> FeatureRef;
}

impl Record for Facility {
    fn id(&self) -> &str {
        Facility::id(self)
    }
    fn store(self, b: &mut Builder) -> FeatureRef {
        b.facilities.push(self);
        FeatureRef::Facility((b.facilities.len() - 1) as u32)
    }
}

impl Record for Park {
    fn id(&self) -> &str {
        &self.id
    }
    fn store(self, b: &mut Builder) -> FeatureRef {
        b.parks.push(self);
        FeatureRef::Park((b.parks.len() - 1) as u32)
    }
}

impl Builder {
    fn new(schedules: Schedules, problems: Vec<Problem>) -> Self {
        Builder {
            facilities: Vec::new(),
            parks: Vec::new(),
            ids: IdIndex::default(),
            invalid_ids: HashSet::new(),
            ctx: Context::new(schedules),
            problems,
        }
    }

    fn finish(self, fingerprint: u64) -> Result<Dataset, LoadError> {
        if !self.problems.is_empty() {
            return Err(LoadError::Invalid(self.problems));
        }
        Ok(Dataset {
            facilities: self.facilities,
            parks: self.parks,
            schedules: self.ctx.schedules,
            ids: self.ids,
            fingerprint,
        })
    }

    fn file(&mut self, path: &Path, bytes: &[u8]) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let stem = name.split('.').next().unwrap_or("");
        match stem.parse::<Layer>() {
            Ok(layer) => self.collection(path, layer, bytes),
            Err(e) => self.problems.push(Problem {
                file: path.to_owned(),
                feature: None,
                field: "file name".into(),
                reason: e.to_string(),
            }),
        }
    }

    /// One GeoJSON Feature on its own.
    fn single(&mut self, path: &Path, layer: Layer, bytes: &[u8]) {
        let parsed = if layer.is_facility() {
            serde_json::from_slice::<FeatureInput<FacilityInput>>(bytes)
                .map(|raw| self.feature(path, layer, 0, raw))
        } else {
            serde_json::from_slice::<FeatureInput<ParkInput>>(bytes)
                .map(|raw| self.feature(path, layer, 0, raw))
        };
        if let Err(e) = parsed {
            self.problems.push(Problem {
                file: path.to_owned(),
                feature: None,
                field: "json".into(),
                reason: format!("not a GeoJSON Feature: {e}"),
            });
        }
    }

    /// A FeatureCollection, each feature validated as it is read: no feature is
    /// held before it is a record.
    fn collection(&mut self, path: &Path, layer: Layer, bytes: &[u8]) {
        let problem = |field: &str, reason: String| Problem {
            file: path.to_owned(),
            feature: None,
            field: field.into(),
            reason,
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let read = CollectionSeed {
            builder: self,
            path,
            layer,
        }
        .deserialize(&mut de)
        .and_then(|kind| de.end().map(|()| kind));
        match read {
            Err(e) => self.problems.push(problem(
                "json",
                format!("not a GeoJSON FeatureCollection: {e}"),
            )),
            Ok((kind, _)) if kind.as_deref() != Some("FeatureCollection") => {
                self.problems.push(problem(
                    "type",
                    format!(
                        "expected \"FeatureCollection\", got {:?}",
                        kind.unwrap_or_default()
                    ),
                ))
            }
            Ok((_, false)) => self.problems.push(problem(
                "json",
                "not a GeoJSON FeatureCollection: missing field `features`".into(),
            )),
            Ok(_) => {}
        }
    }

    /// Validates one feature and keeps its record, or its problems.
    fn feature<'x, P: Kind<'x>>(
        &mut self,
        path: &Path,
        layer: Layer,
        index: usize,
        raw: FeatureInput<'x, P>,
    ) where
        P::Record: Record,
    {
        let taken = |b: &Builder, id: &str| {
            b.ids.get(id, &b.facilities, &b.parks).is_some() || b.invalid_ids.contains(id)
        };
        let duplicate = raw.id_given().is_some_and(|id| taken(self, id));
        let had_id = raw.id_given().is_some();
        let file = |p: FieldProblem| Problem::in_file(path, p);
        let dup_problem = |id: &str| Problem {
            file: path.to_owned(),
            feature: Some(id.to_owned()),
            field: "id".into(),
            reason: "duplicate id (ids must be unique across all layers and files)".into(),
        };
        match raw.validate(layer, index, &mut self.ctx) {
            Ok(record) if !duplicate => {
                let r = record.store(self);
                self.ids.insert(r, &self.facilities, &self.parks);
            }
            Ok(record) => {
                self.problems.push(dup_problem(record.id()));
                self.invalid_ids.insert(record.id().into());
            }
            Err(problems) => {
                let label = problems.first().and_then(|p| p.feature.clone());
                if let Some(label) = label.filter(|_| had_id) {
                    if duplicate {
                        self.problems.push(dup_problem(&label));
                    }
                    self.invalid_ids.insert(label.into());
                }
                self.problems.extend(problems.into_iter().map(file));
            }
        }
    }
}

/// Reads a FeatureCollection, handing each feature to the builder as it is read;
/// gives the collection's `type` and whether it had `features`.
struct CollectionSeed<'b> {
    builder: &'b mut Builder,
    path: &'b Path,
    layer: Layer,
}

impl<'de> DeserializeSeed<'de> for CollectionSeed<'_> {
    type Value = (Option<String>, bool);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CollectionSeed<'_> {
    type Value = (Option<String>, bool);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let (mut kind, mut features) = (None, false);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match &*key {
                "type" => kind = Some(map.next_value::<String>()?),
                "features" => {
                    features = true;
                    map.next_value_seed(FeaturesSeed {
                        builder: &mut *self.builder,
                        path: self.path,
                        layer: self.layer,
                    })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((kind, features))
    }
}

/// The `features` array, each feature validated as it is read.
struct FeaturesSeed<'b> {
    builder: &'b mut Builder,
    path: &'b Path,
    layer: Layer,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of GeoJSON Features")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let mut index = 0;
        if self.layer.is_facility() {
            while let Some(raw) = seq.next_element::<FeatureInput<'de, FacilityInput<'de>>>()? {
                self.builder.feature(self.path, self.layer, index, raw);
                index += 1;
            }
        } else {
            while let Some(raw) = seq.next_element::<FeatureInput<'de, ParkInput<'de>>>()? {
                self.builder.feature(self.path, self.layer, index, raw);
                index += 1;
            }
        }
        Ok(())
    }
}
