//! The OpenAPI 3.1 document of the whole service, and its documentation page.
//!
//! The `/api/v1` routes and the operational ones are registered through
//! `utoipa_axum`'s router, so a route cannot be served without being documented:
//! the paths, parameters (from each route's typed query, see `super::params`) and
//! responses (`super::schema`) come from the handlers' `#[utoipa::path]`. The OGC API
//! – Features paths come from `super::ogc` (their own 3.0 document at `/ogc/api`,
//! which OGC clients read), prefixed with `/ogc` and merged in here.
//!
//! - `GET /api/openapi.json`: the document (`servers` from the request's host).
//! - `GET /api/docs`: a page rendering it with the vendored Scalar viewer
//!   (`web/vendor/scalar`), which loads nothing from other hosts.

use std::sync::Arc;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use super::AppState;
use super::params::Params;
use super::problem::ApiError;
use crate::model::{Amenity, Layer, UnionStatus};

/// The media type of the document.
const OPENAPI_JSON: &str = "application/vnd.oai.openapi+json;version=3.1";

/// The document's fixed parts: what the service is, its tags, shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "waystation 驿站地图",
        description = "Driver homes (司机之家), union rest stations (工会驿站), worker fitness \
            stations and industrial parks with their union status: nearest facilities, \
            search, along a route, coverage analyses and siting for planners, OGC API – \
            Features for GIS, and the union's registry (edits, imports, history). Errors \
            are application/problem+json (RFC 9457) naming each parameter at fault.",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "locator", description = "What drivers and couriers ask: nearest, search, along a route"),
        (name = "data", description = "Layers and features as GeoJSON"),
        (name = "coverage", description = "Planners' analyses: park coverage, gaps, catchments, siting"),
        (name = "registry", description = "The union's store of record: edits with a token, history, imports"),
        (name = "stations", description = "Problem reports from station pages"),
        (name = "tiles", description = "Vector tiles (MVT) and their TileJSON, for web maps"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "ogc", description = "OGC API – Features (Part 1) for QGIS, ArcGIS and GDAL"),
    ),
    components(schemas(super::schema::Problem)),
    modifiers(&BearerToken)
)]
pub struct ApiDoc;

/// Declares the editors' bearer tokens.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "an editor's or admin's token from `waystation token create`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document's routes, serving `doc` (the routes' part, built with the router).
pub fn routes(doc: utoipa::openapi::OpenApi) -> Router<Arc<AppState>> {
    let doc = Arc::new(serde_json::to_value(doc).unwrap_or_default());
    Router::new()
        .route(
            "/api/openapi.json",
            get(move |RawQuery(query): RawQuery, headers: HeaderMap| {
                let doc = doc.clone();
                async move { document(&doc, query.as_deref(), &headers) }
            }),
        )
        .route(
            "/api/docs",
            get(|| async { axum::response::Redirect::permanent("/api-docs.html") }),
        )
}

fn document(
    routes: &Value,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    Params::parse(query)?.finish()?;
    let (server, ogc) = super::ogc::document(headers)?;
    let doc = merge(routes.clone(), &server, &ogc)?;
    let body = serde_json::to_vec(&doc).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(OPENAPI_JSON)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response())
}

/// The whole document: the routes' part with the OGC paths (prefixed `/ogc`) and
/// components merged in, served from `server`. A component name used by both is a
/// bug (one would hide the other): refused.
fn merge(mut doc: Value, server: &str, ogc: &Value) -> Result<Value, ApiError> {
    doc["servers"] = json!([{ "url": server }]);
    tighten_parameters(&mut doc);
    for name in super::schema::CLOSED {
        if let Some(schema) = doc["components"]["schemas"].get_mut(*name) {
            schema["additionalProperties"] = Value::Bool(false);
        }
    }
    let paths = doc["paths"]
        .as_object_mut()
        .ok_or_else(|| ApiError::internal("the document has no paths"))?;
    for (path, item) in ogc["paths"].as_object().into_iter().flatten() {
        let mut item = item.clone();
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            if let Some(op) = op.as_object_mut() {
                op.insert("tags".into(), json!(["ogc"]));
            }
        }
        let path = if path == "/" {
            "/ogc".to_owned()
        } else {
            format!("/ogc{path}")
        };
        paths.insert(path, item);
    }
    let components = doc["components"]
        .as_object_mut()
        .ok_or_else(|| ApiError::internal("the document has no components"))?;
    for (kind, entries) in ogc["components"].as_object().into_iter().flatten() {
        let target = components
            .entry(kind.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let (Some(target), Some(entries)) = (target.as_object_mut(), entries.as_object()) else {
            continue;
        };
        for (name, value) in entries {
            if target.insert(name.clone(), value.clone()).is_some() {
                return Err(ApiError::internal(format!(
                    "the OGC document's component {kind}/{name} is defined twice"
                )));
            }
        }
    }
    Ok(doc)
}

/// Query parameters as strict as the parsing behind them: every text parameter
/// non-empty (an empty value is refused, not defaulted); in `/api/v1`, layers,
/// amenities and union statuses spelled from the model's own values and `bbox` four
/// numbers in range.
fn tighten_parameters(doc: &mut Value) {
    let one_of = |values: Vec<&str>| {
        let alt = values.join("|");
        format!("^({alt})(,({alt}))*$")
    };
    let facility_ids: Vec<&str> = Layer::ALL
        .iter()
        .filter(|l| l.is_facility())
        .map(|l| l.id())
        .collect();
    let facility_layers = one_of(facility_ids.clone());
    let facility_layers_one = format!("^({})$", facility_ids.join("|"));
    let amenities = one_of(Amenity::ALL.iter().map(|a| a.id()).collect());
    let statuses = one_of(UnionStatus::ALL.iter().map(|s| s.id()).collect());
    // Degrees in range: longitude -180..180, latitude -90..90.
    let lon = r"-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)";
    let lat = r"-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)";
    let bbox = format!("^{lon},{lat},{lon},{lat}$");
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, operation) in paths.iter_mut() {
        // The OGC paths keep their own document's rules (a `layer` there is a
        // property filter); ours name layers, amenities and statuses by the model.
        let ours = path.starts_with("/api/v1/");
        let layer = if path.starts_with("/api/v1/coverage/") {
            Some(facility_layers_one.clone())
        } else {
            None
        };
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        for op in operation.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params.iter_mut().filter(|p| p["in"] == "query") {
                let name = param["name"].as_str().unwrap_or("").to_owned();
                let schema = &mut param["schema"];
                let text = schema["type"] == "string"
                    || schema["type"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|t| t == "string"));
                if !text {
                    continue;
                }
                schema["minLength"] = json!(1);
                if !ours {
                    continue;
                }
                let pattern = match name.as_str() {
                    "layers" => Some(facility_layers.clone()),
                    "layer" => layer.clone(),
                    "amenities" => Some(amenities.clone()),
                    "union_status" => Some(statuses.clone()),
                    "bbox" => Some(bbox.clone()),
                    _ => None,
                };
                if let Some(pattern) = pattern {
                    schema["pattern"] = json!(pattern);
                }
            }
        }
    }
}
