//! OGC API – Features, Part 1 (Core), under `/ogc`: the four layers as
//! collections for QGIS, GDAL/OGR and any other client of the standard.
//!
//! - `GET /ogc`: the landing page; `/ogc/conformance`: the classes this server
//!   passes (Part 1 core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS; Part 3 and
//!   CQL2: see [`cql::CLASSES`]).
//! - `GET /ogc/collections`, `/ogc/collections/{layer}`: each layer with its
//!   titles, spatial extent (CRS84) and temporal extent (the `updated` dates).
//! - `GET /ogc/collections/{layer}/items`: a page of GeoJSON features, filtered
//!   by `bbox`, `datetime`, the queryables and a CQL2 `filter` (Part 3), in
//!   CRS84 or EPSG:4490 (`crs`, Part 2), with `next` / `prev` links.
//! - `GET /ogc/collections/{layer}/items/{id}`: one feature.
//! - `GET /ogc/collections/{layer}/queryables`: the filterable properties, as a
//!   JSON Schema.
//! - `GET /ogc/api`: the OpenAPI 3.0 document of these paths, or its HTML
//!   rendering (the service's whole 3.1 document, `/api/openapi.json`, merges them
//!   in: see [`document`]).
//!
//! Every resource is JSON or HTML: `f=json|html` decides, else the `Accept`
//! header (a browser gets HTML; GDAL and QGIS ask for JSON). Links are absolute,
//! built from `Host` and `X-Forwarded-Proto`: GDAL 3.6 resolves a root-relative
//! link against the landing page's URL, path included, and would get it wrong.
//!
//! Layout: [`landing`] (landing page, conformance, collections), [`items`]
//! (selection, paging, features), [`queryables`] (the filter parameters and
//! their schema), [`cql`] (CQL2 filters, Part 3), [`crs`] (CRS84 and
//! CGCS2000, Part 2), [`openapi`], [`html`] (every page), [`meta`] (what each data
//! generation computes once: dates as day numbers, park polygons).

mod cql;
mod crs;
mod html;
mod items;
mod landing;
mod meta;
mod openapi;
mod queryables;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::params::Params;
use super::problem::ApiError;
use crate::model::Layer;

/// The default page size of `items`.
pub const DEFAULT_LIMIT: usize = 10_000;
/// The largest page of `items`; a larger `limit` is clamped to it, not refused.
pub const MAX_LIMIT: usize = 100_000;

/// The default and storage CRS: WGS-84 longitude, latitude.
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const JSON: &str = "application/json";
const GEOJSON: &str = "application/geo+json";
const HTML: &str = "text/html";
const SCHEMA_JSON: &str = "application/schema+json";
const OPENAPI_JSON: &str = "application/vnd.oai.openapi+json;version=3.0";

/// The service's address as seen by the client of `headers`, and the OGC paths'
/// OpenAPI document (for the service's whole document, `super::openapi`).
pub(super) fn document(headers: &HeaderMap) -> Result<(String, serde_json::Value), ApiError> {
    let base = Base::of(headers)?;
    let doc = openapi::openapi(&base);
    Ok((base.0, doc))
}

/// The routes, to be merged into the app's router.
pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ogc", get(landing::landing))
        .route("/ogc/", get(landing::landing))
        .route("/ogc/conformance", get(landing::conformance))
        .route("/ogc/api", get(openapi::api))
        .route("/ogc/collections", get(landing::collections))
        .route("/ogc/collections/{layer}", get(landing::collection))
        .route("/ogc/collections/{layer}/items", get(items::items))
        .route("/ogc/collections/{layer}/items/{id}", get(items::item))
        .route(
            "/ogc/collections/{layer}/queryables",
            get(queryables::queryables),
        )
}

/// The representation asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Html,
}

impl Format {
    /// The value of `f` that asks for it.
    fn param(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// Takes `f=json|html`; without it, the `Accept` header chooses.
fn format(p: &mut Params, headers: &HeaderMap) -> Format {
    match p.raw("f").as_deref().map(str::trim) {
        Some("json") => Format::Json,
        Some("html") => Format::Html,
        Some(other) => {
            p.problem(
                "f",
                format!("'{other}' is not a format of this server (json, html)"),
            );
            Format::Json
        }
        None => from_accept(headers),
    }
}

/// HTML when the `Accept` header prefers it to every JSON type (a browser's
/// `text/html,…,*/*;q=0.8`), JSON otherwise, and when there is no header.
fn from_accept(headers: &HeaderMap) -> Format {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Format::Json;
    };
    // For each format: the quality of the most specific range that names it.
    let (mut html, mut json) = ((-1i8, 0.0f32), (-1i8, 0.0f32));
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let html_specificity = match media.as_str() {
            "text/html" | "application/xhtml+xml" => 2,
            "text/*" => 1,
            "*/*" => 0,
            _ => -1,
        };
        let json_specificity = match media.as_str() {
            m if m == "application/json" || m.ends_with("+json") => 2,
            "application/*" => 1,
            "*/*" => 0,
            _ => -1,
        };
        for (best, specificity) in [(&mut html, html_specificity), (&mut json, json_specificity)] {
            if specificity > best.0 {
                *best = (specificity, q);
            }
        }
    }
    if html.1 > json.1 {
        Format::Html
    } else {
        Format::Json
    }
}

/// Where the links point: `scheme://host` from the request, or nothing (links
/// relative to the server's root) when the request names no host.
struct Base(String);

impl Base {
    /// From `Host` (letters, digits, `.`, `:`, `-`, `[`, `]` only) and
    /// `X-Forwarded-Proto: https` from a proxy.
    fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        let Some(host) = headers.get(header::HOST) else {
            return Ok(Base(String::new()));
        };
        let host = host.to_str().unwrap_or("\u{0}");
        let valid = !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b));
        if !valid {
            return Err(ApiError::param(
                "Host",
                "must be a host name or address with an optional port",
            ));
        }
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        Ok(Base(format!(
            "{}://{host}",
            if https { "https" } else { "http" }
        )))
    }

    /// The URL of a path under `/ogc` (`""` is the landing page).
    fn ogc(&self, path: &str) -> String {
        format!("{}/ogc{path}", self.0)
    }

    /// The URL of a path under `/ogc` with `f=…` appended to its query.
    fn ogc_f(&self, path: &str, f: Format) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{sep}f={}", self.ogc(path), f.param())
    }

    /// The URL of the OpenAPI 3.0 document of these paths (the service's whole 3.1
    /// document, `/api/openapi.json`, includes them too).
    fn openapi(&self) -> String {
        format!("{}/ogc/api", self.0)
    }
}

/// A link of a resource.
#[derive(Clone, Debug, Serialize)]
struct Link {
    href: String,
    rel: &'static str,
    #[serde(rename = "type")]
    media: &'static str,
    title: String,
}

impl Link {
    fn new(href: String, rel: &'static str, media: &'static str, title: impl Into<String>) -> Self {
        Link {
            href,
            rel,
            media,
            title: title.into(),
        }
    }
}

/// `self` and `alternate` links of a resource at `path` (under `/ogc`) offered
/// as `json_media` and HTML, for a response in `f`.
fn self_links(base: &Base, path: &str, f: Format, json_media: &'static str) -> [Link; 2] {
    let json = |rel| {
        Link::new(
            base.ogc_f(path, Format::Json),
            rel,
            json_media,
            "此文档的 JSON 版本 / This document as JSON",
        )
    };
    let html = |rel| {
        Link::new(
            base.ogc_f(path, Format::Html),
            rel,
            HTML,
            "此文档的网页版本 / This document as HTML",
        )
    };
    match f {
        Format::Json => [json("self"), html("alternate")],
        Format::Html => [html("self"), json("alternate")],
    }
}

/// The layer a path names; an unknown one is 404.
fn layer(id: &str) -> Result<Layer, ApiError> {
    id.parse().map_err(|_| {
        ApiError::NotFound(format!(
            "no collection '{id}' (driver_home, courier_station, fitness_station, park)"
        ))
    })
}

/// How long caches may keep an answer: five minutes when the data cannot change,
/// else revalidate (an edit shows at once).
fn cache_control(state: &AppState) -> &'static str {
    if state.registry.get().is_some() {
        "no-cache"
    } else {
        "public, max-age=300"
    }
}

/// A response with its type, caching and what it varies on (the links name the
/// host; `Accept` picks the format).
fn respond(state: &AppState, media: &'static str, body: impl Into<axum::body::Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control(state)),
            ),
            (
                header::VARY,
                HeaderValue::from_static("Accept, Host, X-Forwarded-Proto"),
            ),
        ],
        body.into(),
    )
        .into_response()
}

/// A JSON value as a response of `media` type.
fn respond_json(
    state: &AppState,
    media: &'static str,
    value: &serde_json::Value,
) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok(respond(state, media, bytes))
}

/// A page as a response.
fn respond_html(state: &AppState, page: String) -> Response {
    respond(state, "text/html; charset=utf-8", page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Format {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        from_accept(&h)
    }

    #[test]
    fn accept_picks_what_clients_prefer() {
        assert_eq!(from_accept(&HeaderMap::new()), Format::Json);
        assert_eq!(
            accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Format::Html
        );
        assert_eq!(
            accept("application/geo+json, application/json"),
            Format::Json
        );
        assert_eq!(accept("application/json"), Format::Json);
        assert_eq!(accept("*/*"), Format::Json);
        assert_eq!(accept("text/html"), Format::Html);
        assert_eq!(accept("text/html;q=0.5, application/json"), Format::Json);
        assert_eq!(accept("application/json;q=0.1, text/*"), Format::Html);
    }

    #[test]
    fn base_comes_from_host_and_proxy() {
        let mut h = HeaderMap::new();
        assert_eq!(Base::of(&h).unwrap().ogc(""), "/ogc");
        h.insert(header::HOST, HeaderValue::from_static("example.org:8080"));
        assert_eq!(
            Base::of(&h).unwrap().ogc("/conformance"),
            "http://example.org:8080/ogc/conformance"
        );
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(
            Base::of(&h).unwrap().openapi(),
            "https://example.org:8080/ogc/api"
        );
        h.insert(header::HOST, HeaderValue::from_static("evil\"host"));
        assert!(Base::of(&h).is_err());
    }
}
