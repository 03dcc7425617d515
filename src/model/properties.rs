//! The GeoJSON properties of a facility and of a park: their one list of fields,
//! and the one validation of a feature as given.
//!
//! Each kind's fields are spelled once, in a [`properties!`] block below, which makes:
//! 1. the properties as written and read ([`FacilityProperties`], [`ParkProperties`]):
//!    `Serialize`, `Deserialize` and `ToSchema`, their strings borrowed (from a record
//!    when it is written, see [`FacilityProperties::of`]);
//! 2. the properties as given ([`FacilityInput`], [`ParkInput`]): every field a
//!    [`Field`], so that a bad value does not hide the next one, and every key that
//!    is no property kept by name;
//! 3. the names of the properties (`FIELDS`), in the order they are written.
//!
//! [`FeatureInput::validate`] turns a GeoJSON Feature as given into a record
//! ([`Facility`], [`Park`]) or every field at fault ([`FieldProblem`]: feature,
//! field, reason; no file). The file loader (which adds the file), the importer and
//! the edits all call it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use chrono::NaiveDate;
use geo::Centroid;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

use super::hours::Schedules;
use super::{
    Amenity, AmenitySet, Facility, FacilityText, Field, Grade, Layer, LonLat, Park, ParkCounts,
    ParkType, PositionAccuracy, Provenance, Shared, TextFields, UnionStatus, UnknownAmenity,
};

/// Declares one kind's properties (see the module's documentation). Each field is
/// `name: Type` as written; attributes go to the written form only.
macro_rules! properties {
    (
        $(#[$meta:meta])*
        $name:ident<$lt:lifetime> / $input:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
        pub struct $name<$lt> {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name<'_> {
            /// The names of the properties, in the order they are written.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        #[doc = concat!("[`", stringify!($name), "`] as given: each field that is there, read or refused.")]
        #[derive(Debug, Default)]
        pub struct $input<$lt> {
            $(
                #[doc = concat!("`", stringify!($field), "`, when given and not null.")]
                pub $field: Option<Field<$ty>>,
            )*
            /// The keys that are not properties of this kind.
            pub unknown: Vec<String>,
        }

        impl<$lt> $input<$lt> {
            /// The id, when it is a string.
            pub fn id(&self) -> Option<&str> {
                match &self.id {
                    Some(Field::Ok(id)) => Some(id),
                    _ => None,
                }
            }
        }

        impl<'de: $lt, $lt> Deserialize<'de> for $input<$lt> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visit<$lt>(PhantomData<&$lt ()>);
                impl<'de: $lt, $lt> Visitor<'de> for Visit<$lt> {
                    type Value = $input<$lt>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("an object of properties")
                    }
                    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                        let mut out = $input::default();
                        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                            match &*key {
                                $( stringify!($field) => out.$field = map.next_value()?, )*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                    out.unknown.push(key.into_owned());
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(Visit(PhantomData))
            }
        }
    };
}

properties! {
    /// A facility's properties as stored and served (the answers add what a query
    /// finds: distance, bearing, open now, …).
    FacilityProperties<'a> / FacilityInput {
        /// The stable id, unique across all layers.
        #[schema(value_type = String)]
        id: Cow<'a, str>,
        /// The layer (the file name's or the database's; written in answers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(schema_with = facility_layer)]
        layer: Option<Layer>,
        /// The name (Chinese).
        #[schema(value_type = String)]
        name: Cow<'a, str>,
        /// The English name.
        #[schema(schema_with = nullable_string)]
        name_en: Option<Cow<'a, str>>,
        /// The street address.
        #[schema(schema_with = nullable_string)]
        address: Option<Cow<'a, str>>,
        /// The city (`临沂市`).
        #[schema(schema_with = nullable_string)]
        city: Option<Cow<'a, str>>,
        /// The district (`兰山区`).
        #[schema(schema_with = nullable_string)]
        district: Option<Cow<'a, str>>,
        /// What the facility offers.
        #[schema(schema_with = amenities)]
        amenities: AmenitySet,
        /// Opening hours in OpenStreetMap syntax.
        #[schema(schema_with = nullable_string)]
        opening_hours: Option<Cow<'a, str>>,
        /// The telephone.
        #[schema(schema_with = nullable_string)]
        phone: Option<Cow<'a, str>>,
        /// The union or company that runs it.
        #[schema(schema_with = nullable_string)]
        operator: Option<Cow<'a, str>>,
        /// Fitness stations: their grade.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(schema_with = grade)]
        grade: Option<Grade>,
        /// Opening hours the importer could not read, kept as given (stored, not served).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(ignore)]
        opening_hours_text: Option<Cow<'a, str>>,
        /// Amenity words the importer did not know, kept as given (stored, not served).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(ignore)]
        amenities_unrecognised: Option<Vec<Cow<'a, str>>>,
        /// Where the record comes from.
        #[schema(value_type = String)]
        source: Cow<'a, str>,
        /// How exact the position is.
        #[schema(schema_with = position_accuracy)]
        position_accuracy: PositionAccuracy,
        /// Generated demo data.
        synthetic: bool,
        /// The day of the last change (YYYY-MM-DD).
        #[schema(schema_with = nullable_string)]
        updated: Option<Cow<'a, str>>,
        /// Free-text notes (the reported facts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(schema_with = nullable_string)]
        notes: Option<Cow<'a, str>>,
    }
}

properties! {
    /// An industrial park's properties as stored and served: its union status and
    /// the counts it rests on (the coverage analyses add their figures).
    ParkProperties<'a> / ParkInput {
        /// The stable id, unique across all layers.
        #[schema(value_type = String)]
        id: Cow<'a, str>,
        /// `park` (written in answers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(schema_with = park_layer)]
        layer: Option<Layer>,
        /// The name (Chinese).
        #[schema(value_type = String)]
        name: Cow<'a, str>,
        /// The English name.
        #[schema(schema_with = nullable_string)]
        name_en: Option<Cow<'a, str>>,
        /// The city.
        #[schema(schema_with = nullable_string)]
        city: Option<Cow<'a, str>>,
        /// The district.
        #[schema(schema_with = nullable_string)]
        district: Option<Cow<'a, str>>,
        /// What kind of park.
        #[schema(schema_with = park_type)]
        park_type: Option<ParkType>,
        /// Enterprises in the park.
        #[schema(minimum = 0)]
        enterprises: Option<u32>,
        /// Of which have a union.
        #[schema(minimum = 0)]
        unionised_enterprises: Option<u32>,
        /// Workers in the park.
        #[schema(minimum = 0)]
        workers: Option<u32>,
        /// Of which are union members.
        #[schema(minimum = 0)]
        union_members: Option<u32>,
        /// Whether the park has its union (建会): derived from the enterprise counts
        /// when both are known.
        #[schema(schema_with = union_status)]
        union_status: Option<UnionStatus>,
        /// When the park union was founded (YYYY-MM-DD).
        #[schema(schema_with = nullable_string)]
        union_founded: Option<Cow<'a, str>>,
        /// When the counts were taken (YYYY-MM-DD).
        #[schema(schema_with = nullable_string)]
        counts_as_of: Option<Cow<'a, str>>,
        /// Where the record comes from.
        #[schema(value_type = String)]
        source: Cow<'a, str>,
        /// How exact the position is.
        #[schema(schema_with = position_accuracy)]
        position_accuracy: PositionAccuracy,
        /// Generated demo data.
        synthetic: bool,
        /// The day of the last change (YYYY-MM-DD).
        #[schema(schema_with = nullable_string)]
        updated: Option<Cow<'a, str>>,
        /// Free-text notes (the reported facts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(schema_with = nullable_string)]
        notes: Option<Cow<'a, str>>,
    }
}

impl<'a> FacilityProperties<'a> {
    /// A facility's properties, borrowed from the record (`schedules`: the table its
    /// opening hours point into).
    pub fn of(f: &'a Facility, schedules: &'a Schedules) -> Self {
        let text = f.text.fields();
        let p = &f.provenance;
        FacilityProperties {
            id: text.id.into(),
            layer: Some(f.layer),
            name: text.name.into(),
            name_en: text.name_en.map(Cow::Borrowed),
            address: text.address.map(Cow::Borrowed),
            city: f.city.as_deref().map(Cow::Borrowed),
            district: f.district.as_deref().map(Cow::Borrowed),
            amenities: f.amenities,
            opening_hours: f.hours.map(|h| schedules.text(h).into()),
            phone: text.phone.map(Cow::Borrowed),
            operator: f.operator.as_deref().map(Cow::Borrowed),
            grade: f.grade,
            opening_hours_text: None,
            amenities_unrecognised: None,
            source: p.source.as_str().into(),
            position_accuracy: p.position_accuracy,
            synthetic: p.synthetic,
            updated: p.updated.as_deref().map(Cow::Borrowed),
            notes: p.notes.as_deref().map(Cow::Borrowed),
        }
    }
}

impl<'a> ParkProperties<'a> {
    /// A park's properties, borrowed from the record.
    pub fn of(p: &'a Park) -> Self {
        let prov = &p.provenance;
        ParkProperties {
            id: Cow::Borrowed(&p.id),
            layer: Some(Layer::Park),
            name: Cow::Borrowed(&p.name),
            name_en: p.name_en.as_deref().map(Cow::Borrowed),
            city: p.city.as_deref().map(Cow::Borrowed),
            district: p.district.as_deref().map(Cow::Borrowed),
            park_type: p.park_type,
            enterprises: p.counts.enterprises,
            unionised_enterprises: p.counts.unionised_enterprises,
            workers: p.counts.workers,
            union_members: p.counts.union_members,
            union_status: p.union_status,
            union_founded: p.union_founded.as_deref().map(Cow::Borrowed),
            counts_as_of: p.counts_as_of.as_deref().map(Cow::Borrowed),
            source: prov.source.as_str().into(),
            position_accuracy: prov.position_accuracy,
            synthetic: prov.synthetic,
            updated: prov.updated.as_deref().map(Cow::Borrowed),
            notes: prov.notes.as_deref().map(Cow::Borrowed),
        }
    }
}

// ---------------------------------------------------------------------------
// Schemas (value lists from the model's constants)

fn strings(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

fn nullable(values: impl IntoIterator<Item = &'static str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values.into_iter().map(Some).chain([None])))
        .into()
}

fn nullable_string() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .into()
}

fn facility_layer() -> Schema {
    strings(Layer::FACILITIES.iter().map(|l| l.id()))
        .description(Some("a facility layer id"))
        .into()
}

fn park_layer() -> Schema {
    strings([Layer::Park.id()]).into()
}

fn amenities() -> Schema {
    ArrayBuilder::new()
        .items(strings(Amenity::ALL.iter().map(|a| a.id())))
        .into()
}

fn grade() -> Schema {
    strings(Grade::ALL.iter().map(|g| g.id())).into()
}

fn position_accuracy() -> Schema {
    strings(PositionAccuracy::ALL.iter().map(|p| p.id())).into()
}

fn park_type() -> Schema {
    nullable(ParkType::ALL.iter().map(|t| t.id()))
}

fn union_status() -> Schema {
    let mut schema = nullable(UnionStatus::ALL.iter().map(|u| u.id()));
    if let Schema::Object(o) = &mut schema {
        o.description = Some("Whether the park's enterprises have unions (建会).".into());
    }
    schema
}

// ---------------------------------------------------------------------------
// serde for the model's values: written as their ids, read through `FromStr` so that
// a refused value says what the values are.

/// A JSON string (an object key, an amenity word), borrowed from the input when it
/// has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Visit<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visit(PhantomData))
    }
}

macro_rules! by_id {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let Key(s) = Key::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    )*};
}

macro_rules! written_as_id {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.id())
            }
        }
    )*};
}

// Grade, park type and union status derive theirs (`snake_case`, the same ids): the
// snapshot writes them as variant numbers.
by_id!(Layer, Amenity, PositionAccuracy);
written_as_id!(Layer, Amenity, PositionAccuracy);

impl Serialize for AmenitySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for a in self.iter() {
            seq.serialize_element(a.id())?;
        }
        seq.end()
    }
}

/// An array of amenity words; every unknown word is named in the one error.
impl<'de> Deserialize<'de> for AmenitySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = AmenitySet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of amenity words")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AmenitySet, A::Error> {
                let mut set = AmenitySet::default();
                let mut unknown = Vec::new();
                while let Some(Key(word)) = seq.next_element::<Key<'de>>()? {
                    match word.parse::<Amenity>() {
                        Ok(a) => set.insert(a),
                        Err(e) => unknown.push(e.0),
                    }
                }
                match unknown.as_slice() {
                    [] => Ok(set),
                    [one] => Err(de::Error::custom(UnknownAmenity(one.clone()))),
                    many => Err(de::Error::custom(format_args!(
                        "unknown amenities '{}' (see geodata/README.md)",
                        many.join("', '")
                    ))),
                }
            }
        }
        d.deserialize_seq(Visit)
    }
}

// ---------------------------------------------------------------------------
// Validation

/// One thing wrong with a feature as given: which feature, which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The feature's id, or `#N` (its place in a collection) when it has none.
    pub feature: Option<String>,
    /// The field at fault (`geometry`, `properties.amenities`, …).
    pub field: String,
    /// Why it is refused.
    pub reason: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.feature {
            write!(f, "feature {id}: ")?;
        }
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// What the validation of many features shares: the table of distinct opening hours
/// their records point into, and one copy of each repeated string.
#[derive(Debug)]
pub struct Context {
    /// The distinct opening-hours expressions (and the holiday calendar).
    pub schedules: Schedules,
    strings: HashMap<Box<str>, Shared>,
}

impl Context {
    /// A context whose records point into `schedules`.
    pub fn new(schedules: Schedules) -> Self {
        Context {
            schedules,
            strings: HashMap::new(),
        }
    }

    fn shared(&mut self, s: &str) -> Shared {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        let a = Shared::new(s);
        self.strings.insert(s.into(), a.clone());
        a
    }
}

/// The problems of one feature as they are found (see [`Kind::record`]).
pub struct Problems<'l> {
    feature: &'l str,
    list: Vec<FieldProblem>,
}

impl Problems<'_> {
    fn at(&mut self, field: &str, reason: String) {
        self.list.push(FieldProblem {
            feature: Some(self.feature.to_owned()),
            field: field.to_owned(),
            reason,
        });
    }

    fn prop(&mut self, key: &str, reason: String) {
        self.at(&format!("properties.{key}"), reason);
    }

    /// The value of a field, or `None` with the field's problem recorded.
    fn take<T: Expected>(&mut self, key: &str, field: Option<Field<T>>) -> Option<T> {
        match field? {
            Field::Ok(v) => Some(v),
            Field::Bad { given, reason } => {
                // serde's words ("expected u32") become ours, with what was given;
                // a value's own reason (an unknown amenity) is kept as it is.
                let reason = if reason.starts_with("expected one of") {
                    format!("{reason}, got {given}")
                } else if reason.starts_with("expected ") {
                    format!("{}, got {given}", T::MUST)
                } else {
                    reason
                };
                self.prop(key, reason);
                None
            }
        }
    }

    /// A text: blank counts as absent.
    fn text<'a>(
        &mut self,
        key: &str,
        field: Option<Field<Option<Cow<'a, str>>>>,
    ) -> Option<Cow<'a, str>> {
        self.take(key, field)
            .flatten()
            .filter(|s| !s.trim().is_empty())
    }

    fn required<'a>(
        &mut self,
        key: &str,
        field: Option<Field<Cow<'a, str>>>,
    ) -> Option<Cow<'a, str>> {
        let bad = matches!(field, Some(Field::Bad { .. }));
        let v = self.take(key, field).filter(|s| !s.trim().is_empty());
        if v.is_none() && !bad {
            self.prop(key, "is required".into());
        }
        v
    }

    fn date(
        &mut self,
        key: &str,
        field: Option<Field<Option<Cow<'_, str>>>>,
        ctx: &mut Context,
    ) -> Option<Shared> {
        let s = self.text(key, field)?;
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(_) => Some(ctx.shared(&s)),
            Err(_) => {
                self.prop(key, format!("'{s}' is not a date (YYYY-MM-DD)"));
                None
            }
        }
    }

    fn layer_matches(&mut self, given: Option<Field<Option<Layer>>>, layer: Layer) {
        if let Some(given) = self.take("layer", given).flatten()
            && given != layer
        {
            self.prop(
                "layer",
                format!("'{given}' contradicts the file name's layer '{layer}'"),
            );
        }
    }

    fn unknown(&mut self, keys: Vec<String>) {
        for key in keys {
            self.prop(&key, "unknown property (see geodata/README.md)".into());
        }
    }
}

/// What a field must be, said when it is not.
pub trait Expected {
    /// `must be …`.
    const MUST: &'static str;
}

impl<T: Expected> Expected for Option<T> {
    const MUST: &'static str = T::MUST;
}

macro_rules! expected {
    ($($t:ty => $must:literal),* $(,)?) => {$(
        impl Expected for $t { const MUST: &'static str = $must; }
    )*};
}

expected! {
    Cow<'_, str> => "must be a string",
    Vec<Cow<'_, str>> => "must be an array of strings",
    u32 => "must be a non-negative whole number",
    bool => "must be true or false",
    AmenitySet => "must be an array of amenity words",
    Layer => "must be a string",
    Grade => "must be a string",
    ParkType => "must be a string",
    UnionStatus => "must be a string",
    PositionAccuracy => "must be a string",
}

/// The provenance fields of either kind.
struct ProvenanceInput<'a> {
    source: Option<Field<Cow<'a, str>>>,
    position_accuracy: Option<Field<PositionAccuracy>>,
    synthetic: Option<Field<bool>>,
    updated: Option<Field<Option<Cow<'a, str>>>>,
    notes: Option<Field<Option<Cow<'a, str>>>>,
}

impl ProvenanceInput<'_> {
    fn validate(self, ctx: &mut Context, p: &mut Problems) -> Option<Provenance> {
        let source = p.required("source", self.source);
        let bad = matches!(self.position_accuracy, Some(Field::Bad { .. }));
        let accuracy = p.take("position_accuracy", self.position_accuracy);
        if accuracy.is_none() && !bad {
            p.prop("position_accuracy", "is required".into());
        }
        let bad = matches!(self.synthetic, Some(Field::Bad { .. }));
        let synthetic = p.take("synthetic", self.synthetic);
        if synthetic.is_none() && !bad {
            p.prop("synthetic", "is required (true for generated data)".into());
        }
        let updated = p.date("updated", self.updated, ctx);
        let notes = p.text("notes", self.notes).map(|n| n.into());
        Some(Provenance {
            source: ctx.shared(&source?),
            position_accuracy: accuracy?,
            synthetic: synthetic?,
            updated,
            notes,
        })
    }
}

/// One kind of properties as given, and the record it validates into.
pub trait Kind<'a>: Deserialize<'a> + Default {
    /// The validated record.
    type Record;
    /// The id, when it is a string.
    fn id_given(&self) -> Option<&str>;
    /// The record, when every field is fine; every problem recorded in `p` otherwise.
    fn record(
        self,
        layer: Layer,
        position: Option<LonLat>,
        geometry: Option<&RawValue>,
        ctx: &mut Context,
        p: &mut Problems,
    ) -> Option<Self::Record>;
}

impl<'de: 'a, 'a> Kind<'de> for FacilityInput<'a> {
    type Record = Facility;

    fn id_given(&self) -> Option<&str> {
        self.id()
    }

    fn record(
        self,
        layer: Layer,
        position: Option<LonLat>,
        _geometry: Option<&RawValue>,
        ctx: &mut Context,
        p: &mut Problems,
    ) -> Option<Facility> {
        let id = p.required("id", self.id);
        let name = p.required("name", self.name);
        p.layer_matches(self.layer, layer);
        let name_en = p.text("name_en", self.name_en);
        let address = p.text("address", self.address);
        let city = p.text("city", self.city).map(|s| ctx.shared(&s));
        let district = p.text("district", self.district).map(|s| ctx.shared(&s));
        let amenities = p.take("amenities", self.amenities).unwrap_or_default();
        let hours = p
            .text("opening_hours", self.opening_hours)
            .and_then(|text| {
                ctx.schedules
                    .intern(&text)
                    .map_err(|e| p.prop("opening_hours", e))
                    .ok()
            });
        let phone = p.text("phone", self.phone);
        let operator = p.text("operator", self.operator).map(|s| ctx.shared(&s));
        let grade = p.take("grade", self.grade).flatten();
        if grade.is_some() && layer != Layer::FitnessStation {
            p.prop("grade", "only fitness stations have a grade".into());
        }
        // Kept by the importer when it cannot read them: checked, not held.
        p.take("opening_hours_text", self.opening_hours_text);
        p.take("amenities_unrecognised", self.amenities_unrecognised);
        let provenance = ProvenanceInput {
            source: self.source,
            position_accuracy: self.position_accuracy,
            synthetic: self.synthetic,
            updated: self.updated,
            notes: self.notes,
        }
        .validate(ctx, p);
        p.unknown(self.unknown);
        if !p.list.is_empty() {
            return None;
        }
        Some(Facility {
            text: FacilityText::new(TextFields {
                id: &id?,
                name: &name?,
                name_en: name_en.as_deref(),
                address: address.as_deref(),
                phone: phone.as_deref(),
            }),
            layer,
            position: position?,
            city,
            district,
            amenities,
            hours,
            operator,
            grade,
            provenance: provenance?,
        })
    }
}

impl<'de: 'a, 'a> Kind<'de> for ParkInput<'a> {
    type Record = Park;

    fn id_given(&self) -> Option<&str> {
        self.id()
    }

    fn record(
        self,
        layer: Layer,
        position: Option<LonLat>,
        geometry: Option<&RawValue>,
        ctx: &mut Context,
        p: &mut Problems,
    ) -> Option<Park> {
        let id = p.required("id", self.id);
        let name = p.required("name", self.name);
        p.layer_matches(self.layer, layer);
        let name_en = p.text("name_en", self.name_en);
        let city = p.text("city", self.city).map(|s| ctx.shared(&s));
        let district = p.text("district", self.district).map(|s| ctx.shared(&s));
        let park_type = p.take("park_type", self.park_type).flatten();
        let counts = ParkCounts {
            enterprises: p.take("enterprises", self.enterprises).flatten(),
            unionised_enterprises: p
                .take("unionised_enterprises", self.unionised_enterprises)
                .flatten(),
            workers: p.take("workers", self.workers).flatten(),
            union_members: p.take("union_members", self.union_members).flatten(),
        };
        if let (Some(all), Some(part)) = (counts.enterprises, counts.unionised_enterprises)
            && part > all
        {
            p.prop(
                "unionised_enterprises",
                format!("{part} is more than the park's {all} enterprises"),
            );
        }
        if let (Some(all), Some(part)) = (counts.workers, counts.union_members)
            && part > all
        {
            p.prop(
                "union_members",
                format!("{part} is more than the park's {all} workers"),
            );
        }
        let given = p.take("union_status", self.union_status).flatten();
        let derived = counts.derived_status();
        if let (Some(g), Some(d)) = (given, derived)
            && g != d
        {
            p.prop(
                "union_status",
                format!(
                    "{} contradicts the enterprise counts, which give {}",
                    g.id(),
                    d.id()
                ),
            );
        }
        let union_founded = p.date("union_founded", self.union_founded, ctx);
        let counts_as_of = p.date("counts_as_of", self.counts_as_of, ctx);
        let provenance = ProvenanceInput {
            source: self.source,
            position_accuracy: self.position_accuracy,
            synthetic: self.synthetic,
            updated: self.updated,
            notes: self.notes,
        }
        .validate(ctx, p);
        p.unknown(self.unknown);
        if !p.list.is_empty() {
            return None;
        }
        Some(Park {
            id: id?.into(),
            name: name?.into(),
            name_en: name_en.map(Into::into),
            city,
            district,
            park_type,
            counts,
            union_status: derived.or(given),
            union_founded,
            counts_as_of,
            position: position?,
            geometry: geometry.map(RawValue::to_owned),
            provenance: provenance?,
        })
    }
}

/// A GeoJSON Feature as given: its members not read yet, its properties those of
/// one kind ([`FacilityInput`] or [`ParkInput`]).
#[derive(Deserialize)]
pub struct FeatureInput<'a, P> {
    /// `Feature`.
    #[serde(rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// The feature's id (must equal `properties.id`).
    #[serde(borrow)]
    pub id: Option<&'a RawValue>,
    /// The geometry.
    #[serde(borrow)]
    pub geometry: Option<&'a RawValue>,
    /// The properties.
    pub properties: Option<P>,
}

impl<'a, P: Kind<'a>> FeatureInput<'a, P> {
    /// The id given in the properties, when it is a string.
    pub fn id_given(&self) -> Option<&str> {
        self.properties.as_ref().and_then(P::id_given)
    }

    /// The feature's record, or every problem it has (each naming the feature by its
    /// id, else by `#index`). Uniqueness of the id is the caller's to check.
    pub fn validate(
        self,
        layer: Layer,
        index: usize,
        ctx: &mut Context,
    ) -> Result<P::Record, Vec<FieldProblem>> {
        let label = match self.id_given() {
            Some(id) => id.to_owned(),
            None => format!("#{index}"),
        };
        let mut p = Problems {
            feature: &label,
            list: Vec::new(),
        };
        if self.kind.as_deref() != Some("Feature") {
            p.at("type", "expected \"Feature\"".into());
        }
        if let (Some(id), Some(top)) = (self.id_given(), self.id)
            && serde_json::from_str::<Key>(top.get())
                .ok()
                .map(|k| k.0)
                .as_deref()
                != Some(id)
        {
            p.at("id", format!("feature id {top} differs from properties.id"));
        }
        let position = match parse_geometry(self.geometry, layer) {
            Ok(at) => Some(at),
            Err(reason) => {
                p.at("geometry", reason);
                None
            }
        };
        let record =
            self.properties
                .unwrap_or_default()
                .record(layer, position, self.geometry, ctx, &mut p);
        match record {
            Some(r) if p.list.is_empty() => Ok(r),
            _ => Err(p.list),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodata::load_dir;
    use crate::model::hours::Calendar;
    use serde_json::{Value, json};

    fn ctx() -> Context {
        Context::new(Schedules::new(Calendar::bundled()))
    }

    fn facility_json(props: Value) -> String {
        json!({
            "type": "Feature", "id": props["id"],
            "geometry": {"type": "Point", "coordinates": [118.35, 35.1]},
            "properties": props,
        })
        .to_string()
    }

    /// Every property a facility can hold, each set.
    fn full_facility() -> Value {
        json!({
            "id": "fs-1", "layer": "fitness_station", "name": "临沂\"健身\"驿站",
            "name_en": "Linyi Fitness", "address": "兰山区1号", "city": "临沂市",
            "district": "兰山区", "amenities": ["toilet", "fitness_equipment"],
            "opening_hours": "Mo-Fr 09:00-18:00", "phone": "0539-0000000",
            "operator": "临沂市总工会", "grade": "regular",
            "opening_hours_text": "夏季8点", "amenities_unrecognised": ["按摩椅"],
            "source": "test", "position_accuracy": "address", "synthetic": false,
            "updated": "2026-01-02", "notes": "a note",
        })
    }

    fn full_park() -> Value {
        json!({
            "id": "pk-1", "layer": "park", "name": "苏桥工业园", "name_en": "Suqiao",
            "city": "桂林市", "district": "临桂区", "park_type": "industrial",
            "enterprises": 10, "unionised_enterprises": 4, "workers": 700,
            "union_members": 300, "union_status": "partial",
            "union_founded": "2022-08-09", "counts_as_of": "2022-10-01",
            "source": "test", "position_accuracy": "district", "synthetic": false,
            "updated": "2026-01-02", "notes": "a note",
        })
    }

    fn validate_facility(
        text: &str,
        layer: Layer,
        ctx: &mut Context,
    ) -> Result<Facility, Vec<FieldProblem>> {
        serde_json::from_str::<FeatureInput<FacilityInput>>(text)
            .unwrap()
            .validate(layer, 0, ctx)
    }

    fn validate_park(text: &str, ctx: &mut Context) -> Result<Park, Vec<FieldProblem>> {
        serde_json::from_str::<FeatureInput<ParkInput>>(text)
            .unwrap()
            .validate(Layer::Park, 0, ctx)
    }

    fn fields(problems: &[FieldProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    /// Five bad fields: five problems, each naming its field, none hiding another.
    #[test]
    fn five_bad_fields_make_five_problems() {
        let mut props = full_facility();
        props["name"] = json!(7);
        props["amenities"] = json!(["showers", "toilet", "jacuzzi"]);
        props["synthetic"] = json!("yes");
        props["updated"] = json!("2026-13-01");
        props["grade"] = json!("huge");
        let problems = validate_facility(&facility_json(props), Layer::FitnessStation, &mut ctx())
            .unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                "properties.name",
                "properties.amenities",
                "properties.grade",
                "properties.synthetic",
                "properties.updated"
            ],
            "{problems:?}"
        );
        let reason = |f: &str| {
            let p = problems.iter().find(|p| p.field == f).unwrap();
            assert_eq!(p.feature.as_deref(), Some("fs-1"));
            p.reason.as_str()
        };
        assert_eq!(reason("properties.name"), "must be a string, got 7");
        assert_eq!(
            reason("properties.amenities"),
            "unknown amenities 'showers', 'jacuzzi' (see geodata/README.md)"
        );
        assert_eq!(
            reason("properties.grade"),
            "expected one of `simple`, `regular`, `comprehensive`, got \"huge\""
        );
        assert_eq!(
            reason("properties.synthetic"),
            "must be true or false, got \"yes\""
        );
        assert_eq!(
            reason("properties.updated"),
            "'2026-13-01' is not a date (YYYY-MM-DD)"
        );
    }

    /// Park counts keep the loader's words; the feature is named by its id.
    #[test]
    fn park_problems_keep_their_words() {
        let mut props = full_park();
        props["workers"] = json!(-3);
        props["unionised_enterprises"] = json!(11);
        props["union_status"] = json!("none");
        let text = facility_json(props);
        let problems = validate_park(&text, &mut ctx()).unwrap_err();
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "feature pk-1: properties.workers: must be a non-negative whole number, got -3",
                "feature pk-1: properties.unionised_enterprises: 11 is more than the park's 10 enterprises",
                "feature pk-1: properties.union_status: none contradicts the enterprise counts, which give full",
            ]
        );
    }

    /// A key that is no property is refused by its name; so is a facility's
    /// property on a park.
    #[test]
    fn unknown_properties_are_refused_by_name() {
        let mut props = full_park();
        props["colour"] = json!("red");
        props["amenities"] = json!(["toilet"]);
        let problems = validate_park(&facility_json(props), &mut ctx()).unwrap_err();
        assert_eq!(
            fields(&problems),
            ["properties.colour", "properties.amenities"]
        );
        assert!(problems[0].reason.starts_with("unknown property"));
    }

    /// Missing required fields, a bad geometry and a wrong type: all reported.
    #[test]
    fn feature_members_and_required_fields() {
        let text = r#"{"type": "Fetaure", "id": "x", "geometry": {"type": "Point", "coordinates": [39.9, 116.4]},
            "properties": {"id": "y", "name": " ", "layer": "park"}}"#;
        let problems = validate_facility(text, Layer::DriverHome, &mut ctx()).unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                "type",
                "id",
                "geometry",
                "properties.name",
                "properties.layer",
                "properties.source",
                "properties.position_accuracy",
                "properties.synthetic"
            ]
        );
        assert!(problems.iter().all(|p| p.feature.as_deref() == Some("y")));
        assert!(problems[2].reason.contains("swapped"));
    }

    /// The names the input knows are the names the written form has.
    #[test]
    fn known_fields_are_the_written_names() {
        for (value, known) in [
            (full_facility(), FacilityProperties::FIELDS),
            (full_park(), ParkProperties::FIELDS),
        ] {
            let names: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            // Written in declaration order, every field present (all are set).
            let written = if known == FacilityProperties::FIELDS {
                serde_json::to_value(
                    serde_json::from_value::<FacilityProperties>(value.clone()).unwrap(),
                )
            } else {
                serde_json::to_value(
                    serde_json::from_value::<ParkProperties>(value.clone()).unwrap(),
                )
            }
            .unwrap();
            let keys: Vec<&str> = written
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            let mut sorted_known = known.to_vec();
            sorted_known.sort();
            let mut sorted_names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            sorted_names.sort();
            // serde_json's map is sorted: compare as sets, and the full value has them all.
            let mut sorted_keys = keys.clone();
            sorted_keys.sort();
            assert_eq!(sorted_keys, sorted_known);
            assert_eq!(sorted_names, sorted_known);
            assert_eq!(written, value, "read and written back unchanged");
        }
        // And in declaration order when written by a serializer that keeps order.
        let text = serde_json::to_string(
            &serde_json::from_value::<FacilityProperties>(full_facility()).unwrap(),
        )
        .unwrap();
        let positions: Vec<usize> = FacilityProperties::FIELDS
            .iter()
            .map(|f| text.find(&format!("\"{f}\":")).unwrap())
            .collect();
        assert!(positions.is_sorted(), "{text}");
    }

    /// Every generated (and reported) facility and park of the bundled data:
    /// written, read back and validated, it is the same record.
    #[test]
    fn records_round_trip_through_their_properties() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        let data = load_dir(&dir).unwrap();
        assert!(data.facilities.iter().any(|f| f.provenance.synthetic));
        assert!(data.parks.iter().any(|p| p.provenance.synthetic));
        let mut ctx = Context::new(data.schedules.clone());
        for f in &data.facilities {
            let props = FacilityProperties::of(f, &data.schedules);
            let feature = json!({
                "type": "Feature", "id": f.id(),
                "geometry": {"type": "Point", "coordinates": [f.position.lon(), f.position.lat()]},
                "properties": props,
            })
            .to_string();
            let back = validate_facility(&feature, f.layer, &mut ctx).unwrap();
            assert_eq!(FacilityProperties::of(&back, &ctx.schedules), props);
            assert_eq!(back.position, f.position);
        }
        for p in &data.parks {
            let props = ParkProperties::of(p);
            let geometry: Value = match &p.geometry {
                Some(raw) => serde_json::from_str(raw.get()).unwrap(),
                None => {
                    json!({"type": "Point", "coordinates": [p.position.lon(), p.position.lat()]})
                }
            };
            let feature = json!({
                "type": "Feature", "id": &*p.id, "geometry": geometry, "properties": props,
            })
            .to_string();
            let back = validate_park(&feature, &mut ctx).unwrap();
            assert_eq!(ParkProperties::of(&back), props);
            assert_eq!(back.position, p.position);
        }
    }

    /// A hand-made facility with every field set survives the same trip, the
    /// importer's two kept fields included (in the written form; records drop them).
    #[test]
    fn every_field_round_trips() {
        let mut ctx = ctx();
        let text = facility_json(full_facility());
        let f = validate_facility(&text, Layer::FitnessStation, &mut ctx).unwrap();
        let mut want = full_facility();
        let props = FacilityProperties::of(&f, &ctx.schedules);
        let obj = want.as_object_mut().unwrap();
        obj.remove("opening_hours_text");
        obj.remove("amenities_unrecognised");
        assert_eq!(serde_json::to_value(&props).unwrap(), want);
        let text = facility_json(full_park());
        let p = validate_park(&text, &mut ctx).unwrap();
        assert_eq!(
            serde_json::to_value(ParkProperties::of(&p)).unwrap(),
            full_park()
        );
    }
}
