//! The queryables: the properties `items` filters on, one query parameter each
//! (`city=临沂市`, `union_status=none,partial`, `synthetic=false`), and the JSON
//! Schema that lists them (`/ogc/collections/{layer}/queryables`).
//!
//! One table, [`QUERYABLES`], drives the parameters, their parsing, their
//! matching, the schema and the OpenAPI parameters, so they cannot disagree.
//! Matching is equality; a list (comma-separated) of choices matches any of
//! them; `amenities=shower,truck_parking` needs all of them. A property that is
//! null matches nothing.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value, json};

use super::super::AppState;
use super::super::params::Params;
use super::super::problem::ApiError;
use super::{Base, Format, html};
use crate::model::{
    Amenity, AmenitySet, Facility, Grade, Layer, Park, ParkType, PositionAccuracy, UnionStatus,
};

/// A property one can filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prop {
    /// The layer id.
    Layer,
    /// The Chinese name.
    Name,
    /// The city.
    City,
    /// The district.
    District,
    /// The union body running a facility.
    Operator,
    /// A facility's amenities.
    Amenities,
    /// A fitness station's grade.
    Grade,
    /// A park's kind.
    ParkType,
    /// A park's union status.
    UnionStatus,
    /// Enterprises in a park.
    Enterprises,
    /// Enterprises with a union.
    UnionisedEnterprises,
    /// Workers in a park.
    Workers,
    /// Union members in a park.
    UnionMembers,
    /// Where the record comes from.
    Source,
    /// How exact the position is.
    PositionAccuracy,
    /// Generated demo data.
    Synthetic,
    /// When the record was last written (`YYYY-MM-DD`).
    Updated,
}

/// The type of a queryable's values.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Any string, matched exactly.
    Text,
    /// One of a closed list.
    Choice(&'static [&'static str]),
    /// `true` or `false`.
    Flag,
    /// A whole number.
    Count,
    /// A date `YYYY-MM-DD`.
    Date,
    /// A list from the amenity vocabulary.
    Amenities,
}

/// Which layers a queryable belongs to.
#[derive(Clone, Copy, Debug)]
enum Layers {
    All,
    Facilities,
    Parks,
    Only(Layer),
}

/// One queryable.
#[derive(Clone, Copy, Debug)]
pub struct Queryable {
    /// The property.
    pub prop: Prop,
    /// Its name in the data and the query string.
    pub name: &'static str,
    /// Chinese title.
    pub zh: &'static str,
    /// English title.
    pub en: &'static str,
    /// Its values.
    pub kind: Kind,
    layers: Layers,
}

impl Queryable {
    /// Whether `layer`'s features have this property.
    pub fn applies(&self, layer: Layer) -> bool {
        match self.layers {
            Layers::All => true,
            Layers::Facilities => layer.is_facility(),
            Layers::Parks => !layer.is_facility(),
            Layers::Only(l) => l == layer,
        }
    }

    /// The JSON Schema of the property's values.
    pub fn schema(&self) -> Value {
        let mut s = match self.kind {
            Kind::Text => json!({"type": "string"}),
            Kind::Choice(values) => json!({"type": "string", "enum": values}),
            Kind::Flag => json!({"type": "boolean"}),
            Kind::Count => json!({"type": "integer", "minimum": 0}),
            Kind::Date => json!({"type": "string", "format": "date"}),
            Kind::Amenities => json!({
                "type": "array",
                "items": {"type": "string", "enum": Amenity::ALL.iter().map(|a| a.id()).collect::<Vec<_>>()},
            }),
        };
        s["title"] = json!(format!("{} / {}", self.zh, self.en));
        s
    }

    /// How the query parameter is written, for people.
    pub fn usage(&self) -> &'static str {
        match self.kind {
            Kind::Text => "exact value / 完全相等",
            Kind::Choice(_) => {
                "one value, or several separated by commas (any of them) / 一个或多个值，逗号分隔（任一）"
            }
            Kind::Flag => "true | false",
            Kind::Count => "whole number / 整数",
            Kind::Date => "YYYY-MM-DD",
            Kind::Amenities => "comma-separated; a facility must offer all / 逗号分隔，须全部具备",
        }
    }
}

const fn q(
    prop: Prop,
    name: &'static str,
    zh: &'static str,
    en: &'static str,
    kind: Kind,
    layers: Layers,
) -> Queryable {
    Queryable {
        prop,
        name,
        zh,
        en,
        kind,
        layers,
    }
}

/// Every queryable, in the order the schema lists them.
pub const QUERYABLES: &[Queryable] = &[
    q(
        Prop::Layer,
        "layer",
        "图层",
        "Layer",
        Kind::Choice(&Layer::IDS),
        Layers::All,
    ),
    q(Prop::Name, "name", "名称", "Name", Kind::Text, Layers::All),
    q(Prop::City, "city", "城市", "City", Kind::Text, Layers::All),
    q(
        Prop::District,
        "district",
        "区县",
        "District",
        Kind::Text,
        Layers::All,
    ),
    q(
        Prop::Operator,
        "operator",
        "运营单位",
        "Operator",
        Kind::Text,
        Layers::Facilities,
    ),
    q(
        Prop::Amenities,
        "amenities",
        "服务设施",
        "Amenities",
        Kind::Amenities,
        Layers::Facilities,
    ),
    q(
        Prop::Grade,
        "grade",
        "等级",
        "Grade",
        Kind::Choice(&Grade::IDS),
        Layers::Only(Layer::FitnessStation),
    ),
    q(
        Prop::ParkType,
        "park_type",
        "园区类型",
        "Park type",
        Kind::Choice(&ParkType::IDS),
        Layers::Parks,
    ),
    q(
        Prop::UnionStatus,
        "union_status",
        "建会状态",
        "Union status",
        Kind::Choice(&UnionStatus::IDS),
        Layers::Parks,
    ),
    q(
        Prop::Enterprises,
        "enterprises",
        "企业数",
        "Enterprises",
        Kind::Count,
        Layers::Parks,
    ),
    q(
        Prop::UnionisedEnterprises,
        "unionised_enterprises",
        "已建会企业数",
        "Unionised enterprises",
        Kind::Count,
        Layers::Parks,
    ),
    q(
        Prop::Workers,
        "workers",
        "职工数",
        "Workers",
        Kind::Count,
        Layers::Parks,
    ),
    q(
        Prop::UnionMembers,
        "union_members",
        "会员数",
        "Union members",
        Kind::Count,
        Layers::Parks,
    ),
    q(
        Prop::Source,
        "source",
        "来源",
        "Source",
        Kind::Text,
        Layers::All,
    ),
    q(
        Prop::PositionAccuracy,
        "position_accuracy",
        "位置精度",
        "Position accuracy",
        Kind::Choice(&PositionAccuracy::IDS),
        Layers::All,
    ),
    q(
        Prop::Synthetic,
        "synthetic",
        "生成的演示数据",
        "Synthetic (demo) data",
        Kind::Flag,
        Layers::All,
    ),
    q(
        Prop::Updated,
        "updated",
        "更新日期",
        "Updated",
        Kind::Date,
        Layers::All,
    ),
];

/// The queryables of a layer.
pub fn of(layer: Layer) -> impl Iterator<Item = &'static Queryable> {
    QUERYABLES.iter().filter(move |q| q.applies(layer))
}

/// A feature of any layer, for matching.
#[derive(Clone, Copy)]
pub enum Item<'a> {
    /// A facility.
    Facility(&'a Facility),
    /// A park.
    Park(&'a Park),
}

impl<'a> Item<'a> {
    /// A property's value as text (null when absent or not text).
    pub(super) fn text(self, prop: Prop) -> Option<&'a str> {
        match (self, prop) {
            (Item::Facility(f), Prop::Layer) => Some(f.layer.id()),
            (Item::Park(_), Prop::Layer) => Some(Layer::Park.id()),
            (Item::Facility(f), Prop::Name) => Some(f.name()),
            (Item::Park(p), Prop::Name) => Some(&*p.name),
            (Item::Facility(f), Prop::City) => f.city.as_deref(),
            (Item::Park(p), Prop::City) => p.city.as_deref(),
            (Item::Facility(f), Prop::District) => f.district.as_deref(),
            (Item::Park(p), Prop::District) => p.district.as_deref(),
            (Item::Facility(f), Prop::Operator) => f.operator.as_deref(),
            (Item::Facility(f), Prop::Grade) => f.grade.map(Grade::id),
            (Item::Park(p), Prop::ParkType) => p.park_type.map(ParkType::id),
            (Item::Park(p), Prop::UnionStatus) => p.union_status.map(UnionStatus::id),
            (Item::Facility(f), Prop::Source) => Some(&*f.provenance.source),
            (Item::Park(p), Prop::Source) => Some(&*p.provenance.source),
            (Item::Facility(f), Prop::PositionAccuracy) => {
                Some(f.provenance.position_accuracy.id())
            }
            (Item::Park(p), Prop::PositionAccuracy) => Some(p.provenance.position_accuracy.id()),
            _ => None,
        }
    }

    /// A park's count (null when unknown, and for facilities).
    pub(super) fn count(self, prop: Prop) -> Option<u32> {
        let Item::Park(p) = self else {
            return None;
        };
        match prop {
            Prop::Enterprises => p.counts.enterprises,
            Prop::UnionisedEnterprises => p.counts.unionised_enterprises,
            Prop::Workers => p.counts.workers,
            Prop::UnionMembers => p.counts.union_members,
            _ => None,
        }
    }

    /// Whether it is generated demo data.
    pub(super) fn synthetic(self) -> bool {
        match self {
            Item::Facility(f) => f.provenance.synthetic,
            Item::Park(p) => p.provenance.synthetic,
        }
    }

    fn amenities(self) -> AmenitySet {
        match self {
            Item::Facility(f) => f.amenities,
            Item::Park(_) => AmenitySet::default(),
        }
    }
}

/// One condition of a request.
#[derive(Clone, Debug)]
pub enum Filter {
    /// The property equals this text.
    Text(Prop, String),
    /// The property is one of these.
    AnyOf(Prop, Vec<&'static str>),
    /// `synthetic` (the only flag) has this value.
    Synthetic(bool),
    /// The count equals this.
    Count(Prop, u32),
    /// `updated` is this day (days from the common era).
    Day(i32),
    /// The facility offers all of these.
    Amenities(AmenitySet),
}

impl Filter {
    /// Whether `item`, updated on `day` (see [`super::meta::NO_DAY`]), matches.
    pub fn matches(&self, item: Item<'_>, day: i32) -> bool {
        match self {
            Filter::Text(prop, want) => item.text(*prop) == Some(want.as_str()),
            Filter::AnyOf(prop, want) => item.text(*prop).is_some_and(|v| want.contains(&v)),
            Filter::Synthetic(want) => item.synthetic() == *want,
            Filter::Count(prop, want) => item.count(*prop) == Some(*want),
            Filter::Day(want) => day == *want,
            Filter::Amenities(want) => item.amenities().contains_all(*want),
        }
    }
}

/// Takes the queryables of `layer` out of `p` as filters; names a queryable of
/// another layer as such (not merely as unknown).
pub fn filters(p: &mut Params, layer: Layer) -> Vec<Filter> {
    let mut out = Vec::new();
    for q in QUERYABLES {
        let Some(raw) = p.raw(q.name) else {
            continue;
        };
        if !q.applies(layer) {
            p.problem(
                q.name,
                format!("is not a queryable of {layer} (see /ogc/collections/{layer}/queryables)"),
            );
            continue;
        }
        let raw = raw.trim();
        let filter = match q.kind {
            Kind::Text => Ok(Filter::Text(q.prop, raw.to_owned())),
            Kind::Choice(values) => raw
                .split(',')
                .map(|v| {
                    let v = v.trim();
                    values
                        .iter()
                        .copied()
                        .find(|c| *c == v)
                        .ok_or_else(|| format!("'{v}' is not one of {}", values.join(", ")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Filter::AnyOf(q.prop, v)),
            Kind::Flag => match raw {
                "true" | "1" => Ok(Filter::Synthetic(true)),
                "false" | "0" => Ok(Filter::Synthetic(false)),
                other => Err(format!("'{other}' is not true or false")),
            },
            Kind::Count => raw
                .parse::<u32>()
                .map(|n| Filter::Count(q.prop, n))
                .map_err(|_| format!("'{raw}' is not a whole number")),
            Kind::Date => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| Filter::Day(d.num_days_from_ce()))
                .map_err(|_| format!("'{raw}' is not a date YYYY-MM-DD")),
            Kind::Amenities => raw
                .split(',')
                .map(|a| Amenity::from_str(a.trim()).map_err(|e| e.to_string()))
                .collect::<Result<AmenitySet, _>>()
                .map(Filter::Amenities),
        };
        match filter {
            Ok(f) => out.push(f),
            Err(reason) => p.problem(q.name, reason),
        }
    }
    out
}

/// The queryables of `layer` as a JSON Schema (2020-12) whose `$id` is `id`.
pub fn schema(layer: Layer, id: &str) -> Value {
    let mut properties: Map<String, Value> =
        of(layer).map(|q| (q.name.to_owned(), q.schema())).collect();
    // The geometry, for the CQL2 spatial predicate (not a query parameter).
    properties.insert(
        super::cql::GEOMETRY.to_owned(),
        json!({
            "title": "几何 / Geometry",
            "format": if layer.is_facility() { "geometry-point" } else { "geometry-any" },
            "x-ogc-role": "primary-geometry",
        }),
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id,
        "type": "object",
        "title": format!("{} {} · queryables / 可查询属性", layer.name_zh(), layer.name_en()),
        "description": "Each property but the geometry is also a query parameter of \
            the items: equality; a comma-separated list of choices matches any of them; \
            amenities must all be offered. Every property can be used in a CQL2 filter \
            (filter=…), the geometry with S_INTERSECTS. \
            除几何外，每个属性都可作为 items 的查询参数；所有属性都可用于 CQL2 过滤 (filter)。",
        "properties": properties,
        "additionalProperties": false,
    })
}

/// `application/schema+json`, or `application/json` for a client that accepts
/// JSON but not JSON Schema by name (GDAL asks for `application/geo+json,
/// application/json` and refuses another type).
fn schema_media(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let named = |m: &str| {
        accept.split(',').any(|r| {
            r.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(m)
        })
    };
    if named("application/json") && !named(super::SCHEMA_JSON) && !named("*/*") {
        super::JSON
    } else {
        super::SCHEMA_JSON
    }
}

/// `GET /ogc/collections/{layer}/queryables`.
pub async fn queryables(
    State(state): State<Arc<AppState>>,
    Path(layer): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = super::layer(&layer)?;
    let base = Base::of(&headers)?;
    let mut p = Params::parse(query.as_deref())?;
    let f = super::format(&mut p, &headers);
    p.finish()?;
    state.atlas()?;
    let path = format!("/collections/{layer}/queryables");
    let mut doc = schema(layer, &base.ogc(&path));
    doc["links"] = json!(super::self_links(&base, &path, f, super::SCHEMA_JSON));
    match f {
        Format::Json => super::respond_json(&state, schema_media(&headers), &doc),
        Format::Html => Ok(super::respond_html(
            &state,
            html::queryables(&base, layer, &doc),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(q: &str, layer: Layer) -> Vec<String> {
        let mut p = Params::parse(Some(q)).unwrap();
        filters(&mut p, layer);
        match p.finish() {
            Ok(()) => vec![],
            Err(ApiError::InvalidParams(v)) => v.into_iter().map(|p| p.name).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parameters_are_checked_against_the_table() {
        assert!(
            problems(
                "union_status=none,partial&workers=5&synthetic=true",
                Layer::Park
            )
            .is_empty()
        );
        assert_eq!(
            problems("union_status=nonee", Layer::Park),
            ["union_status"]
        );
        assert_eq!(
            problems("union_status=none", Layer::DriverHome),
            ["union_status"]
        );
        assert_eq!(problems("grade=simple", Layer::CourierStation), ["grade"]);
        assert!(problems("grade=simple&amenities=shower,wifi", Layer::FitnessStation).is_empty());
        assert_eq!(
            problems("amenities=sauna", Layer::DriverHome),
            ["amenities"]
        );
        assert_eq!(problems("updated=2024-13-01", Layer::Park), ["updated"]);
        assert_eq!(problems("synthetic=maybe", Layer::Park), ["synthetic"]);
    }

    #[test]
    fn every_queryable_has_a_schema_type() {
        for layer in Layer::ALL {
            let s = schema(layer, "x");
            for (name, prop) in s["properties"].as_object().unwrap() {
                assert!(
                    prop["type"].is_string() || prop["format"].is_string(),
                    "{layer} {name}"
                );
            }
        }
        let s = schema(Layer::Park, "x");
        assert_eq!(
            s["properties"]["union_status"]["enum"],
            json!(["none", "partial", "full"])
        );
        assert!(s["properties"].get("amenities").is_none());
    }
}
