//! The route handlers: health, layers, features, nearest, places, configuration.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::IntoParams;

use super::AppState;
use super::geojson::{self, FacilityExtra, NoExtra};
use super::params::{FeatureId, FromParams, LayerPath, NoParams, Params, Query};
use super::problem::ApiError;
use super::schema;
use crate::geodata::FeatureRef;
use crate::geodata::cities::CITIES;
use crate::geodata::coords::nav_links;
use crate::index::{BBox, NearestQuery};
use crate::model::{Amenity, LayerSet, LonLat};

/// The most features one layer response may hold; past it, ask for a bbox or a limit.
pub const MAX_LAYER_FEATURES: usize = 200_000;
/// The most neighbours one nearest query may ask for.
pub const MAX_K: usize = 100;

type ApiResult = Result<Response, ApiError>;

pub(super) fn json_bytes(bytes: Vec<u8>, cache: &'static str) -> Response {
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
pub(super) fn cache_for(state: &AppState, read_only: &'static str) -> &'static str {
    if state.registry.get().is_some() {
        "no-cache"
    } else {
        read_only
    }
}

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "`ok`", body = String, content_type = "text/plain"),
        (status = 400, description = "an unknown parameter (this route takes none)", body = schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn healthz(Query(NoParams): Query<NoParams>) -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once the data is loaded and indexed, 503 before.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
        (status = 503, description = "the data is still loading", body = schema::Problem, content_type = "application/problem+json"),
        (status = 400, description = "an unknown parameter (this route takes none)", body = schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(
    State(state): State<Arc<AppState>>,
    Query(NoParams): Query<NoParams>,
) -> ApiResult {
    state.atlas()?;
    Ok("ready".into_response())
}

/// `GET /api/v1/layers`: each layer with its count and extent.
#[utoipa::path(get, path = "/layers", tag = "data",
    responses(
        (status = 200, description = "each layer with its names, count and extent", body = schema::Layers),
        schema::ReadErrors,
    ))]
pub async fn layers(
    State(state): State<Arc<AppState>>,
    Query(NoParams): Query<NoParams>,
) -> ApiResult {
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

/// The query of `GET /api/v1/layers/{layer}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LayerQuery {
    /// Only features inside `minlon,minlat,maxlon,maxlat` (WGS-84; minlon > maxlon
    /// crosses the antimeridian).
    #[param(value_type = Option<String>, example = "118.2,35.0,118.5,35.2")]
    bbox: Option<BBox>,
    /// At most this many features (a layer answer holds at most 200,000).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200_000, default = 200_000)]
    limit: usize,
    /// Skip this many features first (paging).
    #[param(value_type = Option<u64>, minimum = 0, default = 0)]
    offset: usize,
}

impl FromParams for LayerQuery {
    fn from_params(p: &mut Params) -> Option<Self> {
        Some(LayerQuery {
            bbox: p.bbox("bbox"),
            limit: p.integer("limit", 1..=MAX_LAYER_FEATURES, MAX_LAYER_FEATURES),
            offset: p.integer("offset", 0..=usize::MAX >> 1, 0),
        })
    }
}

/// `GET /api/v1/layers/{layer}?bbox=&limit=&offset=`: the layer's features as GeoJSON.
///
/// The ETag is computed from the data's fingerprint and the normalised query before
/// anything is serialised, so a revalidation answers 304 at once.
#[utoipa::path(get, path = "/layers/{layer}", tag = "data",
    params(("layer" = String, Path, description = "the layer id: driver_home, courier_station, fitness_station or park"), LayerQuery),
    responses(
        (status = 200, description = "the layer's features", body = schema::FeatureCollection, content_type = "application/geo+json"),
        (status = 304, description = "not modified since the ETag sent in If-None-Match"),
        (status = 404, description = "no such layer", body = schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "too many features for one answer: narrow with bbox or page", body = schema::Problem, content_type = "application/problem+json"),
        schema::ReadErrors,
    ))]
pub async fn layer(
    State(state): State<Arc<AppState>>,
    LayerPath(layer): LayerPath,
    Query(LayerQuery {
        bbox,
        limit,
        offset,
    }): Query<LayerQuery>,
    headers: HeaderMap,
) -> ApiResult {
    let atlas = state.atlas()?;

    let etag = {
        let mut h = DefaultHasher::new();
        (atlas.fingerprint(), layer.id(), limit, offset).hash(&mut h);
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
#[utoipa::path(get, path = "/features/{id}", tag = "data",
    params(("id" = String, Path, description = "the feature's stable id")),
    responses(
        (status = 200, description = "the feature (its ETag names the stored version, for If-Match)", body = schema::AnyFeature, content_type = "application/geo+json"),
        (status = 404, description = "no such feature", body = schema::Problem, content_type = "application/problem+json"),
        schema::ReadErrors,
    ))]
pub async fn feature(
    State(state): State<Arc<AppState>>,
    FeatureId(id): FeatureId,
    Query(NoParams): Query<NoParams>,
) -> ApiResult {
    let atlas = state.atlas()?;
    let not_found = || ApiError::NotFound(format!("no feature with id '{id}'"));
    let body = match atlas.get(&id).ok_or_else(not_found)? {
        FeatureRef::Facility(i) => {
            let f = atlas.facility(i);
            let open_now = f
                .hours
                .and_then(|h| atlas.schedules().is_open(h, Utc::now()));
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
        response.extensions_mut().insert(super::ExactBytes);
    }
    Ok(response)
}

/// The query of `GET /api/v1/nearest`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearestParams {
    // `lon` and `lat` are the documented parameters; `origin` holds them validated.
    /// Longitude of the query point, WGS-84 degrees.
    #[param(minimum = -180.0, maximum = 180.0, example = 118.35)]
    #[allow(dead_code)]
    lon: f64,
    /// Latitude of the query point, WGS-84 degrees.
    #[param(minimum = -90.0, maximum = 90.0, example = 35.1)]
    #[allow(dead_code)]
    lat: f64,
    /// How many facilities, nearest first.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, default = 5)]
    k: usize,
    /// A comma list of facility layers (default: all three).
    #[param(value_type = Option<String>, example = "driver_home,courier_station")]
    layers: LayerSet,
    /// A comma list of amenities every answer must have.
    #[param(value_type = Option<String>, example = "shower,truck_parking")]
    amenities: Vec<Amenity>,
    /// Only facilities open at `at` (default now).
    #[param(value_type = Option<bool>, default = false)]
    open_now: bool,
    /// Only facilities within this many metres (geodesic).
    #[param(value_type = Option<f64>, exclusive_minimum = 0.0)]
    max_distance_m: Option<f64>,
    /// The time `open_now` and `open_now` in the answer refer to (RFC 3339; default now).
    #[param(value_type = Option<String>, format = DateTime)]
    at: Option<DateTime<Utc>>,
    #[param(ignore)]
    origin: LonLat,
}

impl FromParams for NearestParams {
    fn from_params(p: &mut Params) -> Option<Self> {
        let origin = p.lon_lat();
        let k = p.integer("k", 1..=MAX_K, 5);
        let layers = p.facility_layers(
            "layers",
            "park is not a facility layer (parks: /api/v1/layers/park?bbox=…)",
        );
        let amenities = p.list::<Amenity>("amenities").unwrap_or_default();
        let open_now = p.flag("open_now", false);
        let max_distance_m = p.metres("max_distance_m");
        let at = p.instant("at");
        let origin = origin?;
        Some(NearestParams {
            lon: origin.lon(),
            lat: origin.lat(),
            k,
            layers,
            amenities,
            open_now,
            max_distance_m,
            at,
            origin,
        })
    }
}

/// `GET /api/v1/nearest?lon=&lat=&k=&layers=&amenities=&open_now=&max_distance_m=&at=`.
#[utoipa::path(get, path = "/nearest", tag = "locator",
    summary = "The nearest facilities to a point",
    description = "Truly nearest on the sphere (geodesic metres), filtered by layer, amenities, opening hours and distance.",
    params(NearestParams),
    responses(
        (status = 200, description = "the facilities, nearest first", body = schema::Facilities, content_type = "application/geo+json"),
        schema::ReadErrors,
    ))]
pub async fn nearest(
    State(state): State<Arc<AppState>>,
    Query(q): Query<NearestParams>,
) -> ApiResult {
    let atlas = state.atlas()?;
    let origin = q.origin;
    let q = NearestQuery {
        origin,
        k: q.k,
        layers: q.layers,
        amenities: q.amenities.into_iter().collect(),
        at: q.at.unwrap_or_else(Utc::now),
        open_now: q.open_now,
        max_distance_m: q.max_distance_m,
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
#[utoipa::path(get, path = "/places", tag = "data",
    responses(
        (status = 200, description = "cities as GeoJSON points with their names and a label weight", body = schema::Object, content_type = "application/geo+json"),
        (status = 400, description = "an unknown parameter (this route takes none)", body = schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn places(Query(NoParams): Query<NoParams>) -> Response {
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
#[utoipa::path(get, path = "/config", tag = "data",
    responses(
        (status = 200, description = "the web map's settings: the basemap", body = schema::Object),
        (status = 400, description = "an unknown parameter (this route takes none)", body = schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn config(
    State(state): State<Arc<AppState>>,
    Query(NoParams): Query<NoParams>,
) -> Response {
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
