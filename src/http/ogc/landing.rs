//! The landing page, the conformance declaration and the collections.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::super::AppState;
use super::super::params::Params;
use super::super::problem::ApiError;
use super::crs::Crs;
use super::{
    Base, CRS84, Format, GEOJSON, HTML, JSON, Link, OPENAPI_JSON, SCHEMA_JSON, cql, html, meta,
};
use crate::index::Atlas;
use crate::model::Layer;

/// The conformance classes of Part 1 and Part 2 this server passes (Part 3
/// and CQL2: [`super::cql::CLASSES`]).
pub const CONFORMS_TO: [&str; 5] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
];

/// The title of the service.
pub const TITLE: &str = "驿站地图 waystation · OGC API – Features";

/// What a layer holds, in both languages.
pub fn description(layer: Layer) -> &'static str {
    match layer {
        Layer::DriverHome => {
            "司机之家：为货车司机提供休息、淋浴、停车等服务的工会站点。\
             Driver homes: union rest homes for truck drivers (rest, showers, truck parking)."
        }
        Layer::CourierStation => {
            "工会驿站 / 户外劳动者服务站点：快递员、外卖骑手、环卫工人等户外劳动者的休息站。\
             Union rest stations for couriers, delivery riders and other outdoor workers."
        }
        Layer::FitnessStation => {
            "职工健身驿站：职工健身站点（简易型、常规型、综合型）。\
             Worker fitness stations (simple, regular or comprehensive grade)."
        }
        Layer::Park => {
            "工业园区、物流园区、开发区及其建会情况：企业数、已建会企业数、职工数、会员数与建会状态。\
             Industrial and logistics parks and zones with their union status: enterprises, \
             unionised enterprises, workers, union members, and union_status none / partial / full."
        }
    }
}

/// The parameters every metadata resource takes: `f` only.
fn only_f(query: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    let mut p = Params::parse(query)?;
    let f = super::format(&mut p, headers);
    p.finish()?;
    Ok(f)
}

/// `GET /ogc`: the landing page.
pub async fn landing(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = Base::of(&headers)?;
    let f = only_f(query.as_deref(), &headers)?;
    let atlas = state.atlas()?;
    let mut links: Vec<Link> = super::self_links(&base, "", f, JSON).into();
    links.extend([
        Link::new(
            base.openapi(),
            "service-desc",
            OPENAPI_JSON,
            "OpenAPI 3.0 接口定义 / The API definition",
        ),
        Link::new(
            base.ogc_f("/api", Format::Html),
            "service-doc",
            HTML,
            "接口文档 / The API documentation",
        ),
        Link::new(
            base.ogc_f("/conformance", Format::Json),
            "conformance",
            JSON,
            "符合的标准类 / Conformance classes",
        ),
        Link::new(
            base.ogc_f("/conformance", Format::Json),
            "http://www.opengis.net/def/rel/ogc/1.0/conformance",
            JSON,
            "符合的标准类 / Conformance classes",
        ),
        Link::new(
            base.ogc_f("/collections", Format::Json),
            "data",
            JSON,
            "数据集 / The collections",
        ),
        Link::new(
            base.ogc_f("/collections", Format::Json),
            "http://www.opengis.net/def/rel/ogc/1.0/data",
            JSON,
            "数据集 / The collections",
        ),
    ]);
    let doc = json!({
        "title": TITLE,
        "description": "中国工会服务站点（司机之家、工会驿站、职工健身驿站）与工业园区建会情况。\
            Chinese trade-union facilities (driver homes, union rest stations, worker fitness \
            stations) and industrial parks with their union status. WGS-84 (CRS84).",
        "links": links,
    });
    match f {
        Format::Json => super::respond_json(&state, JSON, &doc),
        Format::Html => {
            let collections =
                json!(Layer::ALL.map(|l| collection_doc(&atlas, &base, l, Format::Json)));
            Ok(super::respond_html(
                &state,
                html::landing(&base, &doc, &collections, &counts(&atlas)),
            ))
        }
    }
}

/// `GET /ogc/conformance`.
pub async fn conformance(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = Base::of(&headers)?;
    let f = only_f(query.as_deref(), &headers)?;
    let doc = json!({
        "conformsTo": CONFORMS_TO.iter().chain(&cql::CLASSES).collect::<Vec<_>>(),
        "links": super::self_links(&base, "/conformance", f, JSON),
    });
    match f {
        Format::Json => super::respond_json(&state, JSON, &doc),
        Format::Html => Ok(super::respond_html(&state, html::conformance(&base, &doc))),
    }
}

/// A layer's collection document, its links made for a response in `f`.
fn collection_doc(atlas: &Arc<Atlas>, base: &Base, layer: Layer, f: Format) -> Value {
    let stats = atlas.layer_stats()[layer as usize];
    let meta = meta::of(atlas);
    let path = format!("/collections/{layer}");
    let mut links: Vec<Link> = super::self_links(base, &path, f, JSON).into();
    links.extend([
        Link::new(
            // No query: GDAL 3.6 appends `/{id}` to this link to fetch one
            // feature, and `Accept` gives it GeoJSON.
            base.ogc(&format!("{path}/items")),
            "items",
            GEOJSON,
            "要素 (GeoJSON) / The features as GeoJSON",
        ),
        Link::new(
            // A page a browser shows at once; `limit` can ask for more.
            base.ogc(&format!("{path}/items?limit=100&f=html")),
            "items",
            HTML,
            "要素 (网页) / The features as HTML",
        ),
        Link::new(
            base.ogc_f(&format!("{path}/queryables"), Format::Json),
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            SCHEMA_JSON,
            "可查询属性 / The queryable properties",
        ),
        Link::new(
            base.ogc_f(&format!("{path}/queryables"), Format::Json),
            "queryables",
            SCHEMA_JSON,
            "可查询属性 / The queryable properties",
        ),
    ]);
    let mut extent = serde_json::Map::new();
    if let Some(b) = stats.bbox {
        extent.insert(
            "spatial".into(),
            json!({"bbox": [[b.min_lon, b.min_lat, b.max_lon, b.max_lat]], "crs": CRS84}),
        );
    }
    if let Some((first, last)) = meta.temporal[layer as usize] {
        extent.insert(
            "temporal".into(),
            json!({
                // `updated` is a date in China: from the start of the first day to
                // the end of the last.
                "interval": [[
                    format!("{first}T00:00:00+08:00"),
                    format!("{last}T23:59:59+08:00"),
                ]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }),
        );
    }
    json!({
        "id": layer.id(),
        "title": format!("{} · {}", layer.name_zh(), layer.name_en()),
        "description": description(layer),
        "extent": extent,
        "itemType": "feature",
        "crs": Crs::ALL.map(Crs::uri),
        "storageCrs": CRS84,
        "links": links,
    })
}

/// How many features each layer holds, in `Layer::ALL` order (for the pages).
fn counts(atlas: &Atlas) -> [usize; 4] {
    atlas.layer_stats().map(|s| s.count)
}

/// `GET /ogc/collections`.
pub async fn collections(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = Base::of(&headers)?;
    let f = only_f(query.as_deref(), &headers)?;
    let atlas = state.atlas()?;
    let doc = json!({
        "links": super::self_links(&base, "/collections", f, JSON),
        "collections": Layer::ALL.map(|l| collection_doc(&atlas, &base, l, Format::Json)),
    });
    match f {
        Format::Json => super::respond_json(&state, JSON, &doc),
        Format::Html => Ok(super::respond_html(
            &state,
            html::collections(&base, &doc, &counts(&atlas)),
        )),
    }
}

/// `GET /ogc/collections/{layer}`.
pub async fn collection(
    State(state): State<Arc<AppState>>,
    Path(layer): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = super::layer(&layer)?;
    let base = Base::of(&headers)?;
    let f = only_f(query.as_deref(), &headers)?;
    let atlas = state.atlas()?;
    let doc = collection_doc(&atlas, &base, layer, f);
    match f {
        Format::Json => super::respond_json(&state, JSON, &doc),
        Format::Html => Ok(super::respond_html(
            &state,
            html::collection(&base, layer, &doc, counts(&atlas)[layer as usize]),
        )),
    }
}
