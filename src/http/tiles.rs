//! The vector-tile routes: `/tiles/{layers}/{z}/{x}/{y}.mvt` and the TileJSON 3.0
//! document `/tiles/{layers}.json`.
//!
//! `{layers}` is one layer id or a comma list of them (`driver_home,park`): one
//! composite tile with an MVT layer per requested layer plus `clusters`, as Martin
//! composes sources. Tiles carry a weak ETag made of the data's fingerprint and
//! the tile's address, so a revalidation answers 304 without rendering; an empty
//! tile is a 204. The compression layer gzips tiles for clients that ask: the tag
//! is weak because the gzipped and the plain bytes of a tile share it (a strong
//! tag names one sequence of bytes, RFC 9110 §8.8.1).
//!
//! `?crs=gcj02` asks for the tile set drawn in GCJ-02, for an Amap or Tencent
//! basemap (see `tiles::frame`): its own tile index, its own ETags, and a TileJSON
//! whose tile URL keeps the parameter. `crs=wgs84` (the default) is the stored frame.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use utoipa::IntoParams;

use super::AppState;
use super::params::{FromParams, Params, Query};
use super::problem::{ApiError, InvalidParam};
use crate::index::Atlas;
use crate::model::{Layer, LayerSet, UnknownLayer};
use crate::tiles::{
    self, AREAS_LAYER, CLUSTER_KEYS, FACILITY_KEYS, Frame, MAX_ZOOM, MIN_ZOOM, PARK_KEYS, TileId,
    TileIndex,
};

/// The MVT media type.
pub const MVT_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// The tile routes (documented in the OpenAPI document by their handlers).
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(tilejson))
        .routes(routes!(tile))
}

type ApiResult = Result<Response, ApiError>;

/// The query of the tile routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TileQuery {
    /// The frame the tiles are drawn in: `wgs84` (as stored; OpenStreetMap-style and
    /// Tianditu basemaps) or `gcj02` (Amap and Tencent basemaps: every position
    /// shifted, and selected and clustered where the basemap draws it). Feature ids
    /// lead to the WGS-84 detail either way.
    #[param(value_type = Option<String>, pattern = "^(wgs84|gcj02)$", default = "wgs84", example = "gcj02")]
    crs: Frame,
}

impl FromParams for TileQuery {
    fn from_params(p: &mut Params) -> Option<Self> {
        let crs = match p.raw("crs") {
            None => Frame::Wgs84,
            Some(text) => match text.trim().parse::<Frame>() {
                Ok(f) => f,
                Err(e) => {
                    p.problem("crs", e);
                    return None;
                }
            },
        };
        Some(TileQuery { crs })
    }
}

/// The tile index of `atlas` in `frame`: a generation over a base whose runs are
/// sorted gets its overlay (its edits) in place; the first request of a new base
/// not sorted yet (a fraction of a second for a million features; the background
/// rebuild of the base sorts it when tiles are in use) builds it on the blocking
/// pool, not on a request worker.
async fn index_of(atlas: &Arc<Atlas>, frame: Frame) -> Result<Arc<TileIndex>, ApiError> {
    match TileIndex::cached(atlas, frame) {
        Some(index) => Ok(index),
        None => {
            let atlas = atlas.clone();
            tokio::task::spawn_blocking(move || TileIndex::of(&atlas, frame))
                .await
                .map_err(ApiError::internal)
        }
    }
}

/// A comma list of layer ids, each known (404 otherwise: the tile set does not exist).
fn parse_layers(text: &str) -> Result<LayerSet, ApiError> {
    let mut set = LayerSet::default();
    for part in text.split(',') {
        let layer: Layer = part
            .parse()
            .map_err(|e: UnknownLayer| ApiError::NotFound(e.to_string()))?;
        set.insert(layer);
    }
    Ok(set)
}

/// The canonical spelling of a layer set (display order), as used in URLs and ETags.
fn layers_path(set: LayerSet) -> String {
    set.iter().map(Layer::id).collect::<Vec<_>>().join(",")
}

/// `z`, `x` and `y.mvt`, checked against each other (400 with every fault listed).
fn parse_tile(z: &str, x: &str, y: &str) -> Result<TileId, ApiError> {
    let mut bad = Vec::new();
    let z = match z.parse::<u8>() {
        Ok(z) if (MIN_ZOOM..=MAX_ZOOM).contains(&z) => Some(z),
        _ => {
            bad.push(InvalidParam::new(
                "z",
                format!("'{z}' is not a zoom from {MIN_ZOOM} to {MAX_ZOOM}"),
            ));
            None
        }
    };
    let mut coord = |name: &str, text: &str| match text.parse::<u32>() {
        Ok(n) if z.is_none_or(|z| u64::from(n) < 1u64 << z) => Some(n),
        Ok(_) => {
            let max = z.map_or(0, |z| (1u64 << z) - 1);
            bad.push(InvalidParam::new(
                name,
                format!("{text} is outside the zoom's tiles (0 to {max})"),
            ));
            None
        }
        Err(_) => {
            bad.push(InvalidParam::new(
                name,
                format!("'{text}' is not a tile {name}"),
            ));
            None
        }
    };
    let x = coord("x", x);
    let y = match y.strip_suffix(".mvt") {
        Some(y) => coord("y", y),
        None => {
            bad.push(InvalidParam::new(
                "y",
                format!("'{y}' should be the row followed by .mvt"),
            ));
            None
        }
    };
    match (z, x, y) {
        (Some(z), Some(x), Some(y)) if bad.is_empty() => {
            TileId::new(z, x, y).ok_or_else(|| ApiError::param("z", "no such tile"))
        }
        _ => Err(ApiError::InvalidParams(bad)),
    }
}

fn cache_control(state: &AppState) -> HeaderValue {
    // With a registry the data changes under edits: revalidate (cheap, by ETag).
    HeaderValue::from_static(if state.registry().is_some() {
        "no-cache"
    } else {
        "public, max-age=300"
    })
}

/// `GET /tiles/{layers}/{z}/{x}/{y}.mvt`: one vector tile.
#[utoipa::path(get, path = "/tiles/{layers}/{z}/{x}/{y}", tag = "tiles",
    summary = "A Mapbox vector tile (`/tiles/{layers}/{z}/{x}/{y}.mvt`)",
    description = "One composite tile of the comma-listed layers, zoom 0–16. Points are clustered below zoom 16 (a cluster keeps `point_count` and the count per layer); parks carry their union status, and with `park` the parks that have a polygon are also in the layer `park_area` (MVT polygons clipped to the tile with a buffer) from the zoom where they span 4 px. `crs=gcj02` draws the tile in GCJ-02 for an Amap or Tencent basemap. Weak ETag (304 on If-None-Match, weak comparison), gzip when accepted.",
    params(
        ("layers" = String, Path, description = "a comma list of layer ids", example = "driver_home,courier_station"),
        ("z" = u8, Path, description = "zoom", minimum = 0, maximum = 16),
        ("x" = u32, Path, description = "column"),
        ("y" = String, Path, description = "row, with `.mvt`", example = "0.mvt"),
        TileQuery,
        ("If-None-Match" = Option<String>, Header, description = "the ETag of a copy held"),
    ),
    responses(
        (status = 200, description = "the tile", body = crate::http::schema::Binary, content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "the tile is empty"),
        (status = 304, description = "not modified"),
        (status = 400, description = "a bad z, x, y or crs", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        (status = 404, description = "an unknown layer", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        (status = 503, description = "the data is still loading", body = crate::http::schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn tile(
    State(state): State<Arc<AppState>>,
    Path((layers, z, x, y)): Path<(String, String, String, String)>,
    Query(TileQuery { crs: frame }): Query<TileQuery>,
    headers: HeaderMap,
) -> ApiResult {
    let layers = parse_layers(&layers)?;
    let tile = parse_tile(&z, &x, &y)?;
    let atlas = state.atlas()?;
    // The layers as a bit mask: an ETag holds no comma (If-None-Match lists tags with them).
    let mask: u32 = layers.iter().map(|l| 1 << l as u32).sum();
    let etag = format!(
        "W/\"{:016x}-{mask:x}-{}-{}-{}{}\"",
        atlas.fingerprint(),
        tile.z,
        tile.x,
        tile.y,
        match frame {
            Frame::Wgs84 => "",
            Frame::Gcj02 => "-gcj02",
        }
    );
    let etag = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let cache = cache_control(&state);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| {
            // Weak comparison (RFC 9110 §13.1.2): `"t"` and `W/"t"` match.
            let ours = opaque(etag.as_bytes());
            inm.split(',')
                .any(|t| t.trim() == "*" || opaque(t.trim().as_bytes()) == ours)
        })
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    let index = index_of(&atlas, frame).await?;
    let rendered = tiles::render(&atlas, &index, layers, tile);
    if rendered.is_empty() {
        return Ok((
            StatusCode::NO_CONTENT,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(MVT_TYPE)),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        rendered.bytes,
    )
        .into_response())
}

/// `GET /tiles/{layers}.json`: the TileJSON 3.0 document of a layer set, with the
/// tile URL made absolute from the request's `Host`.
#[utoipa::path(get, path = "/tiles/{file}", tag = "tiles",
    summary = "The TileJSON 3.0 document of a layer set (`/tiles/{layers}.json`)",
    params(("file" = String, Path, description = "a comma list of layer ids and `.json`", example = "driver_home,park.json"), TileQuery),
    responses(
        (status = 200, description = "TileJSON 3.0 with the vector layers and absolute tile URLs (keeping `crs` when given)", body = crate::http::schema::Object),
        (status = 400, description = "a bad crs", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        (status = 404, description = "an unknown layer, or not `.json`", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        (status = 503, description = "the data is still loading", body = crate::http::schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn tilejson(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    Query(TileQuery { crs: frame }): Query<TileQuery>,
    headers: HeaderMap,
) -> ApiResult {
    let Some(layers) = file.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!(
            "no tile set document '{file}': ask for /tiles/{{layers}}.json"
        )));
    };
    let layers = parse_layers(layers)?;
    let atlas = state.atlas()?;
    // A client reads this document just before its first tiles: build the tile index
    // of this generation now, in the background, if nobody has.
    if TileIndex::cached(&atlas, frame).is_none() {
        let atlas = atlas.clone();
        tokio::task::spawn_blocking(move || TileIndex::of(&atlas, frame));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .ok_or_else(|| ApiError::param("Host", "a valid Host header is needed for tile URLs"))?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    let path = layers_path(layers);
    let query = match frame {
        Frame::Wgs84 => String::new(),
        Frame::Gcj02 => format!("?crs={frame}"),
    };
    let url = format!("{scheme}://{host}/tiles/{path}/{{z}}/{{x}}/{{y}}.mvt{query}");
    let body = document(&atlas, layers, &path, url, frame);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body.to_string(),
    )
        .into_response())
}

fn document(atlas: &Atlas, layers: LayerSet, path: &str, url: String, frame: Frame) -> Value {
    let stats = atlas.layer_stats();
    let mut bounds: Option<[f64; 4]> = None;
    for s in stats.iter().filter(|s| layers.contains(s.layer)) {
        if let Some(b) = s.bbox.map(|b| shift_bbox(b, frame)) {
            let u = bounds.get_or_insert([b.min_lon, b.min_lat, b.max_lon, b.max_lat]);
            u[0] = u[0].min(b.min_lon);
            u[1] = u[1].min(b.min_lat);
            u[2] = u[2].max(b.max_lon);
            u[3] = u[3].max(b.max_lat);
        }
    }
    let bounds = bounds.unwrap_or([-180.0, -85.051_128_78, 180.0, 85.051_128_78]);
    let center = [
        (bounds[0] + bounds[2]) / 2.0,
        (bounds[1] + bounds[3]) / 2.0,
        4.0,
    ];
    let fields = |keys: &[&str], kinds: &[(&str, &str)]| -> Value {
        keys.iter()
            .map(|k| {
                let kind = kinds
                    .iter()
                    .find(|(n, _)| n == k)
                    .map_or("String", |(_, t)| t);
                ((*k).to_owned(), Value::from(kind))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut vector_layers: Vec<Value> = layers
        .iter()
        .map(|l| {
            let keys = if l.is_facility() {
                FACILITY_KEYS
            } else {
                PARK_KEYS
            };
            json!({
                "id": l.id(),
                "description": format!("{} ({})", l.name_zh(), l.name_en()),
                "minzoom": MIN_ZOOM,
                "maxzoom": MAX_ZOOM,
                "fields": fields(keys, &[("amenities", "Number"), ("synthetic", "Boolean")]),
            })
        })
        .collect();
    let mut cluster_keys: Vec<&str> = vec![CLUSTER_KEYS[0]];
    cluster_keys.extend(layers.iter().map(Layer::id));
    if layers.contains(Layer::Park) {
        cluster_keys.push("no_union");
    }
    if layers.contains(Layer::Park) {
        vector_layers.push(json!({
            "id": AREAS_LAYER,
            "description": "park outlines (polygons; the parks' points stay in `park`), from the zoom where a park spans 4 px",
            "minzoom": MIN_ZOOM,
            "maxzoom": MAX_ZOOM,
            "fields": fields(PARK_KEYS, &[("synthetic", "Boolean")]),
        }));
    }
    vector_layers.push(json!({
        "id": tiles::CLUSTERS_LAYER,
        "description": "dense cells of the tile: point_count, a count per layer, no_union (parks without a union)",
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM - 1,
        "fields": fields(&cluster_keys, &cluster_keys.iter().map(|k| (*k, "Number")).collect::<Vec<_>>()),
    }));
    json!({
        "tilejson": "3.0.0",
        "name": format!("waystation {path}"),
        "scheme": "xyz",
        "crs": frame.id(),
        "tiles": [url],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": center,
        "vector_layers": vector_layers,
        "amenity_bits": tiles::amenity_bits(),
        "clustering": {
            "grid": tiles::GRID,
            "cell_max": tiles::CELL_MAX,
            "last_clustered_zoom": MAX_ZOOM - 1,
        },
    })
}

/// A WGS-84 box in `frame`: its corners shifted (the GCJ-02 shift varies by metres
/// across a province, far less than a basemap tile: the corners are enough for a
/// client's bounds).
fn shift_bbox(b: crate::index::BBox, frame: Frame) -> crate::index::BBox {
    let corner = |lon: f64, lat: f64| {
        crate::model::LonLat::new(lon, lat).map_or((lon, lat), |p| frame.shift(p))
    };
    let (min_lon, min_lat) = corner(b.min_lon, b.min_lat);
    let (max_lon, max_lat) = corner(b.max_lon, b.max_lat);
    crate::index::BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    }
}

/// An entity tag without its weakness mark: what weak comparison compares.
fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}
