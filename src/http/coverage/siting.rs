//! `POST /api/v1/siting`: where the next `p` facilities of a layer should go.
//!
//! The body is read in two steps: into [`SitingRequest`], whose fields each keep
//! their value or what was given instead ([`Field`]), so one answer names every
//! field at fault; then [`SitingRequest::validate`] checks the ranges and builds the
//! [`Siting`] the analysis runs on. The OpenAPI document's request body is
//! `SitingRequest`'s schema.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use utoipa::openapi::schema::{
    ArrayBuilder, ArrayItems, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::{RefOr, schema::AdditionalProperties};
use utoipa::{PartialSchema, ToSchema};

use super::super::AppState;
use super::super::problem::{ApiError, InvalidParam};
use super::{
    ApiResult, MAX_CANDIDATES, MAX_SITES, MAX_SITING_PAIRS, MAX_SITING_PRODUCT, PointGeometry,
    blocking,
};
use crate::coverage::grid::GridResolution;
use crate::coverage::siting::{self, Demand, Weight};
use crate::coverage::{CoverageError, FacilityLayer, ParkFilter, Radii, Radius};
use crate::index::{BBox, sphere};
use crate::model::{Field, LonLat, UnionStatus};

/// A JSON body of type `T`, read from the bytes (a [`Field`] borrows its raw value
/// from them). Its rejections are problem+json: a body over the route's limit is
/// 413; one without a JSON content type, malformed, or not an object is 400 naming
/// `body`. Unknown members do not stop the reading: they are kept in `unknown`, each
/// named, for the validation to report with the problems of the known members.
pub struct JsonBody<T> {
    /// The body, without its unknown members.
    pub body: T,
    /// One problem per unknown member.
    pub unknown: Vec<InvalidParam>,
}

impl<T: DeserializeOwned + ToSchema> FromRequest<Arc<AppState>> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::param(
                "body",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let bytes = match Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::PayloadTooLarge(state.options().max_siting_bytes));
            }
            Err(r) => return Err(ApiError::param("body", r.body_text())),
        };
        read_body(&bytes)
    }
}

/// `application/json` or `application/…+json`, parameters aside.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(kind) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = kind
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads a `T` from `bytes`. A `T` refuses unknown members at the first one
/// (`deny_unknown_fields`); the body is then read again without them, so that every
/// unknown member is named and the known ones are still read.
fn read_body<T: DeserializeOwned + ToSchema>(bytes: &[u8]) -> Result<JsonBody<T>, ApiError> {
    let first = match serde_json::from_slice::<T>(bytes) {
        Ok(body) => {
            return Ok(JsonBody {
                body,
                unknown: Vec::new(),
            });
        }
        Err(e) if e.is_data() && e.to_string().starts_with("unknown field") => e,
        Err(e) => return Err(body_error(&e)),
    };
    let known = member_names::<T>();
    let members: BTreeMap<String, &RawValue> =
        serde_json::from_slice(bytes).map_err(|_| body_error(&first))?;
    let (kept, unknown): (BTreeMap<_, _>, BTreeMap<_, _>) = members
        .into_iter()
        .partition(|(k, _)| known.iter().any(|n| n == k));
    let unknown = unknown
        .into_keys()
        .map(|k| InvalidParam::new(k, format!("unknown field ({})", known.join(", "))))
        .collect();
    let again = serde_json::to_vec(&kept).map_err(ApiError::internal)?;
    let body = serde_json::from_slice::<T>(&again).map_err(|e| body_error(&e))?;
    Ok(JsonBody { body, unknown })
}

/// A body that cannot be read as the expected object: `body` at fault, or the member
/// given twice.
fn body_error(e: &serde_json::Error) -> ApiError {
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    if let Some(name) = text
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.split('`').next())
    {
        return ApiError::param(name, "given more than once");
    }
    if e.is_data() && text.starts_with("invalid type") {
        // "invalid type: sequence, expected struct SitingRequest": the first half.
        let given = text.split(", expected").next().unwrap_or(text);
        return ApiError::param("body", format!("must be a JSON object ({given})"));
    }
    ApiError::param("body", text)
}

/// The members `T`'s schema lists (in the document's order: by name).
fn member_names<T: PartialSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

// The members are `Field`s. A `Field<T>` is documented as a `T` (`model::field`), but
// utoipa drops range attributes on a composed generic and the ranges belong in the
// document: so each member names its `value_type` with its range, or its
// `schema_with` (which holds its description: the doc comment is not used). This
// comment is not `///`: that would be the schema's description.
/// What `POST /api/v1/siting` takes. Every member but `layer` is optional; a member
/// given as `null` counts as absent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitingRequest {
    /// The kind of facility to place.
    #[schema(schema_with = crate::http::schema::facility_layer, required = true)]
    layer: Option<Field<String>>,
    /// How many sites (default 10).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 500, default = 10)]
    p: Option<Field<f64>>,
    /// A site's service radius, metres (default: the layer's).
    #[schema(value_type = Option<f64>, exclusive_minimum = 0.0, maximum = 500_000.0)]
    radius_m: Option<Field<f64>>,
    /// What to cover: `workers` (default), `ununionised_workers` or `parks`.
    #[schema(schema_with = weight)]
    weight: Option<Field<String>>,
    /// Only demand inside `[minlon, minlat, maxlon, maxlat]` (WGS-84 degrees).
    #[schema(schema_with = bbox)]
    bbox: Option<Field<[f64; 4]>>,
    /// Only parks of this city.
    #[schema(value_type = Option<String>, min_length = 1)]
    city: Option<Field<String>>,
    /// Only parks of this district.
    #[schema(value_type = Option<String>, min_length = 1)]
    district: Option<Field<String>>,
    /// Only parks with these union statuses (a list, or `"none,partial"`).
    #[schema(schema_with = union_statuses)]
    union_status: Option<Field<Statuses>>,
    /// Only parks with at least this many workers.
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 4_294_967_295_u64)]
    min_workers: Option<Field<f64>>,
    /// Where sites may go: `"parks"` (default: at the parks), `{"h3": res}` (H3 cell
    /// centres, res 4–8), or a GeoJSON FeatureCollection of points (up to 200,000).
    #[schema(schema_with = candidates_schema)]
    candidates: Option<Field<Value>>,
}

/// Union statuses as a list or as one comma list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Statuses {
    List(Vec<String>),
    Comma(String),
}

/// Candidate points given in a request: the feature's id (if any) and where.
type GivenPoints = Vec<(Option<Value>, LonLat)>;

/// A body field at fault and why.
type FieldProblem = (String, String);

/// Where candidate sites come from.
enum Candidates {
    /// Every selected park.
    Parks,
    /// The centres of the H3 cells that hold a selected park.
    H3(GridResolution),
    /// Points given in the request: (feature id, position).
    Points(GivenPoints),
}

/// A siting request, valid.
struct Siting {
    layer: FacilityLayer,
    p: usize,
    radius: Radius,
    candidates: Candidates,
    weight: Weight,
    /// Which parks are demand (and candidates): `bbox`, `city`, `district`,
    /// `union_status`, `min_workers`, as the park coverage filters.
    parks: ParkFilter,
}

/// The problems of one body, collected field by field.
struct Problems(Vec<InvalidParam>);

impl Problems {
    fn add(&mut self, name: &str, reason: impl Into<String>) {
        self.0.push(InvalidParam::new(name, reason));
    }

    /// A member's value; one that is not a `T` is a problem saying what it must be.
    fn value<T>(&mut self, name: &str, field: Option<Field<T>>, must_be: &str) -> Option<T> {
        match field? {
            Field::Ok(v) => Some(v),
            Field::Bad { given, .. } => {
                self.add(name, format!("must be {must_be}, got {given}"));
                None
            }
        }
    }

    /// A member checked by `check`, which says why a value is refused.
    fn checked<T, U, E: ToString>(
        &mut self,
        name: &str,
        field: Option<Field<T>>,
        must_be: &str,
        check: impl FnOnce(T) -> Result<U, E>,
    ) -> Option<U> {
        let v = self.value(name, field, must_be)?;
        check(v).map_err(|e| self.add(name, e.to_string())).ok()
    }
}

impl SitingRequest {
    /// Checks every member against its range, naming each one at fault (and then
    /// the `unknown` members, found when the body was read).
    fn validate(self, unknown: Vec<InvalidParam>, defaults: &Radii) -> Result<Siting, ApiError> {
        let mut bad = Problems(Vec::new());
        let layer = match self.layer {
            None => {
                bad.add(
                    "layer",
                    "is required (driver_home, courier_station, fitness_station)",
                );
                None
            }
            given => bad.checked("layer", given, "a string", |s| s.parse::<FacilityLayer>()),
        };
        let sites = format!("a whole number from 1 to {MAX_SITES}");
        let p = bad.checked("p", self.p, &sites, |n| {
            whole(n, 1, MAX_SITES as u64, &sites)
        });
        let radius = bad.checked("radius_m", self.radius_m, "a number of metres", Radius::new);
        let weight = bad.checked("weight", self.weight, "a string", |s| s.parse::<Weight>());
        let bbox = bad.checked(
            "bbox",
            self.bbox,
            "[minlon, minlat, maxlon, maxlat]",
            body_bbox,
        );
        let mut name = |field: &str, given: Option<Field<String>>| {
            bad.checked(field, given, "a non-empty string", |s| {
                let s = s.trim();
                if s.is_empty() {
                    Err("must be a non-empty string, got \"\"")
                } else {
                    Ok(s.to_owned())
                }
            })
        };
        let city = name("city", self.city);
        let district = name("district", self.district);
        let union_status = bad.checked(
            "union_status",
            self.union_status,
            "a list of none, partial, full",
            body_statuses,
        );
        let workers = format!("a whole number from 0 to {}", u32::MAX);
        let min_workers = bad.checked("min_workers", self.min_workers, &workers, |n| {
            whole(n, 0, u32::MAX.into(), &workers)
        });
        // Any JSON is a `Value`: a refused one is kept for completeness.
        let candidates = match self.candidates.map(Field::into_result) {
            None => None,
            Some(Ok(v)) => candidates(v).map_err(|(n, r)| bad.add(&n, r)).ok(),
            Some(Err(why)) => {
                bad.add("candidates", why);
                None
            }
        };
        bad.0.extend(unknown);
        let (Some(layer), true) = (layer, bad.0.is_empty()) else {
            return Err(ApiError::InvalidParams(bad.0));
        };
        Ok(Siting {
            layer,
            p: p.unwrap_or(10),
            radius: radius.unwrap_or(defaults[layer]),
            candidates: candidates.unwrap_or(Candidates::Parks),
            weight: weight.unwrap_or(Weight::Workers),
            parks: ParkFilter {
                union_status,
                min_workers,
                bbox,
                city,
                district,
            },
        })
    }
}

/// `n` as a whole number from `min` to `max`: JSON's `10.0` is `10`, as JSON Schema
/// reads it.
fn whole<T: TryFrom<u64>>(n: f64, min: u64, max: u64, must_be: &str) -> Result<T, String> {
    let refused = || format!("must be {must_be}, got {n}");
    if n.fract() != 0.0 || n < min as f64 || n > max as f64 {
        return Err(refused());
    }
    T::try_from(n as u64).map_err(|_| refused())
}

/// `["none", "partial"]` or `"none,partial"`.
fn body_statuses(given: Statuses) -> Result<Vec<UnionStatus>, String> {
    let words: Vec<String> = match given {
        Statuses::List(words) => words,
        Statuses::Comma(s) => s.split(',').map(|w| w.trim().to_owned()).collect(),
    };
    if words.is_empty() {
        // As `union_status=` in a query: an empty filter is a mistake, not "no parks".
        return Err("names no status: give none, partial or full, or leave it out".into());
    }
    words
        .iter()
        .map(|w| {
            w.parse::<UnionStatus>()
                .map_err(|_| format!("unknown union status '{w}' (none, partial, full)"))
        })
        .collect()
}

fn body_bbox([min_lon, min_lat, max_lon, max_lat]: [f64; 4]) -> Result<BBox, String> {
    LonLat::new(min_lon, min_lat)
        .and_then(|_| LonLat::new(max_lon, max_lat))
        .map_err(|e| e.to_string())?;
    if min_lat > max_lat {
        return Err(format!("minlat {min_lat} is north of maxlat {max_lat}"));
    }
    Ok(BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    })
}

/// `null`, which a member may be (it counts as absent).
fn null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

fn weight() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["workers", "ununionised_workers", "parks"])),
        )
        .item(null())
        .default(Some(json!("workers")))
        .description(Some(
            "What to cover: the parks' `workers` (default), their `ununionised_workers`, or the `parks` themselves",
        ))
        .into()
}

/// A number of degrees from `-max` to `max`.
fn degrees(max: f64) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(-max))
        .maximum(Some(max))
        .into()
}

fn bbox() -> Schema {
    OneOfBuilder::new()
        .item(
            ArrayBuilder::new()
                .prefix_items([degrees(180.0), degrees(90.0), degrees(180.0), degrees(90.0)])
                .items(ArrayItems::False)
                .min_items(Some(4))
                .max_items(Some(4)),
        )
        .item(null())
        .description(Some(
            "Only demand inside `[minlon, minlat, maxlon, maxlat]` (WGS-84 degrees; minlat at most maxlat; minlon > maxlon crosses the antimeridian)",
        ))
        .into()
}

fn union_statuses() -> Schema {
    let status = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(UnionStatus::ALL.iter().map(|s| s.id())))
    };
    OneOfBuilder::new()
        .item(ArrayBuilder::new().items(status()).min_items(Some(1)))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^ *(none|partial|full) *(, *(none|partial|full) *)*$"))
                .description(Some("a comma list, e.g. \"none,partial\"")),
        )
        .item(null())
        .description(Some(
            "Only parks with these union statuses (a list, or a comma list)",
        ))
        .into()
}

/// A candidate: a GeoJSON Feature with a Point (its `id`, if any, is kept).
fn candidate_point() -> ObjectBuilder {
    let point = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["Point"])),
        )
        .required("type")
        .property(
            "coordinates",
            ArrayBuilder::new()
                .prefix_items([degrees(180.0), degrees(90.0)])
                .items(ObjectBuilder::new().schema_type(Type::Number))
                .min_items(Some(2)),
        )
        .required("coordinates");
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("geometry", point)
        .required("geometry")
}

fn candidates_schema() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["parks"])),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "h3",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(GridResolution::MIN))
                        .maximum(Some(GridResolution::MAX)),
                )
                .required("h3")
                .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "type",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["FeatureCollection"])),
                )
                .required("type")
                .property(
                    "features",
                    ArrayBuilder::new()
                        .items(candidate_point())
                        .max_items(Some(MAX_CANDIDATES)),
                )
                .required("features")
                .description(Some("GeoJSON points, each kept with its id")),
        )
        .item(null())
        .description(Some(
            "Where sites may go: `\"parks\"` (default: at the parks), `{\"h3\": res}` (H3 cell centres), or a GeoJSON FeatureCollection of points",
        ))
        .into()
}

/// `"parks"`, `{"h3": res}` or a FeatureCollection of Points.
fn candidates(v: Value) -> Result<Candidates, FieldProblem> {
    let err = |name: &str, reason: String| (name.to_owned(), reason);
    match v {
        Value::String(s) if s == "parks" => Ok(Candidates::Parks),
        Value::Object(m) if m.contains_key("h3") => {
            // A whole number, `7.0` included (as JSON Schema reads it).
            let whole = |v: &Value| {
                v.as_i64().or_else(|| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 1e9)
                        .map(|f| f as i64)
                })
            };
            let res = m.get("h3").and_then(whole).ok_or_else(|| {
                err(
                    "candidates.h3",
                    "must be a whole number (an H3 resolution from 4 to 8)".into(),
                )
            })?;
            if m.len() > 1 {
                return Err(err(
                    "candidates",
                    "an {\"h3\": res} object takes nothing else".into(),
                ));
            }
            GridResolution::new(res)
                .map(Candidates::H3)
                .map_err(|e| err("candidates.h3", e.to_string()))
        }
        Value::Object(m) if m.get("type").and_then(Value::as_str) == Some("FeatureCollection") => {
            feature_points(m).map(Candidates::Points)
        }
        other => Err(err(
            "candidates",
            format!(
                "must be \"parks\", {{\"h3\": res}} or a GeoJSON FeatureCollection of Points, got {}",
                truncate(&other.to_string())
            ),
        )),
    }
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn feature_points(mut m: Map<String, Value>) -> Result<GivenPoints, FieldProblem> {
    let Some(Value::Array(features)) = m.remove("features") else {
        return Err((
            "candidates.features".into(),
            "must be an array of Features".into(),
        ));
    };
    if features.len() > MAX_CANDIDATES {
        return Err((
            "candidates.features".into(),
            format!("{} features; at most {MAX_CANDIDATES}", features.len()),
        ));
    }
    features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let field = format!("candidates.features[{i}].geometry");
            let geometry = f.get("geometry");
            if geometry.and_then(|g| g.get("type")).and_then(Value::as_str) != Some("Point") {
                return Err((field, "must be a Point".into()));
            }
            let c = geometry
                .and_then(|g| g.get("coordinates"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>());
            let Some(Some(c)) = c else {
                return Err((field, "coordinates must be [lon, lat] numbers".into()));
            };
            let (Some(lon), Some(lat)) = (c.first(), c.get(1)) else {
                return Err((field, "coordinates must be [lon, lat]".into()));
            };
            let pos = LonLat::new(*lon, *lat).map_err(|e| (field, e.to_string()))?;
            Ok((f.get("id").cloned(), pos))
        })
        .collect()
}

fn coverage_error(e: CoverageError) -> ApiError {
    match e {
        CoverageError::TooManyPairs { .. } => ApiError::TooExpensive(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// `POST /api/v1/siting`: where the next `p` facilities of a layer should go.
#[utoipa::path(post, path = "/siting", tag = "coverage",
    summary = "Where the next p facilities of a layer should go (maximal covering)",
    description = "Maximal covering (greedy with lazy evaluation): the parks filtered as asked are the demand, weighted by workers or parks. Up to `limits.max_siting_bytes` (32 MiB by default).",
    request_body(content = SitingRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "the chosen sites in order with what each adds", body = crate::http::schema::Object),
        (status = 413, description = "a body over `limits.max_siting_bytes` (32 MiB by default)", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "too many candidates or demand points", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
    ))]
pub async fn siting(
    State(state): State<Arc<AppState>>,
    JsonBody { body, unknown }: JsonBody<SitingRequest>,
) -> ApiResult {
    // Parameters first, then readiness: the order of every route (see `params`).
    let req = body.validate(unknown, &state.options().radii)?;
    let atlas = state.atlas()?;
    blocking(move || {
        let parks: Vec<u32> = req.parks.select(&atlas);
        let demand: Vec<Demand> = siting::park_demand(&atlas, &parks, req.weight);
        // Candidates: a position each, and what to say about it.
        let (points, labels): (Vec<LonLat>, Vec<Value>) = match req.candidates {
            Candidates::Parks => parks
                .iter()
                .map(|i| {
                    let p = atlas.park(*i);
                    (p.position, json!({"source": "park", "park_id": &*p.id, "name": &*p.name}))
                })
                .unzip(),
            Candidates::H3(res) => {
                let at: Vec<LonLat> = parks.iter().map(|i| atlas.park(*i).position).collect();
                siting::h3_candidates(&at, res.resolution())
                    .into_iter()
                    .map(|(cell, p)| (p, json!({"source": "h3", "h3": cell.to_string(), "res": res.number()})))
                    .unzip()
            }
            Candidates::Points(pts) => pts
                .into_iter()
                .map(|(id, p)| (p, json!({"source": "request", "candidate_id": id})))
                .unzip(),
        };
        if points.len() > MAX_CANDIDATES {
            return Err(ApiError::TooExpensive(format!(
                "{} candidate sites; at most {MAX_CANDIDATES}: use a coarser h3 resolution or a bbox",
                points.len()
            )));
        }
        let product = points.len() as u64 * demand.len() as u64;
        if product > MAX_SITING_PRODUCT {
            return Err(ApiError::TooExpensive(format!(
                "{} candidates × {} demand points = {product}; at most {MAX_SITING_PRODUCT}: \
                 give a bbox or fewer candidates",
                points.len(),
                demand.len()
            )));
        }
        let covered = siting::covered_by_existing(&atlas, req.layer, &demand, req.radius);
        let xyz: Vec<[f64; 3]> = points.iter().map(|p| sphere::unit_vector(*p)).collect();
        let s = siting::site(&demand, &covered, &xyz, req.radius, req.p, MAX_SITING_PAIRS)
            .map_err(coverage_error)?;
        let features: Vec<Value> = s
            .picks
            .iter()
            .enumerate()
            .map(|(rank, pick)| {
                let at = points[pick.candidate];
                let mut props = json!({
                    "rank": rank + 1,
                    "gain": pick.gain,
                    "covered_total": pick.covered_total,
                    "candidate": pick.candidate,
                });
                if let (Some(p), Some(Value::Object(l))) = (props.as_object_mut(), labels.get(pick.candidate)) {
                    p.extend(l.clone());
                }
                json!({
                    "type": "Feature",
                    "id": format!("site-{}", rank + 1),
                    "geometry": PointGeometry { kind: "Point", coordinates: [at.lon(), at.lat()] },
                    "properties": props,
                })
            })
            .collect();
        let answer = json!({
            "layer": req.layer.id(),
            "p": req.p,
            "radius_m": req.radius,
            "weight": req.weight.id(),
            "demand_points": demand.len(),
            "candidates": points.len(),
            "demand_total": s.demand_total,
            "covered_before": s.covered_before,
            "covered_after": s.covered_after,
            "sites": {"type": "FeatureCollection", "features": features},
        });
        Ok(Json(answer).into_response())
    })
    .await
}
