//! Query-string parsing into typed values, naming the parameter at fault.
//!
//! Every parameter is taken out once by name; whatever is left at the end is an
//! unknown parameter (a typo like `lng=` must not be silently ignored). All problems
//! of one request are reported together.
//!
//! A route's query is a type: a struct implementing [`FromParams`] (its fields are
//! the parameters, documented for the OpenAPI document by `utoipa::IntoParams`), taken
//! by the [`Query`] extractor, which answers 400 with every bad parameter named.
//!
//! # One order of checks
//! Every route refuses a request for the most basic fault first:
//! 1. the path names nothing: 404 ([`LayerPath`]: a layer id is known without the
//!    data; [`FeatureId`]: a feature id, once the data is loaded);
//! 2. a bad or unknown parameter, or a bad body: 400, every one named;
//! 3. the data is still loading: 503 (`AppState::atlas`);
//! 4. then what the route itself refuses (422 too expensive, …).
//!
//! axum runs extractors in the order of the handler's arguments, so a handler takes
//! its path before its [`Query`] or body, and asks for the data in its body.

use std::str::FromStr;

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

use super::AppState;
use super::problem::{ApiError, InvalidParam};
use crate::index::BBox;
use crate::model::{Layer, LayerSet, LonLat, UnknownLayer};

/// The parameters of one request, consumed by name.
pub struct Params {
    pairs: Vec<(String, String)>,
    problems: Vec<InvalidParam>,
}

impl Params {
    /// Refuses every parameter of a raw query string (for routes that take none and
    /// check it after something else, e.g. the token).
    pub fn none(raw: Option<&str>) -> Result<(), ApiError> {
        Params::parse(raw)?.finish()
    }

    /// Splits a raw query string (`None` when there is none).
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::param("query", format!("malformed query string: {e}")))?;
        Ok(Params {
            pairs,
            problems: Vec::new(),
        })
    }

    /// Records a problem with a parameter.
    pub fn problem(&mut self, name: &str, reason: impl Into<String>) {
        self.problems.push(InvalidParam::new(name, reason));
    }

    /// Whether a problem with `name` is recorded already.
    pub fn has_problem(&self, name: &str) -> bool {
        self.problems.iter().any(|p| p.name == name)
    }

    /// Takes the raw value of `name`; an empty value is a problem.
    pub fn raw(&mut self, name: &str) -> Option<String> {
        let mut found: Vec<String> = Vec::new();
        self.pairs.retain(|(k, v)| {
            if k == name {
                found.push(v.clone());
                false
            } else {
                true
            }
        });
        if found.len() > 1 {
            self.problem(name, "given more than once");
        }
        let value = found.into_iter().next()?;
        if value.trim().is_empty() {
            // One rule everywhere: a mistyped value is refused, not defaulted.
            self.problem(name, "is empty: give a value, or leave the parameter out");
            return None;
        }
        Some(value)
    }

    /// Takes a value parsed with `FromStr`.
    pub fn parsed<T: FromStr>(&mut self, name: &str, what: &str) -> Option<T> {
        let raw = self.raw(name)?;
        match raw.trim().parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(name, format!("'{raw}' is not {what}"));
                None
            }
        }
    }

    /// Takes a finite number.
    pub fn number(&mut self, name: &str) -> Option<f64> {
        let v: f64 = self.parsed(name, "a number")?;
        if v.is_finite() {
            Some(v)
        } else {
            self.problem(name, "must be a finite number (not NaN or infinity)");
            None
        }
    }

    /// Takes a whole number within `range`, or `default` when absent.
    pub fn integer(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<usize>,
        default: usize,
    ) -> usize {
        let Some(v) = self.parsed::<i64>(name, "a whole number") else {
            return default;
        };
        match usize::try_from(v) {
            Ok(v) if range.contains(&v) => v,
            _ => {
                self.problem(
                    name,
                    format!(
                        "must be between {} and {}, got {v}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    /// Takes a positive number of metres.
    pub fn metres(&mut self, name: &str) -> Option<f64> {
        let v = self.number(name)?;
        if v > 0.0 {
            Some(v)
        } else {
            self.problem(name, format!("must be more than 0 metres, got {v}"));
            None
        }
    }

    /// Takes `true` or `false`, `default` when absent.
    pub fn flag(&mut self, name: &str, default: bool) -> bool {
        match self.raw(name).as_deref().map(str::trim) {
            None => default,
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                self.problem(name, format!("'{other}' is not true or false"));
                default
            }
        }
    }

    /// Takes a comma-separated list, each item parsed with `FromStr`.
    pub fn list<T: FromStr>(&mut self, name: &str) -> Option<Vec<T>>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.raw(name)?;
        let mut out = Vec::new();
        for item in raw.split(',').map(str::trim) {
            if item.is_empty() {
                self.problem(name, "has an empty item");
                continue;
            }
            match item.parse::<T>() {
                Ok(v) => out.push(v),
                Err(e) => self.problem(name, e.to_string()),
            }
        }
        Some(out)
    }

    /// Takes a comma list of facility layers (all of them when absent); naming `park`
    /// is a problem, explained by `park_hint`.
    pub fn facility_layers(&mut self, name: &str, park_hint: &str) -> LayerSet {
        match self.list::<Layer>(name) {
            Some(list) => {
                if list.contains(&Layer::Park) {
                    self.problem(name, park_hint);
                }
                list.into_iter().filter(|l| l.is_facility()).collect()
            }
            None => LayerSet::facilities(),
        }
    }

    /// Takes `lon` and `lat` (both required), naming swapped or out-of-range values.
    pub fn lon_lat(&mut self) -> Option<LonLat> {
        let lon = self.number("lon");
        let lat = self.number("lat");
        let missing = |p: &mut Self, n: &str| p.problem(n, "is required (WGS-84 degrees)");
        if !self.problems.iter().any(|p| p.name == "lon") && lon.is_none() {
            missing(self, "lon");
        }
        if !self.problems.iter().any(|p| p.name == "lat") && lat.is_none() {
            missing(self, "lat");
        }
        match LonLat::new(lon?, lat?) {
            Ok(p) => Some(p),
            Err(e) => {
                self.problem(e.axis(), e.to_string());
                None
            }
        }
    }

    /// Takes `bbox=minlon,minlat,maxlon,maxlat` (minlon > maxlon crosses the antimeridian).
    pub fn bbox(&mut self, name: &str) -> Option<BBox> {
        let raw = self.raw(name)?;
        let nums: Vec<Option<f64>> = raw
            .split(',')
            .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect();
        let [Some(min_lon), Some(min_lat), Some(max_lon), Some(max_lat)] = nums[..] else {
            self.problem(
                name,
                format!("'{raw}' is not four finite numbers minlon,minlat,maxlon,maxlat"),
            );
            return None;
        };
        let corners = LonLat::new(min_lon, min_lat).and_then(|_| LonLat::new(max_lon, max_lat));
        if let Err(e) = corners {
            self.problem(name, e.to_string());
            return None;
        }
        if min_lat > max_lat {
            self.problem(
                name,
                format!("minlat {min_lat} is north of maxlat {max_lat}"),
            );
            return None;
        }
        Some(BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    /// Takes an RFC 3339 instant.
    pub fn instant(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let raw = self.raw(name)?;
        match DateTime::parse_from_rfc3339(raw.trim()) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                self.problem(
                    name,
                    format!("'{raw}' is not an RFC 3339 time such as 2026-11-23T20:00:00+08:00"),
                );
                None
            }
        }
    }

    /// Ends parsing: unknown parameters and every problem so far become one error.
    pub fn finish(mut self) -> Result<(), ApiError> {
        for (k, _) in std::mem::take(&mut self.pairs) {
            self.problem(&k, "unknown parameter");
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidParams(self.problems))
        }
    }
}

/// A query type: its parameters taken out of [`Params`]. `None` only when a problem
/// was recorded (a required parameter missing or bad).
pub trait FromParams: Sized {
    /// Takes this type's parameters; problems are recorded in `p`.
    fn from_params(p: &mut Params) -> Option<Self>;
}

/// Extracts a [`FromParams`] query, refusing unknown and bad parameters (400, all named).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: FromParams> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut p = Params::parse(parts.uri.query())?;
        let value = T::from_params(&mut p);
        p.finish()?;
        value
            .map(Query)
            .ok_or_else(|| ApiError::Internal("a parameter was refused without a reason".into()))
    }
}

/// A query that takes no parameter: any one given is refused as unknown.
pub struct NoParams;

impl FromParams for NoParams {
    fn from_params(_: &mut Params) -> Option<Self> {
        Some(NoParams)
    }
}

/// A path segment that is not UTF-8 or does not parse: 400 naming `path`.
fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::param("path", rejection.body_text())
}

/// The `{layer}` of a path: an unknown layer is 404, before any other check.
pub struct LayerPath(pub Layer);

impl<S: Send + Sync> FromRequestParts<S> for LayerPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(path_error)?;
        raw.parse()
            .map(LayerPath)
            .map_err(|e: UnknownLayer| ApiError::NotFound(e.to_string()))
    }
}

/// The `{id}` of a feature's path: once the data is loaded, an id that names no
/// feature is 404 before any other check (while it loads, the route's 400 and 503
/// come first: whether the id exists is not known yet).
pub struct FeatureId(pub String);

impl FromRequestParts<Arc<AppState>> for FeatureId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(path_error)?;
        match state.atlas.load_full() {
            Some(atlas) if atlas.get(&id).is_none() => {
                Err(ApiError::NotFound(format!("no feature with id '{id}'")))
            }
            _ => Ok(FeatureId(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(q: &str, f: impl FnOnce(&mut Params)) -> Vec<String> {
        let mut p = Params::parse(Some(q)).unwrap();
        f(&mut p);
        match p.finish() {
            Ok(()) => vec![],
            Err(ApiError::InvalidParams(v)) => v.into_iter().map(|p| p.name).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn names_each_bad_parameter() {
        assert_eq!(
            problems("lon=NaN&lat=39", |p| {
                p.lon_lat();
            }),
            ["lon"]
        );
        assert_eq!(
            problems("lat=39", |p| {
                p.lon_lat();
            }),
            ["lon"]
        );
        assert_eq!(
            problems("lon=39.9&lat=116.4", |p| {
                p.lon_lat();
            }),
            ["lat"]
        );
        assert_eq!(
            problems("lon=1&lat=2&lng=3", |p| {
                p.lon_lat();
            }),
            ["lng"]
        );
        assert_eq!(
            problems("k=0", |p| {
                p.integer("k", 1..=100, 5);
            }),
            ["k"]
        );
        assert_eq!(
            problems("k=2.5", |p| {
                p.integer("k", 1..=100, 5);
            }),
            ["k"]
        );
        assert_eq!(
            problems("bbox=1,2,3", |p| {
                p.bbox("bbox");
            }),
            ["bbox"]
        );
        assert_eq!(
            problems("bbox=1,50,3,40", |p| {
                p.bbox("bbox");
            }),
            ["bbox"]
        );
        assert_eq!(
            problems("x=1&x=2", |p| {
                p.raw("x");
            }),
            ["x"]
        );
        assert!(
            problems("lon=116&lat=39.9", |p| {
                p.lon_lat();
            })
            .is_empty()
        );
    }
}
