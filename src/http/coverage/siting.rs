//! `POST /api/v1/siting`: where the next `p` facilities of a layer should go; the JSON
//! body read field by field, every field at fault named.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

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
use crate::model::{LonLat, UnionStatus};

/// A JSON body whose rejections (malformed JSON, wrong content type, too large) become
/// our problem+json, naming `body`.
pub struct JsonBody(pub Value);

impl FromRequest<Arc<AppState>> for JsonBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        match Json::<Value>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge(state.options().max_siting_bytes))
            }
            Err(rejection) => Err(ApiError::param("body", rejection.body_text())),
        }
    }
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

struct SitingRequest {
    layer: FacilityLayer,
    p: usize,
    radius: Radius,
    candidates: Candidates,
    weight: Weight,
    /// Which parks are demand (and candidates): `bbox`, `city`, `district`,
    /// `union_status`, `min_workers`, as the park coverage filters.
    parks: ParkFilter,
}

/// Reads the siting body field by field, naming each field at fault.
fn siting_request(v: Value, defaults: &Radii) -> Result<SitingRequest, ApiError> {
    let Value::Object(mut m) = v else {
        return Err(ApiError::param("body", "must be a JSON object"));
    };
    let mut problems: Vec<InvalidParam> = Vec::new();
    let mut bad = |name: &str, reason: String| problems.push(InvalidParam::new(name, reason));

    let layer = match m.remove("layer") {
        None => {
            bad(
                "layer",
                "is required (driver_home, courier_station, fitness_station)".into(),
            );
            None
        }
        Some(Value::String(s)) => s
            .parse::<FacilityLayer>()
            .map_err(|e| bad("layer", e.to_string()))
            .ok(),
        Some(other) => {
            bad("layer", format!("must be a string, got {other}"));
            None
        }
    };
    let p = match m.remove("p") {
        None => Some(10),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_SITES as u64).contains(&n) => Some(n as usize),
            _ => {
                bad(
                    "p",
                    format!("must be a whole number from 1 to {MAX_SITES}, got {v}"),
                );
                None
            }
        },
    };
    let radius = match m.remove("radius_m") {
        None => None,
        Some(v) => match v.as_f64().map(Radius::new) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                bad("radius_m", e.to_string());
                None
            }
            None => {
                bad("radius_m", format!("must be a number of metres, got {v}"));
                None
            }
        },
    };
    let weight = match m.remove("weight") {
        None => Some(Weight::Workers),
        Some(Value::String(s)) => s.parse::<Weight>().map_err(|e| bad("weight", e)).ok(),
        Some(other) => {
            bad("weight", format!("must be a string, got {other}"));
            None
        }
    };
    let bbox = match m.remove("bbox") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => body_bbox(&v).map(Some),
    };
    let bbox = bbox.map_err(|e| bad("bbox", e)).ok().flatten();
    let mut name = |field: &str| match m.remove(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(other) => {
            bad(field, format!("must be a non-empty string, got {other}"));
            None
        }
    };
    let city = name("city");
    let district = name("district");
    let union_status = match m.remove("union_status") {
        None | Some(Value::Null) => None,
        Some(v) => body_statuses(&v).map_err(|e| bad("union_status", e)).ok(),
    };
    let min_workers = match m.remove("min_workers") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().map(u32::try_from) {
            Some(Ok(n)) => Some(n),
            _ => {
                bad(
                    "min_workers",
                    format!("must be a whole number from 0 to {}, got {v}", u32::MAX),
                );
                None
            }
        },
    };
    let candidates = match m.remove("candidates") {
        None => Some(Candidates::Parks),
        Some(v) => candidates(v)
            .map_err(|(name, reason)| bad(&name, reason))
            .ok(),
    };
    for k in m.keys() {
        bad(
            k,
            "unknown field (layer, p, radius_m, candidates, weight, bbox, city, district, \
             union_status, min_workers)"
                .into(),
        );
    }
    match (layer, p, weight, candidates) {
        (Some(layer), Some(p), Some(weight), Some(candidates)) if problems.is_empty() => {
            Ok(SitingRequest {
                layer,
                p,
                radius: radius.unwrap_or(defaults[layer]),
                candidates,
                weight,
                parks: ParkFilter {
                    union_status,
                    min_workers,
                    bbox,
                    city,
                    district,
                },
            })
        }
        _ => Err(ApiError::InvalidParams(problems)),
    }
}

/// `["none", "partial"]` or `"none,partial"`.
fn body_statuses(v: &Value) -> Result<Vec<UnionStatus>, String> {
    let words: Vec<&str> = match v {
        Value::String(s) => s.split(',').map(str::trim).collect(),
        Value::Array(a) => a
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| format!("must be a list of none, partial, full, got {v}"))?,
        other => {
            return Err(format!(
                "must be a list of none, partial, full, got {other}"
            ));
        }
    };
    words
        .into_iter()
        .map(|w| {
            w.parse::<UnionStatus>()
                .map_err(|_| format!("unknown union status '{w}' (none, partial, full)"))
        })
        .collect()
}

fn body_bbox(v: &Value) -> Result<BBox, String> {
    let nums: Option<Vec<f64>> = v
        .as_array()
        .and_then(|a| a.iter().map(Value::as_f64).collect());
    let Some([min_lon, min_lat, max_lon, max_lat]) =
        nums.as_deref().and_then(|n| <[f64; 4]>::try_from(n).ok())
    else {
        return Err(format!("must be [minlon, minlat, maxlon, maxlat], got {v}"));
    };
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

/// `"parks"`, `{"h3": res}` or a FeatureCollection of Points.
fn candidates(v: Value) -> Result<Candidates, FieldProblem> {
    let err = |name: &str, reason: String| (name.to_owned(), reason);
    match v {
        Value::String(s) if s == "parks" => Ok(Candidates::Parks),
        Value::Object(m) if m.contains_key("h3") => {
            let res = m.get("h3").and_then(Value::as_i64).ok_or_else(|| {
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
    request_body(content = crate::http::schema::SitingRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "the chosen sites in order with what each adds", body = crate::http::schema::Object),
        (status = 413, description = "a body over `limits.max_siting_bytes` (32 MiB by default)", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "too many candidates or demand points", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
    ))]
pub async fn siting(State(state): State<Arc<AppState>>, JsonBody(v): JsonBody) -> ApiResult {
    let atlas = state.atlas()?;
    let req = siting_request(v, &state.options().radii)?;
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
