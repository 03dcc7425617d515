//! The planners' routes: park coverage, the H3 grid, catchments, summaries, siting,
//! one file each; this module holds what they share (parameters, limits, GeoJSON
//! polygons, download answers).
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

pub mod catchments;
pub mod grid;
pub mod parks;
pub mod siting;
pub mod summary;

use std::str::FromStr;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::params::Params;
use super::problem::ApiError;
use crate::coverage::{FacilityLayer, ParkFilter, PerLayer, Radii, Radius, export};
use crate::index::BBox;
use crate::model::UnionStatus;

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
pub(super) async fn blocking<T: Send + 'static>(
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

/// The parameters [`ParkScope`] takes, for the OpenAPI document.
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
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4_294_967_295_u64)]
    min_workers: Option<u32>,
    /// A comma list of union statuses: `none`, `partial`, `full`.
    #[param(example = "none,partial")]
    union_status: Option<String>,
    /// Only parks inside `minlon,minlat,maxlon,maxlat`.
    bbox: Option<String>,
    /// Only parks of this city (e.g. 临沂市).
    city: Option<String>,
    /// Only parks of this district.
    district: Option<String>,
}

/// Which parks an answer is about and the radii it measures with: the part of the
/// `/coverage/parks` and `/coverage/summary` queries documented by
/// [`ParkFilterParams`].
pub struct ParkScope {
    /// `radius_driver_home`, `radius_courier_station`, `radius_fitness_station`, when given.
    radii: PerLayer<Option<Radius>>,
    /// `union_status`, `min_workers`, `bbox`, `city`, `district`.
    filter: ParkFilter,
}

impl ParkScope {
    fn take(p: &mut Params) -> Self {
        let mut radii = PerLayer::<Option<Radius>>::default();
        for l in FacilityLayer::ALL {
            radii[l] = radius(p, &format!("radius_{}", l.id()));
        }
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
        let filter = ParkFilter {
            union_status: p.list::<UnionStatus>("union_status"),
            min_workers,
            bbox: p.bbox("bbox"),
            city: p.raw("city").map(|s| s.trim().to_owned()),
            district: p.raw("district").map(|s| s.trim().to_owned()),
        };
        ParkScope { radii, filter }
    }

    /// The radii asked for, the deployment's (`radius_m` in `waystation.toml`) for the
    /// others.
    fn radii(&self, defaults: Radii) -> Radii {
        let mut r = defaults;
        for l in FacilityLayer::ALL {
            if let Some(v) = self.radii[l] {
                r[l] = v;
            }
        }
        r
    }
}

/// What a request covers, for the "too expensive" answers.
fn scope(bbox: Option<&BBox>) -> &'static str {
    if bbox.is_some() {
        "the bbox"
    } else {
        "the whole data (no bbox given)"
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
