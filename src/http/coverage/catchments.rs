//! `GET /api/v1/coverage/catchments`: each facility's radius ring and its Voronoi cell
//! clipped to the radius.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::IntoParams;

use super::super::params::{FromParams, Params, Query};
use super::super::problem::ApiError;
use super::super::{AppState, geojson};
use super::{
    ApiResult, MAX_CATCHMENT_FACILITIES, blocking, body, layer, one, polygon, radius, scope,
};
use crate::coverage::catchments::{self, Catchment};
use crate::coverage::{FacilityLayer, Radius};
use crate::index::BBox;

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

/// The query of `GET /api/v1/coverage/catchments`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatchmentsQuery {
    /// A facility layer (default courier_station).
    #[param(value_type = Option<String>)]
    layer: FacilityLayer,
    /// Only the facilities inside `minlon,minlat,maxlon,maxlat`.
    #[param(value_type = Option<String>)]
    bbox: Option<BBox>,
    /// The radius, metres (default: the layer's service radius).
    #[param(value_type = Option<f64>, exclusive_minimum = 0.0, maximum = 500_000.0)]
    radius_m: Option<Radius>,
    /// `ring`, `voronoi` or `both` (default).
    #[param(value_type = Option<String>, pattern = "^(ring|voronoi|both)$")]
    kind: Kind,
}

impl FromParams for CatchmentsQuery {
    fn from_params(p: &mut Params) -> Option<Self> {
        Some(CatchmentsQuery {
            layer: layer(p, "layer"),
            bbox: p.bbox("bbox"),
            radius_m: radius(p, "radius_m"),
            kind: one::<Kind>(p, "kind").unwrap_or(Kind::Both),
        })
    }
}

/// `GET /api/v1/coverage/catchments?layer=&bbox=&radius_m=&kind=`: each facility's
/// radius ring and its Voronoi cell clipped to the radius.
#[utoipa::path(get, path = "/coverage/catchments", tag = "coverage",
    summary = "Each facility's radius ring and its Voronoi cell clipped to the radius",
    params(CatchmentsQuery),
    responses(
        (status = 200, description = "rings and cells as GeoJSON polygons", body = crate::http::schema::Object, content_type = "application/geo+json"),
        (status = 422, description = "too many facilities in the box", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
    ))]
pub async fn catchments(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CatchmentsQuery>,
) -> ApiResult {
    let atlas = state.atlas()?;
    let CatchmentsQuery {
        layer,
        bbox,
        radius_m,
        kind,
    } = q;
    let r = radius_m.unwrap_or(state.options().radii[layer]);

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
            scope(bbox.as_ref()),
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
