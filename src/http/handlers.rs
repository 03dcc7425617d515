//! The route handlers: health, layers, features, nearest, places, configuration.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::AppState;
use super::geojson::{self, FacilityExtra, NoExtra};
use super::params::Params;
use super::problem::ApiError;
use crate::geodata::FeatureRef;
use crate::geodata::cities::CITIES;
use crate::geodata::coords::nav_links;
use crate::index::NearestQuery;
use crate::model::{Amenity, Layer, LayerSet};

/// The most features one layer response may hold; past it, ask for a bbox or a limit.
pub const MAX_LAYER_FEATURES: usize = 200_000;
/// The most neighbours one nearest query may ask for.
pub const MAX_K: usize = 100;

type ApiResult = Result<Response, ApiError>;

fn json_bytes(bytes: Vec<u8>, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response()
}

/// How long caches may keep an answer: `read_only` when the data cannot change,
/// else revalidate every time (an edit must show at once).
fn cache_for(state: &AppState, read_only: &'static str) -> &'static str {
    if state.registry.get().is_some() {
        "no-cache"
    } else {
        read_only
    }
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once the data is loaded and indexed, 503 before.
pub async fn readyz(State(state): State<Arc<AppState>>) -> ApiResult {
    state.atlas()?;
    Ok("ready".into_response())
}

/// `GET /api/v1/layers`: each layer with its count and extent.
pub async fn layers(State(state): State<Arc<AppState>>) -> ApiResult {
    let atlas = state.atlas()?;
    let layers: Vec<_> = atlas
        .layer_stats()
        .iter()
        .map(|s| {
            json!({
                "id": s.layer.id(),
                "name_zh": s.layer.name_zh(),
                "name_en": s.layer.name_en(),
                "kind": if s.layer.is_facility() { "facility" } else { "park" },
                "count": s.count,
                "bbox": s.bbox.map(|b| [b.min_lon, b.min_lat, b.max_lon, b.max_lat]),
                "links": [{"rel": "items", "href": format!("/api/v1/layers/{}", s.layer.id())}],
            })
        })
        .collect();
    Ok(Json(json!({ "layers": layers })).into_response())
}

/// `GET /api/v1/layers/{layer}?bbox=&limit=&offset=`: the layer's features as GeoJSON.
///
/// The ETag is computed from the data's fingerprint and the normalised query before
/// anything is serialised, so a revalidation answers 304 at once.
pub async fn layer(
    State(state): State<Arc<AppState>>,
    Path(layer): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let atlas = state.atlas()?;
    let layer: Layer = layer
        .parse()
        .map_err(|e: crate::model::UnknownLayer| ApiError::NotFound(e.to_string()))?;
    let mut p = Params::parse(query.as_deref())?;
    let bbox = p.bbox("bbox");
    let limit = p.integer("limit", 1..=MAX_LAYER_FEATURES, MAX_LAYER_FEATURES);
    let offset = p.integer("offset", 0..=usize::MAX >> 1, 0);
    p.finish()?;

    let etag = {
        let mut h = DefaultHasher::new();
        (atlas.data().fingerprint(), layer.id(), limit, offset).hash(&mut h);
        bbox.map(|b| [b.min_lon, b.min_lat, b.max_lon, b.max_lat].map(f64::to_bits))
            .hash(&mut h);
        format!("W/\"{:016x}\"", h.finish())
    };
    let etag_header = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && inm.split(',').any(|t| t.trim() == etag || t.trim() == "*")
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response());
    }

    let ids = match bbox {
        Some(b) => atlas.in_bbox(layer, &b),
        None => atlas.all_in_layer(layer),
    };
    let matched = ids.len();
    let page = ids.iter().skip(offset).take(limit);
    if matched.saturating_sub(offset) > limit && limit == MAX_LAYER_FEATURES {
        return Err(ApiError::TooExpensive(format!(
            "{matched} features match; one response holds at most {MAX_LAYER_FEATURES}: \
             narrow it with bbox= or page with limit= and offset="
        )));
    }
    let body = if layer.is_facility() {
        let features: Vec<_> = page
            .map(|i| geojson::facility(&atlas, atlas.facility(*i), FacilityExtra::None))
            .collect();
        geojson::collection(&features, matched)
    } else {
        let features: Vec<_> = page
            .map(|i| geojson::park(atlas.park(*i), NoExtra {}))
            .collect();
        geojson::collection(&features, matched)
    }
    .map_err(ApiError::internal)?;
    let mut response = json_bytes(body, cache_for(&state, "public, max-age=300"));
    response.headers_mut().insert(header::ETAG, etag_header);
    Ok(response)
}

/// `GET /api/v1/features/{id}`: one feature, with open-now and navigation links.
pub async fn feature(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let atlas = state.atlas()?;
    let not_found = || ApiError::NotFound(format!("no feature with id '{id}'"));
    let body = match atlas.data().get(&id).ok_or_else(not_found)? {
        FeatureRef::Facility(i) => {
            let f = atlas.facility(i);
            let open_now = f
                .hours
                .and_then(|h| atlas.data().schedules.is_open(h, Utc::now()));
            let detail = FacilityExtra::Detail {
                open_now,
                links: nav_links(f.position, f.name()),
            };
            geojson::to_vec(&geojson::facility(&atlas, f, detail))
        }
        FeatureRef::Park(i) => {
            let p = atlas.park(i);
            geojson::to_vec(&geojson::park(
                p,
                json!({ "links": nav_links(p.position, &p.name) }),
            ))
        }
    }
    .map_err(ApiError::internal)?;
    let mut response = json_bytes(body, cache_for(&state, "public, max-age=60"));
    // Editors send this back in If-Match; it names the stored version.
    if let Some(tag) = super::edits::stored_etag(&state, &id).await {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// `GET /api/v1/nearest?lon=&lat=&k=&layers=&amenities=&open_now=&max_distance_m=&at=`.
pub async fn nearest(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> ApiResult {
    let atlas = state.atlas()?;
    let mut p = Params::parse(query.as_deref())?;
    let origin = p.lon_lat();
    let k = p.integer("k", 1..=MAX_K, 5);
    let layers = match p.list::<Layer>("layers") {
        Some(list) => {
            if list.contains(&Layer::Park) {
                p.problem(
                    "layers",
                    "park is not a facility layer (parks: /api/v1/layers/park?bbox=…)",
                );
            }
            list.into_iter().filter(|l| l.is_facility()).collect()
        }
        None => LayerSet::facilities(),
    };
    let amenities = p.list::<Amenity>("amenities").unwrap_or_default();
    let open_now = p.flag("open_now", false);
    let max_distance_m = p.metres("max_distance_m");
    let at = p.instant("at").unwrap_or_else(Utc::now);
    p.finish()?;
    let Some(origin) = origin else {
        return Err(ApiError::Internal(
            "lon/lat missing without a problem".into(),
        ));
    };
    let q = NearestQuery {
        origin,
        k,
        layers,
        amenities: amenities.into_iter().collect(),
        at,
        open_now,
        max_distance_m,
    };
    let hits = atlas.nearest(&q);
    let features: Vec<_> = hits
        .iter()
        .map(|h| geojson::hit(&atlas, origin, h))
        .collect();
    let body = geojson::collection(&features, features.len()).map_err(ApiError::internal)?;
    Ok(json_bytes(body, "public, max-age=30"))
}

/// `GET /api/v1/places`: city names for map labels, from our own data.
pub async fn places() -> Response {
    #[derive(Serialize)]
    struct Props {
        name: &'static str,
        name_en: &'static str,
        province: &'static str,
        weight: f64,
    }
    let features: Vec<_> = CITIES
        .iter()
        .map(|c| {
            json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": Props { name: c.name, name_en: c.name_en, province: c.province, weight: c.weight },
            })
        })
        .collect();
    let body = json!({"type": "FeatureCollection", "features": features});
    json_bytes(body.to_string().into_bytes(), "public, max-age=86400")
}

/// `GET /api/v1/config`: what the web map needs to know (basemap choice).
pub async fn config(State(state): State<Arc<AppState>>) -> Response {
    Json(json!({ "basemap": state.basemap })).into_response()
}

/// Fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// Fallback for known routes called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
