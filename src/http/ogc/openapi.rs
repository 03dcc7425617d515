//! The OpenAPI 3.0 document of the `/ogc` paths, at `/api/openapi.json` (the
//! landing page's `service-desc`) and `/ogc/api` (also as HTML: `service-doc`).
//!
//! Every collection's paths are written out (`/collections/park/items`, not only
//! `/collections/{collectionId}/items`): GDAL looks its layer's path up to learn
//! which query parameters filter on the server, and newer GDAL reads the
//! `limit` parameter's `default` and `maximum` there to choose its page size.
//! The items parameters come from the same table as the handler's
//! ([`super::queryables::QUERYABLES`]).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::super::AppState;
use super::super::params::Params;
use super::super::problem::ApiError;
use super::crs::EPSG_4490;
use super::landing::{TITLE, description};
use super::{
    Base, CRS84, DEFAULT_LIMIT, Format, GEOJSON, JSON, MAX_LIMIT, OPENAPI_JSON, SCHEMA_JSON, html,
    queryables,
};
use crate::model::Layer;

/// A `$ref` to a component.
fn r(path: &str) -> Value {
    json!({ "$ref": format!("#/components/{path}") })
}

/// The error answers of an operation (`not_found` for those with an id).
fn errors(responses: &mut Map<String, Value>, bad_request: bool, not_found: bool) {
    if bad_request {
        responses.insert("400".into(), r("responses/BadRequest"));
    }
    if not_found {
        responses.insert("404".into(), r("responses/NotFound"));
    }
    responses.insert("500".into(), r("responses/ServerError"));
    responses.insert("503".into(), r("responses/NotReady"));
}

/// One GET operation answering `json_media` (with `schema`) or HTML.
fn get(
    id: String,
    summary: String,
    parameters: Vec<Value>,
    json_media: &str,
    schema: Value,
    not_found: bool,
) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "成功 / Success",
            "content": {
                (json_media): {"schema": schema},
                "text/html": {"schema": {"type": "string"}},
            },
        }),
    );
    errors(&mut responses, true, not_found);
    json!({"get": {
        "operationId": id,
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }})
}

/// The document, with the server at `base`.
pub fn openapi(base: &Base) -> Value {
    let mut paths = Map::new();
    let f = || r("parameters/f");
    paths.insert(
        "/".into(),
        get(
            "getLandingPage".into(),
            "首页 / Landing page".into(),
            vec![f()],
            JSON,
            r("schemas/landingPage"),
            false,
        ),
    );
    paths.insert(
        "/conformance".into(),
        get(
            "getConformanceDeclaration".into(),
            "符合的标准类 / Conformance classes".into(),
            vec![f()],
            JSON,
            r("schemas/confClasses"),
            false,
        ),
    );
    paths.insert(
        "/api".into(),
        get(
            "getAPIDefinition".into(),
            "本文档 / This API definition".into(),
            vec![f()],
            OPENAPI_JSON,
            json!({"type": "object"}),
            false,
        ),
    );
    paths.insert(
        "/collections".into(),
        get(
            "getCollections".into(),
            "数据集 / The collections".into(),
            vec![f()],
            JSON,
            r("schemas/collections"),
            false,
        ),
    );
    for layer in Layer::ALL {
        let id = layer.id();
        let name = format!("{} · {}", layer.name_zh(), layer.name_en());
        paths.insert(
            format!("/collections/{id}"),
            get(
                format!("describeCollection_{id}"),
                format!("{name}: 数据集 / collection"),
                vec![f()],
                JSON,
                r("schemas/collection"),
                false,
            ),
        );
        let mut parameters = vec![
            r("parameters/bbox"),
            r("parameters/bbox-crs"),
            r("parameters/crs"),
            r("parameters/datetime"),
            r("parameters/filter"),
            r("parameters/filter-lang"),
            r("parameters/filter-crs"),
            r("parameters/limit"),
            r("parameters/offset"),
            f(),
        ];
        parameters.extend(queryables::of(layer).map(|q| {
            json!({
                "name": q.name,
                "in": "query",
                "required": false,
                "description": format!("{} / {}: {}", q.zh, q.en, q.usage()),
                "schema": q.schema(),
                "style": "form",
                "explode": false,
            })
        }));
        let mut items = get(
            format!("getFeatures_{id}"),
            format!("{name}: 要素 / features"),
            parameters,
            GEOJSON,
            r("schemas/featureCollectionGeoJSON"),
            false,
        );
        items["get"]["description"] = json!(description(layer));
        paths.insert(format!("/collections/{id}/items"), items);
        paths.insert(
            format!("/collections/{id}/items/{{featureId}}"),
            get(
                format!("getFeature_{id}"),
                format!("{name}: 单个要素 / one feature"),
                vec![r("parameters/featureId"), r("parameters/crs"), f()],
                GEOJSON,
                r("schemas/featureGeoJSON"),
                true,
            ),
        );
        let mut queryables = get(
            format!("getQueryables_{id}"),
            format!("{name}: 可查询属性 / queryables"),
            vec![f()],
            SCHEMA_JSON,
            json!({"type": "object"}),
            false,
        );
        // The same schema for a client that accepts JSON but not JSON Schema by name.
        queryables["get"]["responses"]["200"]["content"][JSON] =
            json!({"schema": {"type": "object"}});
        paths.insert(format!("/collections/{id}/queryables"), queryables);
    }
    let query = |name: &str, description: &str, schema: Value| {
        json!({
            "name": name,
            "in": "query",
            "required": false,
            "description": description,
            "schema": schema,
            "style": "form",
            "explode": false,
        })
    };
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": {"application/problem+json": {"schema": r("schemas/problem")}},
        })
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OGC API – Features Part 1 (Core): 工会服务站点与工业园区的四个图层。\
                The four layers of trade-union facilities and industrial parks, \
                as GeoJSON or HTML. Coordinates are WGS-84 longitude, latitude (CRS84).",
            "license": {"name": "MIT OR Apache-2.0"},
        },
        "servers": [{"url": base.ogc("")}],
        "paths": paths,
        "components": {
            "parameters": {
                "f": query("f", "格式 / The format: json (GeoJSON for features) or html; \
                    without it the Accept header chooses.",
                    json!({"type": "string", "enum": ["json", "html"]})),
                "bbox": query("bbox", "范围 / Only features whose geometry meets this box: \
                    minlon,minlat,maxlon,maxlat (or six numbers with heights, ignored), CRS84; \
                    minlon > maxlon crosses the antimeridian.",
                    json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}})),
                "bbox-crs": query("bbox-crs", "bbox 的坐标系 / The CRS of bbox: CRS84 \
                    (the default: minlon,minlat,maxlon,maxlat) or EPSG:4490 (CGCS2000, \
                    latitude first: minlat,minlon,maxlat,maxlon).",
                    json!({"type": "string", "format": "uri", "enum": [CRS84, EPSG_4490], "default": CRS84})),
                "crs": query("crs", "输出坐标系 / The CRS of the answer's geometries: CRS84 \
                    (the default: longitude, latitude) or EPSG:4490 (CGCS2000: latitude, \
                    longitude; the same numbers to about a centimetre, axes swapped). \
                    The answer's Content-Crs header names it.",
                    json!({"type": "string", "format": "uri", "enum": [CRS84, EPSG_4490], "default": CRS84})),
                "filter": query("filter", "CQL2 过滤条件 / A CQL2 filter on the collection's \
                    queryables (see its queryables): =, <>, <, <=, >, >=, IS [NOT] NULL, AND, \
                    OR, NOT with string, number, boolean and DATE('…') literals, and \
                    S_INTERSECTS(geometry, BBOX(…) | POINT(…) | POLYGON(…) | …). \
                    Example: union_status = 'none' AND workers > 1000",
                    json!({"type": "string"})),
                "filter-lang": query("filter-lang", "filter 的编码 / The encoding of filter: \
                    cql2-text (the default) or cql2-json.",
                    json!({"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"})),
                "filter-crs": query("filter-crs", "filter 中几何的坐标系 / The CRS of the \
                    geometries in filter: CRS84 (the default) or EPSG:4490 (latitude first).",
                    json!({"type": "string", "format": "uri", "enum": [CRS84, EPSG_4490], "default": CRS84})),
                "datetime": query("datetime", "更新日期 / Only features whose `updated` day \
                    (China time) meets this instant or interval: 2024-01-01, \
                    2024-01-01T08:00:00Z, 2024-01-01/2024-06-30, ../2024-06-30, 2024-01-01/..",
                    json!({"type": "string"})),
                "limit": query("limit", "每页要素数 / Features per page; a larger value \
                    is taken as the maximum.",
                    json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT})),
                "offset": query("offset", "跳过的要素数 / Features to skip (the `next` links set it).",
                    json!({"type": "integer", "minimum": 0, "default": 0})),
                "featureId": {
                    "name": "featureId",
                    "in": "path",
                    "required": true,
                    "description": "要素编号 / The feature's id, e.g. dh-linyi-caiyuan",
                    "schema": {"type": "string"},
                },
            },
            "responses": {
                "BadRequest": problem("参数错误 / A parameter is malformed, out of range or unknown: each is named in invalid-params."),
                "NotFound": problem("不存在 / No such collection or feature."),
                "ServerError": problem("服务器错误 / The server failed."),
                "NotReady": problem("数据加载中 / The data is still loading."),
            },
            "schemas": {
                "link": {
                    "type": "object",
                    "required": ["href", "rel"],
                    "properties": {
                        "href": {"type": "string"},
                        "rel": {"type": "string"},
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                    },
                },
                "landingPage": {
                    "type": "object",
                    "required": ["links"],
                    "properties": {
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "links": {"type": "array", "items": r("schemas/link")},
                    },
                },
                "confClasses": {
                    "type": "object",
                    "required": ["conformsTo"],
                    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
                },
                "collection": {
                    "type": "object",
                    "required": ["id", "links"],
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "links": {"type": "array", "items": r("schemas/link")},
                        "extent": {"type": "object"},
                        "itemType": {"type": "string"},
                        "crs": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "collections": {
                    "type": "object",
                    "required": ["links", "collections"],
                    "properties": {
                        "links": {"type": "array", "items": r("schemas/link")},
                        "collections": {"type": "array", "items": r("schemas/collection")},
                    },
                },
                "featureGeoJSON": {
                    "type": "object",
                    "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "id": {"type": "string"},
                        "geometry": {"type": "object", "nullable": true},
                        "properties": {"type": "object", "nullable": true},
                        "links": {"type": "array", "items": r("schemas/link")},
                    },
                },
                "featureCollectionGeoJSON": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {"type": "array", "items": r("schemas/featureGeoJSON")},
                        "links": {"type": "array", "items": r("schemas/link")},
                        "timeStamp": {"type": "string", "format": "date-time"},
                        "numberMatched": {"type": "integer", "minimum": 0},
                        "numberReturned": {"type": "integer", "minimum": 0},
                    },
                },
                "problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "invalid-params": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    })
}

/// `GET /ogc/api`: the document, or (`f=html`, or a browser) its HTML rendering.
pub async fn api(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = Base::of(&headers)?;
    let mut p = Params::parse(query.as_deref())?;
    let f = super::format(&mut p, &headers);
    p.finish()?;
    let doc = openapi(&base);
    match f {
        Format::Json => super::respond_json(&state, OPENAPI_JSON, &doc),
        Format::Html => Ok(super::respond_html(&state, html::api(&base, &doc))),
    }
}
