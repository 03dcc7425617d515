//! `GET /api/v1/coverage/summary`: totals and shares per city or district (JSON, CSV).

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::State;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::super::AppState;
use super::super::params::{FromParams, Params, Query};
use super::super::problem::ApiError;
use super::{ApiResult, ParkFilterParams, ParkScope, blocking, body, download, one, round};
use crate::coverage::summary::{self, Group, GroupBy};
use crate::coverage::{self, FacilityLayer, PerLayer};

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

/// The query of `GET /api/v1/coverage/summary` (with [`ParkFilterParams`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    #[param(ignore)]
    scope: ParkScope,
    /// `city` (default), `district` or `all`.
    #[param(value_type = Option<String>, pattern = "^(city|district|all)$")]
    group_by: GroupBy,
    /// `json` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(json|csv)$")]
    format: SummaryFormat,
}

impl FromParams for SummaryQuery {
    fn from_params(p: &mut Params) -> Option<Self> {
        let group_by = one::<GroupBy>(p, "group_by").unwrap_or(GroupBy::City);
        Some(SummaryQuery {
            scope: ParkScope::take(p),
            group_by,
            format: one::<SummaryFormat>(p, "format").unwrap_or(SummaryFormat::Json),
        })
    }
}

/// `GET /api/v1/coverage/summary?group_by=city|district|all`: totals and shares.
#[utoipa::path(get, path = "/coverage/summary", tag = "coverage",
    summary = "Totals and shares of covered parks and workers per city or district",
    params(ParkFilterParams, SummaryQuery),
    responses(
        (status = 200, description = "the groups with their totals (JSON; or CSV with `format=csv`)", content(
            (crate::http::schema::Object = "application/json"),
            (crate::http::schema::Binary = "text/csv"),
        )),
        crate::http::schema::ReadErrors,
    ))]
pub async fn summary(
    State(state): State<Arc<AppState>>,
    Query(q): Query<SummaryQuery>,
) -> ApiResult {
    let atlas = state.atlas()?;
    let radii = q.scope.radii(state.options().radii);
    let SummaryQuery {
        scope: ParkScope { filter, .. },
        group_by,
        format,
    } = q;

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
