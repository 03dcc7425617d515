//! `POST /api/v1/along`: the facilities along a driver's route.
//!
//! The body is JSON (`route`, `crs`, `corridor_m`, `layers`, `amenities`, `depart`,
//! `speed_kmh`, `open_on_arrival`, `limit`, `precision`) or a GPX file
//! (`Content-Type: application/gpx+xml`, the other fields then in the query
//! string). Every field at fault is named in one problem+json answer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::AppState;
use super::geojson::{self, FacilityExtra, WriteJson};
use super::params::Params;
use super::problem::{ApiError, InvalidParam};
use crate::geodata::coords::{Crs, nav_links};
use crate::index::Atlas;
use crate::model::{Amenity, AmenitySet, Layer, LayerSet};
use crate::route::{self, AlongHit, AlongQuery, MAX_CORRIDOR_M, Route, RouteInput};

/// The largest route body: 100,000 vertices as GeoJSON take about 4 MB.
const MAX_BODY_BYTES: usize = 16 << 20;
/// The most facilities one answer lists.
const MAX_LIMIT: usize = 500;

/// The request's fields, whichever way they came.
struct Fields {
    problems: Vec<InvalidParam>,
}

impl Fields {
    fn problem(&mut self, name: &str, reason: impl Into<String>) {
        self.problems.push(InvalidParam::new(name, reason));
    }
}

/// One field's text from a JSON body or the query string.
enum Source<'a> {
    Json(&'a Map<String, Value>),
    Query(&'a mut Params),
}

impl Source<'_> {
    fn text(&mut self, name: &str, f: &mut Fields) -> Option<String> {
        match self {
            Source::Json(m) => match m.get(name)? {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Value::Object(_) => {
                    f.problem(name, "must not be an object");
                    None
                }
            },
            Source::Query(p) => p.raw(name),
        }
    }

    fn number(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<f64>,
        f: &mut Fields,
    ) -> Option<f64> {
        let text = self.text(name, f)?;
        match text.trim().parse::<f64>() {
            Ok(v) if range.contains(&v) => Some(v),
            Ok(v) => {
                f.problem(
                    name,
                    format!("{v} is outside {}..={}", range.start(), range.end()),
                );
                None
            }
            Err(_) => {
                f.problem(name, format!("'{text}' is not a number"));
                None
            }
        }
    }

    fn list<T: std::str::FromStr>(&mut self, name: &str, f: &mut Fields) -> Option<Vec<T>>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.text(name, f)?;
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.parse::<T>() {
                Ok(v) => out.push(v),
                Err(e) => f.problem(name, e.to_string()),
            }
        }
        Some(out)
    }
}

/// `POST /api/v1/along`.
#[utoipa::path(post, path = "/along", tag = "locator",
    summary = "The facilities along a route",
    description = "Facilities within `corridor_m` of the route (great-circle distance), ordered by distance along it, with the distance off it, the side, the detour and, with `depart` and `speed_kmh`, the arrival time and whether it is open then. The body is JSON, or a GPX file (`Content-Type: application/gpx+xml`) with the other fields in the query string.",
    request_body(content = super::schema::AlongRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "the facilities in route order", body = super::schema::AlongAnswer, content_type = "application/geo+json"),
        (status = 413, description = "a body over 16 MB", body = super::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "a route too long or with too many vertices", body = super::schema::Problem, content_type = "application/problem+json"),
        super::schema::ReadErrors,
    ))]
pub async fn along(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let gpx = matches!(
        kind.split(';').next().unwrap_or("").trim(),
        "application/gpx+xml" | "application/gpx" | "text/xml" | "application/xml"
    );
    let mut f = Fields {
        problems: Vec::new(),
    };
    let mut params = Params::parse(query.as_deref())?;
    let json: Map<String, Value>;
    let mut source = if gpx {
        Source::Query(&mut params)
    } else {
        json = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(ApiError::param("body", "must be a JSON object")),
            Err(e) => return Err(ApiError::param("body", format!("not JSON: {e}"))),
        };
        for key in json.keys() {
            if !FIELDS.contains(&key.as_str()) {
                f.problem(key, format!("unknown field (known: {})", FIELDS.join(", ")));
            }
        }
        Source::Json(&json)
    };
    let crs: Crs = match source.text("crs", &mut f) {
        Some(c) => match c.parse() {
            Ok(c) => c,
            Err(e) => {
                f.problem("crs", e);
                Crs::Wgs84
            }
        },
        None => Crs::Wgs84,
    };
    let precision = source
        .number("precision", 5.0..=6.0, &mut f)
        .map(|p| p as u32);
    let corridor_m = source
        .number("corridor_m", 1.0..=MAX_CORRIDOR_M, &mut f)
        .unwrap_or(2_000.0);
    let layers = match source.list::<Layer>("layers", &mut f) {
        Some(list) if list.contains(&Layer::Park) => {
            f.problem("layers", "park is not a facility layer");
            LayerSet::facilities()
        }
        Some(list) if !list.is_empty() => list.into_iter().collect(),
        _ => LayerSet::facilities(),
    };
    let amenities: AmenitySet = source
        .list::<Amenity>("amenities", &mut f)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let depart = source.text("depart", &mut f).and_then(|t| {
        DateTime::parse_from_rfc3339(t.trim())
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| f.problem("depart", format!("'{t}' is not an RFC 3339 instant: {e}")))
            .ok()
    });
    let speed_kmh = source.number("speed_kmh", 1.0..=200.0, &mut f);
    let open_on_arrival = match source.text("open_on_arrival", &mut f).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            f.problem("open_on_arrival", format!("'{other}' is not true or false"));
            false
        }
    };
    if open_on_arrival && depart.is_none() {
        f.problem(
            "open_on_arrival",
            "needs depart (and speed_kmh, default 60)",
        );
    }
    if speed_kmh.is_some() && depart.is_none() {
        f.problem("speed_kmh", "needs depart");
    }
    let limit = source
        .number("limit", 1.0..=MAX_LIMIT as f64, &mut f)
        .map_or(100, |l| l as usize);
    let route_input = match &source {
        Source::Json(m) => match m.get("route") {
            Some(Value::String(s)) => Some(RouteInput::Text(s.clone())),
            Some(v @ Value::Object(_)) => Some(RouteInput::GeoJson(v.clone())),
            Some(_) => {
                f.problem(
                    "route",
                    "a GeoJSON LineString, an encoded polyline or 'lon,lat;lon,lat;…'",
                );
                None
            }
            None => {
                f.problem("route", "is required");
                None
            }
        },
        Source::Query(_) => None,
    };
    if gpx {
        params.finish()?;
    }
    let parts = if gpx {
        route::parse_gpx(&bytes, crs)
            .map_err(|e| f.problem(e.field, e.reason))
            .ok()
    } else {
        route_input.and_then(|r| {
            route::parse(&r, crs, precision)
                .map_err(|e| f.problem(e.field, e.reason))
                .ok()
        })
    };
    let route = parts.and_then(|p| {
        Route::new(&p)
            .map_err(|e| f.problem(e.field, e.reason))
            .ok()
    });
    if !f.problems.is_empty() {
        return Err(ApiError::InvalidParams(f.problems));
    }
    let Some(route) = route else {
        return Err(ApiError::internal("route missing without a problem"));
    };
    // Parameters before readiness: the order of every route (see `params`).
    let atlas = state.atlas()?;
    let q = AlongQuery {
        corridor_m,
        layers,
        amenities,
        depart: depart.map(|d| (d, speed_kmh.unwrap_or(60.0))),
        open_on_arrival,
        limit,
    };
    let length_m = route.length_m();
    let body = tokio::task::spawn_blocking(move || answer(&atlas, &route, &q, length_m))
        .await
        .map_err(ApiError::internal)??;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        )],
        body,
    )
        .into_response())
}

const FIELDS: [&str; 10] = [
    "route",
    "crs",
    "precision",
    "corridor_m",
    "layers",
    "amenities",
    "depart",
    "speed_kmh",
    "open_on_arrival",
    "limit",
];

/// The answer: a FeatureCollection in route order, each facility with its place
/// along the route, and the route's length.
fn answer(
    atlas: &Atlas,
    route: &Route,
    q: &AlongQuery,
    length_m: f64,
) -> Result<Vec<u8>, ApiError> {
    let hits = route::along(atlas, route, q);
    let mut out = Vec::with_capacity(512 + 2048 * hits.len());
    out.extend_from_slice(br#"{"type":"FeatureCollection","route_length_m":"#);
    out.extend_from_slice(format!("{}", length_m.round() as u64).as_bytes());
    out.extend_from_slice(br#","numberMatched":"#);
    out.extend_from_slice(hits.len().to_string().as_bytes());
    out.extend_from_slice(br#","numberReturned":"#);
    out.extend_from_slice(hits.len().to_string().as_bytes());
    out.extend_from_slice(br#","features":["#);
    for (i, h) in hits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        feature(atlas, h, &mut out)?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// One facility with `along_m`, `offset_m`, `side`, `detour_m`, `eta`,
/// `open_on_arrival` added after its own properties and navigation links.
fn feature(atlas: &Atlas, h: &AlongHit, out: &mut Vec<u8>) -> Result<(), ApiError> {
    let f = atlas.facility(h.facility);
    let detail = FacilityExtra::Detail {
        open_now: f
            .hours
            .and_then(|id| atlas.schedules().is_open(id, Utc::now())),
        links: nav_links(f.position, f.name()),
    };
    let start = out.len();
    geojson::facility(atlas, f, detail)
        .write_json(out)
        .map_err(ApiError::internal)?;
    // The writer ends every feature with the properties' `}` and the feature's `}`:
    // the route's members go just before them.
    if !out.ends_with(b"}}") || out.len() < start + 2 {
        return Err(ApiError::internal("a facility feature does not end in }}"));
    }
    out.truncate(out.len() - 2);
    let members = serde_json::json!({
        "along_m": h.along_m.round() as u64,
        "offset_m": h.offset_m.round() as u64,
        "side": h.side,
        "detour_m": (2.0 * h.offset_m).round() as u64,
        "eta": h.eta.map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "open_on_arrival": h.open_on_arrival,
    });
    let text = members.to_string();
    // `{"along_m":…}` → `,"along_m":…`
    out.push(b',');
    out.extend_from_slice(&text.as_bytes()[1..]);
    out.push(b'}');
    Ok(())
}
