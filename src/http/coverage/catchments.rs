//! `GET /api/v1/coverage/catchments`: each facility's radius ring and its Voronoi cell
//! clipped to the radius.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use serde::Serialize;

use super::super::params::Params;
use super::super::problem::ApiError;
use super::super::{AppState, geojson};
use super::{ApiResult, MAX_CATCHMENT_FACILITIES, blocking, body, layer, one, polygon, radius};
use crate::coverage::catchments::{self, Catchment};

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
        (status = 200, description = "rings and cells as GeoJSON polygons", body = crate::http::schema::Object, content_type = "application/geo+json"),
        (status = 422, description = "too many facilities in the box", body = crate::http::schema::Problem, content_type = "application/problem+json"),
        crate::http::schema::ReadErrors,
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
