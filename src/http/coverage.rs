//! The planners' routes: park coverage, the H3 grid, catchments, summaries, siting.
//!
//! Each handler parses its parameters with [`Params`] (or the JSON body, field by field,
//! for siting), refuses what would cost too much before doing any work, then runs the
//! analysis of [`crate::coverage`] and its serialisation on the blocking pool, so a large
//! request never stalls the async workers that answer "nearest".
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/coverage/parks` | per park: nearest facility per layer, counts within radius, gap score (GeoJSON, CSV, XLSX) |
//! | `GET /api/v1/coverage/grid` | H3 cells with parks, workers, facilities, distance to a layer |
//! | `GET /api/v1/coverage/catchments` | per facility: radius ring and clipped Voronoi cell |
//! | `GET /api/v1/coverage/summary` | totals and shares per city or district (JSON, CSV) |
//! | `POST /api/v1/siting` | where the next `p` facilities should go (maximal covering) |

use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::geojson;
use super::params::Params;
use super::problem::{ApiError, InvalidParam};
use crate::coverage::catchments::{self, Catchment};
use crate::coverage::export;
use crate::coverage::grid::{self, GridCell, GridResolution};
use crate::coverage::siting::{self, Demand, Weight};
use crate::coverage::summary::{self, Group, GroupBy};
use crate::coverage::{
    self, CoverageError, FacilityLayer, Order, ParkCoverage, ParkFilter, PerLayer, Radii, Radius,
    SortKey,
};
use crate::index::{BBox, sphere};
use crate::model::{LonLat, UnionStatus};

/// The most parks one coverage response may hold.
pub const MAX_PARK_ROWS: usize = 100_000;
/// Parks per GeoJSON response when `limit` is not given (downloads default to all).
pub const DEFAULT_PARK_ROWS: usize = 1_000;
/// The most non-empty H3 cells one grid answer may hold.
pub const MAX_GRID_CELLS: usize = 200_000;
/// The most facilities one catchment request may cover (two polygons each).
pub const MAX_CATCHMENT_FACILITIES: usize = 5_000;
/// The most sites one siting request may ask for.
pub const MAX_SITES: usize = 500;
/// The most candidate sites one siting request may offer.
pub const MAX_CANDIDATES: usize = 200_000;
/// Candidates × demand points beyond which a siting request is refused up front.
pub const MAX_SITING_PRODUCT: u64 = 10_000_000_000;
/// (candidate, demand point) pairs within the radius beyond which siting stops.
pub const MAX_SITING_PAIRS: u64 = 20_000_000;

type ApiResult = Result<Response, ApiError>;

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}

fn body(content_type: &'static str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn download(content_type: &'static str, filename: &str, bytes: Vec<u8>) -> Response {
    let mut r = body(content_type, bytes);
    let disposition = export::content_disposition(filename);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// Takes one value parsed with `FromStr`, recording the parser's own reason on failure.
fn one<T: FromStr>(p: &mut Params, name: &str) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    let raw = p.raw(name)?;
    match raw.trim().parse() {
        Ok(v) => Some(v),
        Err(e) => {
            p.problem(name, e.to_string());
            None
        }
    }
}

/// Takes a radius in metres (`(0, 500 000]`).
fn radius(p: &mut Params, name: &str) -> Option<Radius> {
    let m = p.number(name)?;
    match Radius::new(m) {
        Ok(r) => Some(r),
        Err(e) => {
            p.problem(name, e.to_string());
            None
        }
    }
}

/// The parameters [`radii`] and [`park_filter`] take, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ParkFilterParams {
    /// A driver home's service radius, metres (default: the deployment's).
    #[param(exclusive_minimum = 0.0, maximum = 500_000.0)]
    radius_driver_home: Option<f64>,
    /// A rest station's service radius, metres.
    #[param(exclusive_minimum = 0.0, maximum = 500_000.0)]
    radius_courier_station: Option<f64>,
    /// A fitness station's service radius, metres.
    #[param(exclusive_minimum = 0.0, maximum = 500_000.0)]
    radius_fitness_station: Option<f64>,
    /// Only parks with at least this many workers.
    #[param(minimum = 0)]
    min_workers: Option<u32>,
    /// A comma list of union statuses: `none`, `partial`, `full`, `unknown`.
    #[param(example = "none,partial")]
    union_status: Option<String>,
    /// Only parks inside `minlon,minlat,maxlon,maxlat`.
    bbox: Option<String>,
    /// Only parks of this city (e.g. 临沂市).
    city: Option<String>,
    /// Only parks of this district.
    district: Option<String>,
}

/// Takes `radius_driver_home`, `radius_courier_station`, `radius_fitness_station`;
/// the deployment's radii (`radius_m` in `waystation.toml`) for the others.
fn radii(p: &mut Params, defaults: Radii) -> Radii {
    let mut r = defaults;
    for l in FacilityLayer::ALL {
        if let Some(v) = radius(p, &format!("radius_{}", l.id())) {
            r[l] = v;
        }
    }
    r
}

/// Takes the park filters: `union_status`, `min_workers`, `bbox`, `city`, `district`.
fn park_filter(p: &mut Params) -> ParkFilter {
    let min_workers = p
        .parsed::<i64>("min_workers", "a whole number")
        .and_then(|v| match u32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                p.problem(
                    "min_workers",
                    format!("must be between 0 and {}, got {v}", u32::MAX),
                );
                None
            }
        });
    ParkFilter {
        union_status: p.list::<UnionStatus>("union_status"),
        min_workers,
        bbox: p.bbox("bbox"),
        city: p.raw("city").map(|s| s.trim().to_owned()),
        district: p.raw("district").map(|s| s.trim().to_owned()),
    }
}

/// Takes a facility layer (default `courier_station`).
fn layer(p: &mut Params, name: &str) -> FacilityLayer {
    one(p, name).unwrap_or(FacilityLayer::ALL[1])
}

fn metres(d: Option<f64>) -> Option<u64> {
    d.map(|d| d.round() as u64)
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Six decimals of a degree: about 0.1 m, and a third shorter than full precision.
fn round_ring(ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
    ring.iter()
        .map(|[x, y]| [round(*x, 6), round(*y, 6)])
        .collect()
}

#[derive(Serialize)]
struct Polygon {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [Vec<[f64; 2]>; 1],
}

#[derive(Serialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
struct Feature<G, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    geometry: G,
    properties: P,
}

fn polygon<P>(id: String, ring: &[[f64; 2]], properties: P) -> Feature<Polygon, P> {
    Feature {
        kind: "Feature",
        id,
        geometry: Polygon {
            kind: "Polygon",
            coordinates: [round_ring(ring)],
        },
        properties,
    }
}

// ---------------------------------------------------------------------------------------
// Park coverage

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    GeoJson,
    Csv,
    Xlsx,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "geojson" => Ok(Format::GeoJson),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(format!("unknown format '{other}' (geojson, csv, xlsx)")),
        }
    }
}

/// What park coverage adds to a park's properties.
#[derive(Serialize)]
struct ParkExtra {
    rank: usize,
    ununionised_enterprises: Option<u32>,
    ununionised_workers: Option<u32>,
    nearest_m: PerLayer<Option<u64>>,
    count_within: PerLayer<u32>,
    radius_m: Radii,
    gap_score: Option<f64>,
}

/// `GET /api/v1/coverage/parks`: every park with its distance to the nearest facility
/// of each layer, the facilities within each layer's radius, and the gap score.
#[utoipa::path(get, path = "/coverage/parks", tag = "coverage",
    summary = "Every park with its distance to each kind of facility and its gap score",
    params(ParkFilterParams,
        ("sort" = Option<String>, Query, description = "gap_score (default), workers, ununionised_workers, enterprises, ununionised_enterprises, name, id, nearest_<layer>"),
        ("order" = Option<String>, Query, description = "asc or desc (default: the sort key's natural order)", pattern = "^(asc|desc)$"),
        ("format" = Option<String>, Query, description = "geojson (default), csv or xlsx (with an about sheet recording the query)", pattern = "^(geojson|csv|xlsx)$"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100000),
        ("offset" = Option<u32>, Query, minimum = 0),
    ),
    responses(
        (status = 200, description = "the parks ranked (GeoJSON; or CSV, XLSX as asked)", body = super::schema::FeatureCollection, content_type = "application/geo+json"),
        (status = 422, description = "too expensive", body = super::schema::Problem, content_type = "application/problem+json"),
        super::schema::ReadErrors,
    ))]
pub async fn parks(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> ApiResult {
    let atlas = state.atlas()?;
    let mut p = Params::parse(query.as_deref())?;
    let radii = radii(&mut p, state.options().radii);
    let filter = park_filter(&mut p);
    let key = one::<SortKey>(&mut p, "sort").unwrap_or(SortKey::GapScore);
    let order = one::<Order>(&mut p, "order").unwrap_or(key.default_order());
    let format = one::<Format>(&mut p, "format").unwrap_or(Format::GeoJson);
    let default_limit = if format == Format::GeoJson {
        DEFAULT_PARK_ROWS
    } else {
        MAX_PARK_ROWS
    };
    let limit = p.integer("limit", 1..=MAX_PARK_ROWS, default_limit);
    let offset = p.integer("offset", 0..=usize::MAX >> 1, 0);
    p.finish()?;

    blocking(move || {
        let scope = export::Scope {
            filter: &filter,
            sort: key.to_string(),
            date: chrono::Utc::now()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive(),
        };
        let mut rows = coverage::parks(&atlas, &filter, &radii);
        coverage::sort(&mut rows, &atlas, key, order);
        let matched = rows.len();
        let page: &[ParkCoverage] = rows.get(offset..).unwrap_or(&[]);
        let page = &page[..page.len().min(limit)];
        Ok(match format {
            Format::GeoJson => {
                let features: Vec<_> = page
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let extra = ParkExtra {
                            rank: offset + i + 1,
                            ununionised_enterprises: r.ununionised_enterprises,
                            ununionised_workers: r.ununionised_workers,
                            nearest_m: PerLayer::from_fn(|l| metres(r.nearest_m[l])),
                            count_within: r.count_within,
                            radius_m: radii,
                            gap_score: r.gap_score.map(|g| round(g, 2)),
                        };
                        geojson::park(atlas.park(r.park), extra)
                    })
                    .collect();
                let bytes = geojson::collection(&features, matched).map_err(ApiError::internal)?;
                body("application/geo+json", bytes)
            }
            Format::Csv => download(
                "text/csv; charset=utf-8",
                &export::file_name("park-coverage", &scope, "csv"),
                export::csv(&atlas, page, &radii, offset + 1).map_err(ApiError::internal)?,
            ),
            Format::Xlsx => download(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &export::file_name("park-coverage", &scope, "xlsx"),
                export::xlsx(&atlas, page, &radii, offset + 1, &scope)
                    .map_err(ApiError::internal)?,
            ),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Grid

#[derive(Serialize)]
struct CellProps<'a> {
    h3: String,
    res: u8,
    parks: u32,
    workers: u64,
    union_members: u64,
    ununionised_workers: u64,
    unionised_share: Option<f64>,
    facilities_driver_home: u32,
    facilities_courier_station: u32,
    facilities_fitness_station: u32,
    layer: &'a str,
    nearest_m: Option<u64>,
}

/// `GET /api/v1/coverage/grid?res=&bbox=&layer=`: H3 cells with what is in them.
#[utoipa::path(get, path = "/coverage/grid", tag = "coverage",
    summary = "H3 cells with their parks, workers, facilities and distance to a layer",
    params(
        ("res" = Option<u8>, Query, description = "H3 resolution (default 6)", minimum = 4, maximum = 8),
        ("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat"),
        ("layer" = Option<String>, Query, description = "the facility layer distances are measured to (default driver_home)"),
    ),
    responses(
        (status = 200, description = "the non-empty cells as GeoJSON polygons", body = super::schema::Object, content_type = "application/geo+json"),
        (status = 422, description = "the answer would hold too many cells (the count is named)", body = super::schema::Problem, content_type = "application/problem+json"),
        super::schema::ReadErrors,
    ))]
pub async fn grid(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> ApiResult {
    let atlas = state.atlas()?;
    let mut p = Params::parse(query.as_deref())?;
    let res = match p.parsed::<i64>("res", "a whole number") {
        None => GridResolution::new(6).ok(),
        Some(r) => match GridResolution::new(r) {
            Ok(r) => Some(r),
            Err(e) => {
                p.problem("res", e.to_string());
                None
            }
        },
    };
    let bbox = p.bbox("bbox");
    let layer = layer(&mut p, "layer");
    p.finish()?;
    let res = res.ok_or_else(|| ApiError::internal("resolution missing without a problem"))?;

    blocking(move || {
        let cells =
            grid::grid(&atlas, res, bbox.as_ref(), layer, MAX_GRID_CELLS).map_err(|cells| {
                let coarser = res.number().saturating_sub(1).max(GridResolution::MIN);
                ApiError::TooExpensive(format!(
                    "{} holds {cells} non-empty H3 cells at res={}; one answer holds at most \
                     {MAX_GRID_CELLS}: give a smaller bbox or use res={coarser}",
                    if bbox.is_some() {
                        "the bbox"
                    } else {
                        "the whole data (no bbox given)"
                    },
                    res.number(),
                ))
            })?;
        let features: Vec<_> = cells
            .iter()
            .map(|c: &GridCell| {
                let h3 = c.cell.to_string();
                let f = |i: usize| c.facilities[FacilityLayer::ALL[i]];
                let props = CellProps {
                    h3: h3.clone(),
                    res: res.number(),
                    parks: c.parks,
                    workers: c.workers,
                    union_members: c.union_members,
                    ununionised_workers: c.ununionised_workers,
                    unionised_share: c.unionised_share().map(|s| round(s, 4)),
                    facilities_driver_home: f(0),
                    facilities_courier_station: f(1),
                    facilities_fitness_station: f(2),
                    layer: layer.id(),
                    nearest_m: metres(c.nearest_m),
                };
                polygon(h3, &c.ring(), props)
            })
            .collect();
        let bytes = geojson::collection(&features, features.len()).map_err(ApiError::internal)?;
        Ok(body("application/geo+json", bytes))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Catchments

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ring,
    Voronoi,
    Both,
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ring" => Ok(Kind::Ring),
            "voronoi" => Ok(Kind::Voronoi),
            "both" => Ok(Kind::Both),
            other => Err(format!("unknown kind '{other}' (ring, voronoi, both)")),
        }
    }
}

#[derive(Serialize)]
struct CatchmentProps<'a> {
    facility_id: &'a str,
    name: &'a str,
    layer: &'static str,
    kind: &'static str,
    radius_m: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cut_by: Option<u32>,
    synthetic: bool,
}

/// `GET /api/v1/coverage/catchments?layer=&bbox=&radius_m=&kind=`: each facility's
/// radius ring and its Voronoi cell clipped to the radius.
#[utoipa::path(get, path = "/coverage/catchments", tag = "coverage",
    summary = "Each facility's radius ring and its Voronoi cell clipped to the radius",
    params(
        ("layer" = Option<String>, Query, description = "a facility layer (default driver_home)"),
        ("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat"),
        ("radius_m" = Option<f64>, Query, description = "the radius, metres (default: the layer's)", exclusive_minimum = 0.0, maximum = 500000.0),
        ("kind" = Option<String>, Query, description = "ring, voronoi or both (default)", pattern = "^(ring|voronoi|both)$"),
    ),
    responses(
        (status = 200, description = "rings and cells as GeoJSON polygons", body = super::schema::Object, content_type = "application/geo+json"),
        (status = 422, description = "too many facilities in the box", body = super::schema::Problem, content_type = "application/problem+json"),
        super::schema::ReadErrors,
    ))]
pub async fn catchments(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let atlas = state.atlas()?;
    let mut p = Params::parse(query.as_deref())?;
    let layer = layer(&mut p, "layer");
    let bbox = p.bbox("bbox");
    let r = radius(&mut p, "radius_m").unwrap_or(state.options().radii[layer]);
    let kind = one::<Kind>(&mut p, "kind").unwrap_or(Kind::Both);
    p.finish()?;

    let ids = match &bbox {
        Some(b) => atlas.in_bbox(layer.layer(), b),
        None => atlas.all_in_layer(layer.layer()),
    };
    if ids.len() > MAX_CATCHMENT_FACILITIES {
        return Err(ApiError::TooExpensive(format!(
            "{} {} facilities lie in {}; one catchment request covers at most \
             {MAX_CATCHMENT_FACILITIES}: give a smaller bbox",
            ids.len(),
            layer.id(),
            if bbox.is_some() {
                "the bbox"
            } else {
                "the whole data (no bbox given)"
            },
        )));
    }

    blocking(move || {
        let cs = catchments::catchments(&atlas, layer, &ids, r);
        let mut features = Vec::with_capacity(cs.len() * 2);
        for c in &cs {
            let f = atlas.facility(c.facility);
            let props = |kind: &'static str, cut_by: Option<u32>| CatchmentProps {
                facility_id: f.id(),
                name: f.name(),
                layer: layer.id(),
                kind,
                radius_m: r.metres(),
                cut_by,
                synthetic: f.provenance.synthetic,
            };
            let Catchment {
                ring, cell, cut_by, ..
            } = c;
            if kind != Kind::Voronoi {
                features.push(polygon(
                    format!("ring:{}", f.id()),
                    ring,
                    props("ring", None),
                ));
            }
            if kind != Kind::Ring {
                let id = format!("voronoi:{}", f.id());
                features.push(polygon(id, cell, props("voronoi", Some(*cut_by))));
            }
        }
        let bytes = geojson::collection(&features, features.len()).map_err(ApiError::internal)?;
        Ok(body("application/geo+json", bytes))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Summary

#[derive(Clone, Copy, PartialEq, Eq)]
enum SummaryFormat {
    Json,
    Csv,
}

impl FromStr for SummaryFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(SummaryFormat::Json),
            "csv" => Ok(SummaryFormat::Csv),
            other => Err(format!("unknown format '{other}' (json, csv)")),
        }
    }
}

fn share(s: Option<f64>) -> Option<f64> {
    s.map(|s| round(s, 4))
}

fn group_json(g: &Group) -> Value {
    json!({
        "city": g.city.as_deref(),
        "district": g.district.as_deref(),
        "parks": g.parks,
        "enterprises": g.enterprises,
        "unionised_enterprises": g.unionised_enterprises,
        "unionised_enterprise_share": share(g.unionised_enterprise_share()),
        "workers": g.workers,
        "union_members": g.union_members,
        "unionised_worker_share": share(g.unionised_worker_share()),
        "ununionised_workers": g.ununionised_workers(),
        "facilities": g.facilities,
        "parks_within": g.parks_within,
        "parks_within_share": PerLayer::from_fn(|l| share(g.parks_within_share(l))),
        "workers_within": g.workers_within,
        "workers_within_share": PerLayer::from_fn(|l| share(g.workers_within_share(l))),
    })
}

fn summary_csv(groups: &[&Group]) -> Result<Vec<u8>, csv::Error> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let mut header: Vec<String> = [
            "city",
            "district",
            "parks",
            "enterprises",
            "unionised_enterprises",
            "unionised_enterprise_share",
            "workers",
            "union_members",
            "unionised_worker_share",
            "ununionised_workers",
        ]
        .map(str::to_owned)
        .to_vec();
        for what in ["facilities", "parks_within_share", "workers_within_share"] {
            header.extend(FacilityLayer::ALL.map(|l| format!("{what}_{}", l.id())));
        }
        w.write_record(&header)?;
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| round(v, 4).to_string());
        for g in groups {
            let mut rec = vec![
                g.city.as_deref().unwrap_or("").to_owned(),
                g.district.as_deref().unwrap_or("").to_owned(),
                g.parks.to_string(),
                g.enterprises.to_string(),
                g.unionised_enterprises.to_string(),
                opt(g.unionised_enterprise_share()),
                g.workers.to_string(),
                g.union_members.to_string(),
                opt(g.unionised_worker_share()),
                g.ununionised_workers().to_string(),
            ];
            rec.extend(FacilityLayer::ALL.map(|l| g.facilities[l].to_string()));
            rec.extend(FacilityLayer::ALL.map(|l| opt(g.parks_within_share(l))));
            rec.extend(FacilityLayer::ALL.map(|l| opt(g.workers_within_share(l))));
            w.write_record(&rec)?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// `GET /api/v1/coverage/summary?group_by=city|district|all`: totals and shares.
#[utoipa::path(get, path = "/coverage/summary", tag = "coverage",
    summary = "Totals and shares of covered parks and workers per city or district",
    params(ParkFilterParams,
        ("group_by" = Option<String>, Query, description = "city (default), district or all", pattern = "^(city|district|all)$"),
        ("format" = Option<String>, Query, description = "json (default) or csv", pattern = "^(json|csv)$"),
    ),
    responses(
        (status = 200, description = "the groups with their totals", body = super::schema::Object),
        super::schema::ReadErrors,
    ))]
pub async fn summary(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> ApiResult {
    let atlas = state.atlas()?;
    let mut p = Params::parse(query.as_deref())?;
    let group_by = one::<GroupBy>(&mut p, "group_by").unwrap_or(GroupBy::City);
    let radii = radii(&mut p, state.options().radii);
    let filter = park_filter(&mut p);
    let format = one::<SummaryFormat>(&mut p, "format").unwrap_or(SummaryFormat::Json);
    p.finish()?;

    blocking(move || {
        let rows = coverage::parks(&atlas, &filter, &radii);
        let s = summary::summarise(&atlas, &rows, &radii, group_by, &filter);
        Ok(match format {
            SummaryFormat::Json => {
                let v = json!({
                    "group_by": match group_by {
                        GroupBy::All => "all",
                        GroupBy::City => "city",
                        GroupBy::District => "district",
                    },
                    "radius_m": radii,
                    "total": group_json(&s.total),
                    "groups": s.groups.iter().map(group_json).collect::<Vec<_>>(),
                });
                body(
                    "application/json",
                    serde_json::to_vec(&v).map_err(ApiError::internal)?,
                )
            }
            SummaryFormat::Csv => {
                let mut all: Vec<&Group> = s.groups.iter().collect();
                if group_by != GroupBy::All {
                    all.push(&s.total);
                }
                let bytes = summary_csv(&all).map_err(ApiError::internal)?;
                download("text/csv; charset=utf-8", "coverage-summary.csv", bytes)
            }
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Siting

/// A JSON body whose rejections (malformed JSON, wrong content type, too large) become
/// our problem+json, naming `body`.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<Value>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge(super::MAX_SITING_BYTES))
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
    description = "A JSON object: `layer`, `p`, `radius_m`, `weight` (workers or parks), `bbox`, `city`, `district`, `union_status`, `min_workers`, and optionally `candidates` (a GeoJSON FeatureCollection of points; default: a grid over the demand). Up to 32 MB.",
    request_body(content = super::schema::Object, content_type = "application/json"),
    responses(
        (status = 200, description = "the chosen sites in order with what each adds", body = super::schema::Object),
        (status = 413, description = "a body over 32 MB", body = super::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "too many candidates or demand points", body = super::schema::Problem, content_type = "application/problem+json"),
        super::schema::ReadErrors,
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
