//! `GET /api/v1/coverage/grid`: the non-empty H3 cells with their parks, workers,
//! facilities and distance to a layer.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use serde::Serialize;

use super::super::params::Params;
use super::super::problem::ApiError;
use super::super::{AppState, geojson};
use super::{ApiResult, MAX_GRID_CELLS, blocking, body, layer, metres, polygon, round};
use crate::coverage::FacilityLayer;
use crate::coverage::grid::{self, GridCell, GridResolution};

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
        (status = 200, description = "the non-empty cells as GeoJSON polygons", body = crate::http::schema::Object, content_type = "application/geo+json"),
        (status = 422, description = "the answer would hold too many cells (the count is named)", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
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
