//! Reading and validating a data directory into a [`Dataset`].
//!
//! 1. list the `*.geojson` files: the stem before the first `.` names the layer
//!    (`driver_home.reported.geojson`, `park.synthetic.geojson`, …);
//! 2. parse each FeatureCollection;
//! 3. validate every feature field by field, collecting *all* problems (file,
//!    feature id, field, why) rather than stopping at the first;
//! 4. check ids are unique across all files.
//!
//! A dataset with any problem is refused whole: the server never starts on half the data.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use geo::Centroid;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::ids::IdIndex;
use crate::model::Shared;
use crate::model::hours::{Calendar, Schedules};
use crate::model::{
    Amenity, AmenitySet, Facility, FacilityText, Grade, Layer, LonLat, Park, ParkCounts, ParkType,
    Provenance, TextFields, UnionStatus,
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

/// A FeatureCollection whose features are not parsed yet: each part is a slice of
/// the file, so no tree of `serde_json::Value` is ever built for a million features.
#[derive(Deserialize)]
struct RawCollection<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    features: Vec<RawFeature<'a>>,
}

#[derive(Deserialize)]
struct RawFeature<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    geometry: Option<&'a RawValue>,
    #[serde(borrow)]
    properties: Option<Props<'a>>,
}

/// A feature's properties as slices of the file, looked up by name and parsed only
/// when a field is read.
#[derive(Default)]
struct Props<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

/// A JSON string, borrowed from the file when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visit(std::marker::PhantomData))
    }
}

/// The string in a raw JSON value, or `None` when it is not a string.
fn str_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Str>(raw.get()).ok().map(|s| s.0)
}

impl<'a> Props<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .filter(|v| v.get() != "null")
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(k, _)| k.as_ref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Props<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Props<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of properties")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Props<'a>, M::Error> {
                let mut fields = Vec::with_capacity(20);
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    fields.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Props { fields })
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
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
pub fn validate_feature(layer: Layer, feature: &[u8]) -> Result<(), Vec<Problem>> {
    let mut builder = Builder::new(Schedules::new(Calendar::bundled()), Vec::new());
    builder.single(Path::new(""), layer, feature);
    if builder.problems.is_empty() {
        Ok(())
    } else {
        Err(builder.problems)
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
    schedules: Schedules,
    ids: IdIndex,
    /// Ids of refused features (valid ones are in `ids`), to report duplicates of them too.
    invalid_ids: HashSet<Box<str>>,
    /// Repeated strings (city, operator, source, dates) are stored once.
    strings: HashMap<Box<str>, Shared>,
    problems: Vec<Problem>,
}

impl Builder {
    fn new(schedules: Schedules, problems: Vec<Problem>) -> Self {
        Builder {
            facilities: Vec::new(),
            parks: Vec::new(),
            schedules,
            ids: IdIndex::default(),
            invalid_ids: HashSet::new(),
            strings: HashMap::new(),
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
            schedules: self.schedules,
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
        match serde_json::from_slice::<RawFeature>(bytes) {
            Ok(raw) => self.feature(path, layer, 0, raw),
            Err(e) => self.problems.push(Problem {
                file: path.to_owned(),
                feature: None,
                field: "json".into(),
                reason: format!("not a GeoJSON Feature: {e}"),
            }),
        }
    }

    fn collection(&mut self, path: &Path, layer: Layer, bytes: &[u8]) {
        let problem = |field: &str, reason: String| Problem {
            file: path.to_owned(),
            feature: None,
            field: field.into(),
            reason,
        };
        let collection: RawCollection = match serde_json::from_slice(bytes) {
            Ok(c) => c,
            Err(e) => {
                self.problems.push(problem(
                    "json",
                    format!("not a GeoJSON FeatureCollection: {e}"),
                ));
                return;
            }
        };
        if collection.kind != "FeatureCollection" {
            self.problems.push(problem(
                "type",
                format!("expected \"FeatureCollection\", got {:?}", collection.kind),
            ));
            return;
        }
        for (i, raw) in collection.features.into_iter().enumerate() {
            self.feature(path, layer, i, raw);
        }
    }

    fn feature(&mut self, path: &Path, layer: Layer, index: usize, raw: RawFeature) {
        let before = self.problems.len();
        let props = raw.properties.unwrap_or_default();
        let label = props
            .get("id")
            .and_then(str_of)
            .map(Cow::into_owned)
            .unwrap_or_else(|| format!("#{index}"));
        let mut f = Fields {
            path,
            feature: &label,
            props: &props,
            problems: &mut self.problems,
        };
        if raw.kind.as_deref() != Some("Feature") {
            f.problem_at("type", "expected \"Feature\"".into());
        }
        let id = f.required_str("id");
        if let (Some(id), Some(top)) = (&id, raw.id)
            && str_of(top).as_deref() != Some(id.as_str())
        {
            f.problem_at("id", format!("feature id {top} differs from properties.id"));
        }
        if let Some(id) = &id
            && (self.ids.get(id, &self.facilities, &self.parks).is_some()
                || self.invalid_ids.contains(id.as_str()))
        {
            f.problem_at(
                "id",
                "duplicate id (ids must be unique across all layers and files)".into(),
            );
        }
        let geometry = parse_geometry(raw.geometry, layer);
        let position = match &geometry {
            Ok(p) => Some(*p),
            Err(reason) => {
                f.problem_at("geometry", reason.clone());
                None
            }
        };
        let provenance = f.provenance(&mut self.strings);
        let known: &[&str] = if layer.is_facility() {
            FACILITY_FIELDS
        } else {
            PARK_FIELDS
        };
        for key in props.keys() {
            if !known.contains(&key) && !COMMON_FIELDS.contains(&key) {
                f.problem(key, "unknown property (see geodata/README.md)".into());
            }
        }
        // The properties are checked even when the geometry or the provenance is
        // refused, so that every problem is reported at once; a feature with any
        // problem is dropped below.
        let placeholder = LonLat::new(0.0, 0.0).ok();
        let provenance = provenance.unwrap_or_else(|| Provenance {
            source: intern(&mut self.strings, ""),
            position_accuracy: crate::model::PositionAccuracy::Approximate,
            synthetic: false,
            updated: None,
            notes: None,
        });
        let target = match position.or(placeholder) {
            Some(position) if layer.is_facility() => f
                .facility(
                    layer,
                    position,
                    provenance,
                    &mut self.schedules,
                    &mut self.strings,
                )
                .map(|fac| {
                    self.facilities.push(fac);
                    FeatureRef::Facility((self.facilities.len() - 1) as u32)
                }),
            Some(position) => f
                .park(position, provenance, &mut self.strings)
                .map(|mut park| {
                    park.geometry = raw.geometry.map(RawValue::to_owned);
                    self.parks.push(park);
                    FeatureRef::Park((self.parks.len() - 1) as u32)
                }),
            None => None,
        };
        if self.problems.len() > before {
            if let Some(id) = id {
                self.invalid_ids.insert(id.into());
            }
            // Keep no half-valid feature; the problems are already recorded.
            match target {
                Some(FeatureRef::Facility(_)) => {
                    self.facilities.pop();
                }
                Some(FeatureRef::Park(_)) => {
                    self.parks.pop();
                }
                None => {}
            }
            return;
        }
        if let Some(target) = target {
            self.ids.insert(target, &self.facilities, &self.parks);
        }
    }
}

const COMMON_FIELDS: &[&str] = &[
    "id",
    "name",
    "name_en",
    "city",
    "district",
    "source",
    "position_accuracy",
    "synthetic",
    "updated",
    "notes",
    "layer",
];
const FACILITY_FIELDS: &[&str] = &[
    "address",
    "amenities",
    "opening_hours",
    "phone",
    "operator",
    "grade",
    // Kept by the importer when it cannot read them (never dropped; not served).
    "opening_hours_text",
    "amenities_unrecognised",
];
const PARK_FIELDS: &[&str] = &[
    "park_type",
    "enterprises",
    "unionised_enterprises",
    "workers",
    "union_members",
    "union_status",
    "union_founded",
    "counts_as_of",
];

/// Reads one feature's properties, recording a problem for each bad field.
struct Fields<'a> {
    path: &'a Path,
    feature: &'a str,
    props: &'a Props<'a>,
    problems: &'a mut Vec<Problem>,
}

impl Fields<'_> {
    /// A problem with a top-level member (`id`, `geometry`, …) rather than a property.
    fn problem_at(&mut self, field: &str, reason: String) {
        self.problems.push(Problem {
            file: self.path.to_owned(),
            feature: Some(self.feature.to_owned()),
            field: field.to_owned(),
            reason,
        });
    }

    /// A problem with a property.
    fn problem(&mut self, field: &str, reason: String) {
        self.problem_at(&format!("properties.{field}"), reason);
    }

    fn optional_str(&mut self, key: &str) -> Option<String> {
        let raw = self.props.get(key)?;
        match str_of(raw) {
            Some(s) if s.trim().is_empty() => None,
            Some(s) => Some(s.into_owned()),
            None => {
                self.problem(key, format!("must be a string, got {raw}"));
                None
            }
        }
    }

    fn required_str(&mut self, key: &str) -> Option<String> {
        let present = self.props.get(key).is_some();
        let v = self.optional_str(key);
        if v.is_none()
            && (!present
                || self
                    .props
                    .get(key)
                    .is_some_and(|r| r.get().starts_with('"')))
        {
            self.problem(key, "is required".into());
        }
        v
    }

    fn shared(&mut self, key: &str, strings: &mut HashMap<Box<str>, Shared>) -> Option<Shared> {
        let s = self.optional_str(key)?;
        Some(intern(strings, &s))
    }

    fn parsed<T: std::str::FromStr<Err = String>>(&mut self, key: &str) -> Option<T> {
        let s = self.optional_str(key)?;
        s.parse().map_err(|e| self.problem(key, e)).ok()
    }

    fn date(&mut self, key: &str, strings: &mut HashMap<Box<str>, Shared>) -> Option<Shared> {
        let s = self.optional_str(key)?;
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(_) => Some(intern(strings, &s)),
            Err(_) => {
                self.problem(key, format!("'{s}' is not a date (YYYY-MM-DD)"));
                None
            }
        }
    }

    fn count(&mut self, key: &str) -> Option<u32> {
        let raw = self.props.get(key)?;
        match serde_json::from_str::<u32>(raw.get()) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(
                    key,
                    format!("must be a non-negative whole number, got {raw}"),
                );
                None
            }
        }
    }

    fn provenance(&mut self, strings: &mut HashMap<Box<str>, Shared>) -> Option<Provenance> {
        let source = self.required_str("source");
        let accuracy = match self.optional_str("position_accuracy") {
            Some(s) => s
                .parse()
                .map_err(|e| self.problem("position_accuracy", e))
                .ok(),
            None => {
                self.problem("position_accuracy", "is required".into());
                None
            }
        };
        let synthetic = match self
            .props
            .get("synthetic")
            .map(|r| (r, serde_json::from_str::<bool>(r.get())))
        {
            Some((_, Ok(b))) => Some(b),
            None => {
                self.problem("synthetic", "is required (true for generated data)".into());
                None
            }
            Some((other, Err(_))) => {
                self.problem("synthetic", format!("must be true or false, got {other}"));
                None
            }
        };
        let updated = self.date("updated", strings);
        let notes = self.optional_str("notes").map(Into::into);
        Some(Provenance {
            source: intern(strings, &source?),
            position_accuracy: accuracy?,
            synthetic: synthetic?,
            updated,
            notes,
        })
    }

    fn facility(
        &mut self,
        layer: Layer,
        position: LonLat,
        provenance: Provenance,
        schedules: &mut Schedules,
        strings: &mut HashMap<Box<str>, Shared>,
    ) -> Option<Facility> {
        let id = self.optional_str("id");
        let name = self.required_str("name");
        let amenities = self.amenities();
        let hours = self.optional_str("opening_hours").and_then(|text| {
            schedules
                .intern(&text)
                .map_err(|e| self.problem("opening_hours", e))
                .ok()
        });
        let grade: Option<Grade> = self.parsed("grade");
        if grade.is_some() && layer != Layer::FitnessStation {
            self.problem("grade", "only fitness stations have a grade".into());
        }
        self.layer_matches(layer);
        let (name_en, address, phone) = (
            self.optional_str("name_en"),
            self.optional_str("address"),
            self.optional_str("phone"),
        );
        Some(Facility {
            text: FacilityText::new(TextFields {
                id: &id?,
                name: &name?,
                name_en: name_en.as_deref(),
                address: address.as_deref(),
                phone: phone.as_deref(),
            }),
            layer,
            position,
            city: self.shared("city", strings),
            district: self.shared("district", strings),
            amenities,
            hours,
            operator: self.shared("operator", strings),
            grade,
            provenance,
        })
    }

    fn layer_matches(&mut self, layer: Layer) {
        if let Some(given) = self.optional_str("layer")
            && given != layer.id()
        {
            self.problem(
                "layer",
                format!("'{given}' contradicts the file name's layer '{layer}'"),
            );
        }
    }

    fn amenities(&mut self) -> AmenitySet {
        let mut set = AmenitySet::default();
        let Some(raw) = self.props.get("amenities") else {
            return set;
        };
        match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            Ok(items) => {
                for item in items {
                    match str_of(item).map(|s| s.parse::<Amenity>()) {
                        Some(Ok(a)) => set.insert(a),
                        Some(Err(e)) => self.problem("amenities", e.to_string()),
                        None => self.problem("amenities", format!("{item} is not a string")),
                    }
                }
            }
            Err(_) => self.problem("amenities", format!("must be an array, got {raw}")),
        }
        set
    }

    fn park(
        &mut self,
        position: LonLat,
        provenance: Provenance,
        strings: &mut HashMap<Box<str>, Shared>,
    ) -> Option<Park> {
        let id = self.optional_str("id");
        let name = self.required_str("name");
        let counts = ParkCounts {
            enterprises: self.count("enterprises"),
            unionised_enterprises: self.count("unionised_enterprises"),
            workers: self.count("workers"),
            union_members: self.count("union_members"),
        };
        if let (Some(all), Some(part)) = (counts.enterprises, counts.unionised_enterprises)
            && part > all
        {
            self.problem(
                "unionised_enterprises",
                format!("{part} is more than the park's {all} enterprises"),
            );
        }
        if let (Some(all), Some(part)) = (counts.workers, counts.union_members)
            && part > all
        {
            self.problem(
                "union_members",
                format!("{part} is more than the park's {all} workers"),
            );
        }
        let given: Option<UnionStatus> = self.parsed("union_status");
        let derived = counts.derived_status();
        if let (Some(g), Some(d)) = (given, derived)
            && g != d
        {
            self.problem(
                "union_status",
                format!("{g:?} contradicts the enterprise counts, which give {d:?}").to_lowercase(),
            );
        }
        self.layer_matches(Layer::Park);
        Some(Park {
            id: id?.into(),
            name: name?.into(),
            name_en: self.optional_str("name_en").map(Into::into),
            city: self.shared("city", strings),
            district: self.shared("district", strings),
            park_type: self.parsed::<ParkType>("park_type"),
            counts,
            union_status: derived.or(given),
            union_founded: self.date("union_founded", strings),
            counts_as_of: self.date("counts_as_of", strings),
            position,
            geometry: None,
            provenance,
        })
    }
}

fn intern(strings: &mut HashMap<Box<str>, Shared>, s: &str) -> Shared {
    if let Some(a) = strings.get(s) {
        return a.clone();
    }
    let a: Shared = Shared::new(s);
    strings.insert(s.into(), a.clone());
    a
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum RawGeometry {
    Point(Vec<f64>),
    Polygon(Vec<Vec<Vec<f64>>>),
    MultiPolygon(Vec<Vec<Vec<Vec<f64>>>>),
}

/// Validates a geometry and returns the feature's representative point.
fn parse_geometry(raw: Option<&RawValue>, layer: Layer) -> Result<LonLat, String> {
    let raw = raw.ok_or("is required")?;
    let geometry: RawGeometry = serde_json::from_str(raw.get()).map_err(|e| {
        format!(
            "must be a Point{}: {e}",
            if layer.is_facility() {
                ""
            } else {
                ", Polygon or MultiPolygon"
            }
        )
    })?;
    let position = |c: &[f64]| -> Result<LonLat, String> {
        match c {
            [lon, lat] | [lon, lat, _] => LonLat::new(*lon, *lat).map_err(|e| e.to_string()),
            _ => Err(format!(
                "a position needs [lon, lat], got {} numbers",
                c.len()
            )),
        }
    };
    let ring = |r: &[Vec<f64>]| -> Result<geo::LineString, String> {
        if r.len() < 4 || r.first() != r.last() {
            return Err("a polygon ring needs at least 4 positions, first equal to last".into());
        }
        r.iter()
            .map(|c| position(c).map(|p| geo::coord! { x: p.lon(), y: p.lat() }))
            .collect::<Result<Vec<_>, _>>()
            .map(geo::LineString::new)
    };
    let polygon = |rings: &[Vec<Vec<f64>>]| -> Result<geo::Polygon, String> {
        let (outer, inner) = rings.split_first().ok_or("a polygon needs a ring")?;
        Ok(geo::Polygon::new(
            ring(outer)?,
            inner.iter().map(|r| ring(r)).collect::<Result<_, _>>()?,
        ))
    };
    let centroid = |c: Option<geo::Point>| {
        c.ok_or_else(|| "the polygon has no area".to_owned())
            .and_then(|p| LonLat::new(p.x(), p.y()).map_err(|e| e.to_string()))
    };
    match geometry {
        RawGeometry::Point(c) => position(&c),
        _ if layer.is_facility() => Err("a facility must be a Point".into()),
        RawGeometry::Polygon(rings) => centroid(polygon(&rings)?.centroid()),
        RawGeometry::MultiPolygon(polys) => centroid(
            geo::MultiPolygon::new(polys.iter().map(|p| polygon(p)).collect::<Result<_, _>>()?)
                .centroid(),
        ),
    }
}
