//! `GET /api/v1/coverage/grid`: the non-empty H3 cells with their parks, workers,
//! facilities and distance to a layer.

use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::IntoParams;

use super::super::params::{FromParams, Params, Query};
use super::super::problem::ApiError;
use super::super::{AppState, geojson};
use super::{ApiResult, MAX_GRID_CELLS, blocking, body, layer, metres, polygon, round, scope};
use crate::coverage::FacilityLayer;
use crate::coverage::grid::{self, GridCell, GridResolution};
use crate::index::BBox;

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

/// The query of `GET /api/v1/coverage/grid`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GridQuery {
    /// The H3 resolution.
    #[param(value_type = Option<u8>, minimum = 4, maximum = 8, default = 6)]
    res: GridResolution,
    /// Only what lies inside `minlon,minlat,maxlon,maxlat`.
    #[param(value_type = Option<String>)]
    bbox: Option<BBox>,
    /// The facility layer distances are measured to (default courier_station).
    #[param(value_type = Option<String>)]
    layer: FacilityLayer,
}

impl FromParams for GridQuery {
    fn from_params(p: &mut Params) -> Option<Self> {
        let res = match p.parsed::<i64>("res", "a whole number") {
            None if p.has_problem("res") => None,
            None => GridResolution::new(6).ok(),
            Some(r) => GridResolution::new(r)
                .map_err(|e| p.problem("res", e.to_string()))
                .ok(),
        };
        let bbox = p.bbox("bbox");
        let layer = layer(p, "layer");
        Some(GridQuery {
            res: res?,
            bbox,
            layer,
        })
    }
}

/// `GET /api/v1/coverage/grid?res=&bbox=&layer=`: H3 cells with what is in them.
#[utoipa::path(get, path = "/coverage/grid", tag = "coverage",
    summary = "H3 cells with their parks, workers, facilities and distance to a layer",
    params(GridQuery),
    responses(
        (status = 200, description = "the non-empty cells as GeoJSON polygons", body = crate::http::schema::Object, content_type = "application/geo+json"),
        (status = 422, description = "the answer would hold too many cells (the count is named)", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
    ))]
pub async fn grid(
    State(state): State<Arc<AppState>>,
    Query(GridQuery { res, bbox, layer }): Query<GridQuery>,
) -> ApiResult {
    let atlas = state.atlas()?;
    blocking(move || {
        let cells =
            grid::grid(&atlas, res, bbox.as_ref(), layer, MAX_GRID_CELLS).map_err(|cells| {
                let coarser = res.number().saturating_sub(1).max(GridResolution::MIN);
                ApiError::TooExpensive(format!(
                    "{} holds {cells} non-empty H3 cells at res={}; one answer holds at most \
                     {MAX_GRID_CELLS}: give a smaller bbox or use res={coarser}",
                    scope(bbox.as_ref()),
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
