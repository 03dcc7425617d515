//! `GET /api/v1/coverage/parks`: every park with its distance to each kind of facility,
//! the facilities within each radius, and its gap score (GeoJSON, CSV, XLSX).

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::IntoParams;

use super::super::params::{FromParams, Params, Query};
use super::super::problem::ApiError;
use super::super::{AppState, geojson};
use super::{
    ApiResult, DEFAULT_PARK_ROWS, MAX_PARK_ROWS, ParkFilterParams, ParkScope, blocking, body,
    download, metres, one, round,
};
use crate::coverage::{self, Order, ParkCoverage, PerLayer, Radii, SortKey, export};

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

/// The query of `GET /api/v1/coverage/parks` (with [`ParkFilterParams`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParksQuery {
    #[param(ignore)]
    scope: ParkScope,
    /// gap_score (default), workers, ununionised_workers, enterprises,
    /// ununionised_enterprises, name, id, nearest_<layer>.
    #[param(value_type = Option<String>, pattern = "^(gap_score|workers|ununionised_workers|enterprises|ununionised_enterprises|name|id|nearest_(driver_home|courier_station|fitness_station))$")]
    sort: SortKey,
    /// `asc` or `desc` (default: the sort key's natural order).
    #[param(value_type = Option<String>, pattern = "^(asc|desc)$")]
    order: Order,
    /// `geojson` (default), `csv` or `xlsx` (with an about sheet recording the query).
    #[param(value_type = Option<String>, pattern = "^(geojson|csv|xlsx)$")]
    format: Format,
    /// At most this many parks (default 1,000 as GeoJSON, all up to 100,000 as files).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100_000)]
    limit: usize,
    /// Skip this many first (paging).
    #[param(value_type = Option<u64>, minimum = 0)]
    offset: usize,
}

impl FromParams for ParksQuery {
    fn from_params(p: &mut Params) -> Option<Self> {
        let scope = ParkScope::take(p);
        let sort = one::<SortKey>(p, "sort").unwrap_or(SortKey::GapScore);
        let order = one::<Order>(p, "order").unwrap_or(sort.default_order());
        let format = one::<Format>(p, "format").unwrap_or(Format::GeoJson);
        let default_limit = if format == Format::GeoJson {
            DEFAULT_PARK_ROWS
        } else {
            MAX_PARK_ROWS
        };
        Some(ParksQuery {
            scope,
            sort,
            order,
            format,
            limit: p.integer("limit", 1..=MAX_PARK_ROWS, default_limit),
            offset: p.integer("offset", 0..=usize::MAX >> 1, 0),
        })
    }
}

/// `GET /api/v1/coverage/parks`: every park with its distance to the nearest facility
/// of each layer, the facilities within each layer's radius, and the gap score.
#[utoipa::path(get, path = "/coverage/parks", tag = "coverage",
    summary = "Every park with its distance to each kind of facility and its gap score",
    params(ParkFilterParams, ParksQuery),
    responses(
        (status = 200, description = "the parks ranked (GeoJSON; or CSV, XLSX with `format`)", content(
            (crate::http::schema::FeatureCollection = "application/geo+json"),
            (crate::http::schema::Binary = "text/csv"),
            (crate::http::schema::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "too expensive", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
    ))]
pub async fn parks(State(state): State<Arc<AppState>>, Query(q): Query<ParksQuery>) -> ApiResult {
    let atlas = state.atlas()?;
    let radii = q.scope.radii(state.options().radii);
    let ParksQuery {
        scope: ParkScope { filter, .. },
        sort: key,
        order,
        format,
        limit,
        offset,
    } = q;

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
