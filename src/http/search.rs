//! `GET /api/v1/search?q=&lon=&lat=&layers=&limit=`: facilities, and the cities and
//! districts to move the map to, by what people type (see [`crate::search`]).
//!
//! The answer is a GeoJSON FeatureCollection of the facilities, best match first,
//! written as the nearest and feature answers write them (with `distance_m`,
//! `bearing_deg` when a point is given), and beside `features` a `places` array:
//! `{kind, name, name_en, city, centre: [lon, lat], bbox: [minlon, minlat, maxlon,
//! maxlat], count}`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;
use utoipa::IntoParams;

use super::AppState;
use super::geojson::{self, FacilityExtra, WriteJson};
use super::json;
use super::params::{FromParams, Params, Query};
use super::problem::ApiError;
use super::schema;
use crate::geodata::coords::nav_links;
use crate::index::{Atlas, Hit};
use crate::model::{LayerSet, LonLat};
use crate::search::{Place, SearchQuery, SearchResults};

/// The most facilities one search answers with.
pub const MAX_LIMIT: usize = 100;
/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 64;

/// The query of `GET /api/v1/search`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to look for: Chinese (any part of a name, address, city, district or
    /// operator), pinyin (`linyi`) or its initials (`ly`), or English words.
    #[param(min_length = 1, max_length = 64, example = "兰山 驿站")]
    q: String,
    /// With `lat`: rank equal matches nearest first and give their distances.
    // `lon` and `lat` are the documented parameters; `origin` holds them validated.
    #[param(value_type = Option<f64>, minimum = -180.0, maximum = 180.0)]
    #[allow(dead_code)]
    lon: Option<f64>,
    /// With `lon`.
    #[param(value_type = Option<f64>, minimum = -90.0, maximum = 90.0)]
    #[allow(dead_code)]
    lat: Option<f64>,
    /// A comma list of facility layers (default: all three).
    #[param(value_type = Option<String>, example = "courier_station")]
    layers: LayerSet,
    /// At most this many facilities.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, default = 20)]
    limit: usize,
    #[param(ignore)]
    origin: Option<LonLat>,
}

impl FromParams for SearchParams {
    fn from_params(p: &mut Params) -> Option<Self> {
        let text = p.raw("q").map(|q| q.trim().to_owned());
        match &text {
            None if !p.has_problem("q") => p.problem(
                "q",
                format!("is required: what to search for, 1 to {MAX_QUERY_CHARS} characters"),
            ),
            Some(t) if t.chars().count() > MAX_QUERY_CHARS => p.problem(
                "q",
                format!(
                    "is {} characters long; at most {MAX_QUERY_CHARS}",
                    t.chars().count()
                ),
            ),
            _ => {}
        }
        let origin = optional_lon_lat(p);
        let limit = p.integer("limit", 1..=MAX_LIMIT, 20);
        let layers = p.facility_layers(
            "layers",
            "park is not searched: facility layers only (driver_home, courier_station, fitness_station)",
        );
        Some(SearchParams {
            q: text?,
            lon: origin.map(|o| o.lon()),
            lat: origin.map(|o| o.lat()),
            layers,
            limit,
            origin,
        })
    }
}

/// `GET /api/v1/search`.
#[utoipa::path(get, path = "/search", tag = "locator",
    summary = "Facilities by what people type",
    description = "Chinese substrings, full pinyin and initials, English words; ranked by match quality, then by distance when lon/lat are given. `places` lists matching cities and districts (name, centre, bbox).",
    params(SearchParams),
    responses(
        (status = 200, description = "the matching facilities, best first, and matching places", body = schema::SearchAnswer, content_type = "application/geo+json"),
        schema::ReadErrors,
    ))]
pub async fn search(
    State(state): State<Arc<AppState>>,
    Query(SearchParams {
        q: text,
        origin,
        layers,
        limit,
        ..
    }): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let atlas = state.atlas()?;
    // The first search of a generation builds its index (about a second for a
    // million facilities): off the async workers, like the search itself.
    let body = tokio::task::spawn_blocking(move || {
        let q = SearchQuery {
            text: &text,
            origin,
            layers,
            limit,
        };
        let results = atlas.search_index().search(&atlas, &q);
        write(&atlas, origin, &results)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(super::handlers::json_bytes(
        body,
        super::handlers::cache_for(&state, "public, max-age=60"),
    ))
}

/// `lon` and `lat`, both or neither.
fn optional_lon_lat(p: &mut Params) -> Option<LonLat> {
    let lon = p.number("lon");
    let lat = p.number("lat");
    match (lon, lat) {
        (Some(lon), Some(lat)) => match LonLat::new(lon, lat) {
            Ok(point) => Some(point),
            Err(e) => {
                p.problem(e.axis(), e.to_string());
                None
            }
        },
        (Some(_), None) if !p.has_problem("lat") => {
            p.problem("lat", "is required with lon: give both or neither");
            None
        }
        (None, Some(_)) if !p.has_problem("lon") => {
            p.problem("lon", "is required with lat: give both or neither");
            None
        }
        _ => None,
    }
}

#[derive(Serialize)]
struct PlaceJson<'a> {
    kind: &'static str,
    name: &'a str,
    name_en: Option<&'a str>,
    city: Option<&'a str>,
    centre: [f64; 2],
    bbox: [f64; 4],
    count: usize,
}

impl<'a> From<&'a Place> for PlaceJson<'a> {
    fn from(p: &'a Place) -> Self {
        PlaceJson {
            kind: p.kind.id(),
            name: &p.name,
            name_en: p.name_en,
            city: p.city.as_deref(),
            centre: [p.centre.lon(), p.centre.lat()],
            bbox: [
                p.bbox.min_lon,
                p.bbox.min_lat,
                p.bbox.max_lon,
                p.bbox.max_lat,
            ],
            count: p.count,
        }
    }
}

/// The answer: the facilities as features, then the places.
fn write(
    atlas: &Atlas,
    origin: Option<LonLat>,
    results: &SearchResults<'_>,
) -> Result<Vec<u8>, sonic_rs::Error> {
    let now = Utc::now();
    let schedules = atlas.schedules();
    let mut out = Vec::with_capacity(512 + 2048 * results.hits.len());
    out.extend_from_slice(br#"{"type":"FeatureCollection","numberReturned":"#);
    json::u64(&mut out, results.hits.len() as u64);
    out.extend_from_slice(br#","features":["#);
    for (i, h) in results.hits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let f = atlas.facility(h.facility);
        let open = f.hours.and_then(|hours| schedules.is_open(hours, now));
        match (origin, h.distance_m) {
            (Some(origin), Some(distance_m)) => {
                let hit = Hit {
                    facility: h.facility,
                    distance_m,
                    open,
                };
                geojson::hit(atlas, origin, &hit).write_json(&mut out)?;
            }
            _ => {
                let detail = FacilityExtra::Detail {
                    open_now: open,
                    links: nav_links(f.position, f.name()),
                };
                geojson::facility(atlas, f, detail).write_json(&mut out)?;
            }
        }
    }
    out.extend_from_slice(br#"],"places":["#);
    for (i, p) in results.places.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        PlaceJson::from(*p).write_json(&mut out)?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}
