//! `GET /api/v1/coverage/parks`: every park with its distance to each kind of facility,
//! the facilities within each radius, and its gap score (GeoJSON, CSV, XLSX).

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use serde::Serialize;

use super::super::params::Params;
use super::super::problem::ApiError;
use super::super::{AppState, geojson};
use super::{
    ApiResult, DEFAULT_PARK_ROWS, MAX_PARK_ROWS, ParkFilterParams, blocking, body, download,
    metres, one, park_filter, radii, round,
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
        (status = 200, description = "the parks ranked (GeoJSON; or CSV, XLSX as asked)", body = crate::http::schema::FeatureCollection, content_type = "application/geo+json"),
        (status = 422, description = "too expensive", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
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
