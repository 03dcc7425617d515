//! Imports: a sheet read and converted by [`crate::import`], each row matched to
//! a stored feature (by `id`, else by the same layer and name within 100 m),
//! validated, and the accepted rows applied in one transaction with a row report.
//!
//! Importing the same sheet twice changes nothing the second time: a matched row
//! whose properties and position equal the stored ones (leaving `updated` aside)
//! is `unchanged`.

use serde::Serialize;
use serde_json::Value;

use super::Registry;
use super::edit::{EditError, new_id, prepare};
use crate::geodata::{FeatureRef, validate_feature};
use crate::import::{self, Format, Options, RowOutcome};
use crate::index::{Atlas, BBox, NearestQuery, sphere};
use crate::model::{Layer, LayerSet, LonLat};
use crate::store::{ImportRow, Op, Write};

/// Rows within this distance with the same name are the same feature.
const SAME_PLACE_M: f64 = 100.0;

/// One import to run.
pub struct ImportRequest<'a> {
    /// Who (token name or `cli`).
    pub who: &'a str,
    /// The file's bytes.
    pub bytes: &'a [u8],
    /// Its format.
    pub format: Format,
    /// The file's name, when known.
    pub file_name: Option<&'a str>,
    /// Layer, coordinate system, source, sheet, column map.
    pub options: Options,
    /// The `crs` as the user wrote it (recorded).
    pub crs_label: &'a str,
    /// Write nothing.
    pub dry_run: bool,
    /// Only features of this city (an editor limited to one city).
    pub city: Option<&'a str>,
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ImportSummary {
    /// The import's id in the store.
    pub id: i64,
    /// Rows read.
    pub rows: usize,
    /// New features.
    pub accepted: usize,
    /// Features changed.
    pub updated: usize,
    /// Rows equal to what is stored.
    pub unchanged: usize,
    /// Rows refused (see the report).
    pub rejected: usize,
    /// Nothing was written.
    pub dry_run: bool,
}

/// The position of a converted feature (a Point).
fn point_of(feature: &Value) -> Option<LonLat> {
    let c = feature.get("geometry")?.get("coordinates")?.as_array()?;
    LonLat::new(c.first()?.as_f64()?, c.get(1)?.as_f64()?).ok()
}

fn name_of(feature: &Value) -> Option<&str> {
    feature.get("properties")?.get("name")?.as_str()
}

/// The id of a served feature of `layer` named `name` within 100 m of `at`.
fn same_place(atlas: &Atlas, layer: Layer, name: &str, at: LonLat) -> Option<String> {
    if layer.is_facility() {
        let q = NearestQuery {
            origin: at,
            k: 32,
            layers: LayerSet::from_iter([layer]),
            amenities: Default::default(),
            at: chrono::Utc::now(),
            open_now: false,
            max_distance_m: Some(SAME_PLACE_M),
        };
        atlas
            .nearest(&q)
            .into_iter()
            .map(|h| atlas.facility(h.facility))
            .find(|f| f.name() == name)
            .map(|f| f.id().to_owned())
    } else {
        // 100 m is under 0.001° of latitude; a degree of longitude shrinks with cos(lat).
        let dlat = 0.001;
        let dlon = (0.001 / at.lat().to_radians().cos().max(0.01)).min(180.0);
        let bbox = BBox {
            min_lon: (at.lon() - dlon).max(-180.0),
            min_lat: (at.lat() - dlat).max(-90.0),
            max_lon: (at.lon() + dlon).min(180.0),
            max_lat: (at.lat() + dlat).min(90.0),
        };
        atlas
            .in_bbox(Layer::Park, &bbox)
            .into_iter()
            .map(|i| atlas.park(i))
            .find(|p| &*p.name == name && sphere::haversine_m(at, p.position) <= SAME_PLACE_M)
            .map(|p| p.id.to_string())
    }
}

/// The feature without its `updated` date, to compare content.
fn content(feature: &Value) -> Value {
    let mut f = feature.clone();
    if let Some(p) = f.get_mut("properties").and_then(Value::as_object_mut) {
        p.remove("updated");
    }
    f
}

fn rejected(row: usize, reason: String, warnings: Vec<String>) -> ImportRow {
    ImportRow {
        row: row as i64,
        status: "rejected".into(),
        reason,
        feature_id: None,
        warnings,
    }
}

impl Registry {
    /// Runs an import: records it, converts and matches every row, applies the
    /// accepted ones in one transaction (unless a dry run), stores the row report.
    /// `progress(done, total)` is called as rows are converted.
    pub fn import(
        &self,
        req: &ImportRequest<'_>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(ImportSummary, Vec<ImportRow>), EditError> {
        let layer = req.options.layer;
        let format = match req.format {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
        };
        let id = self.store().create_import(
            req.who,
            layer,
            req.crs_label,
            req.options.source.as_deref(),
            req.file_name,
            format,
            req.dry_run,
            req.bytes,
        )?;
        let fail = |why: String| -> EditError {
            let _ = self.store().finish_import(id, &[], Some(&why));
            EditError::Malformed(why)
        };
        let sheet = import::read(req.bytes, req.format, req.options.sheet.as_deref())
            .map_err(|e| fail(e.to_string()))?;
        let mut last_saved = std::time::Instant::now();
        let outcomes = import::convert(&sheet, &req.options, &mut |done, total| {
            progress(done, total);
            if last_saved.elapsed().as_millis() >= 250 {
                let _ = self.store().import_progress(id, done, total);
                last_saved = std::time::Instant::now();
            }
        })
        .map_err(|e| fail(e.to_string()))?;
        let atlas = self
            .atlas()
            .ok_or_else(|| fail("the data is still loading".into()))?;
        let mut rows = Vec::with_capacity(outcomes.len());
        let mut writes = Vec::new();
        let mut summary = ImportSummary {
            id,
            rows: outcomes.len(),
            dry_run: req.dry_run,
            ..Default::default()
        };
        let source = req
            .options
            .source
            .clone()
            .unwrap_or_else(|| "import".into());
        for RowOutcome {
            row,
            feature,
            warnings,
        } in outcomes
        {
            let feature = match feature {
                Ok(f) => f,
                Err(problems) => {
                    let reason = problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.reason))
                        .collect::<Vec<_>>()
                        .join("; ");
                    rows.push(rejected(row, reason, warnings));
                    summary.rejected += 1;
                    continue;
                }
            };
            let matched = match feature.pointer("/properties/id").and_then(Value::as_str) {
                Some(given) => Some(given.to_owned()),
                None => match (name_of(&feature), point_of(&feature)) {
                    (Some(name), Some(at)) => same_place(&atlas, layer, name, at),
                    _ => None,
                },
            };
            let stored = match &matched {
                Some(mid) => self.store().get(mid)?,
                None => None,
            };
            let before: Option<Value> = stored
                .as_ref()
                .and_then(|s| serde_json::from_str(&s.body).ok());
            // A row updates what it names and keeps the rest (other properties,
            // provenance) of the stored feature.
            let merged = match &before {
                Some(b) => {
                    let mut m = b.clone();
                    super::edit::merge_patch(&mut m, &strip_nulls(feature));
                    m
                }
                None => feature,
            };
            let fid = matched
                .filter(|_| stored.is_some())
                .or_else(|| {
                    merged
                        .pointer("/properties/id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| new_id(layer));
            let prepared = prepare(merged, Some(layer), Some(&fid), before.as_ref(), &source);
            let (_, fid, prepared) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    rows.push(rejected(row, describe(&e), warnings));
                    summary.rejected += 1;
                    continue;
                }
            };
            if let Some(city) = req.city {
                let in_city =
                    |f: &Value| f.pointer("/properties/city").and_then(Value::as_str) == Some(city);
                if !in_city(&prepared) || before.as_ref().is_some_and(|b| !in_city(b)) {
                    rows.push(rejected(
                        row,
                        format!("this token may import features of {city} only"),
                        warnings,
                    ));
                    summary.rejected += 1;
                    continue;
                }
            }
            let body = prepared.to_string();
            if let Err(problems) = validate_feature(layer, body.as_bytes()) {
                let e = EditError::Invalid(problems);
                rows.push(rejected(row, describe(&e), warnings));
                summary.rejected += 1;
                continue;
            }
            if stored.as_ref().is_some_and(|s| s.layer != layer)
                || (stored.is_none()
                    && atlas.get(&fid).is_some_and(|r| {
                        matches!(r, FeatureRef::Park(_)) != (layer == Layer::Park)
                    }))
            {
                rows.push(rejected(
                    row,
                    format!("id '{fid}' belongs to another layer"),
                    warnings,
                ));
                summary.rejected += 1;
                continue;
            }
            let status = match &before {
                None => {
                    summary.accepted += 1;
                    "accepted"
                }
                Some(b) if content(b) == content(&prepared) => {
                    summary.unchanged += 1;
                    "unchanged"
                }
                Some(_) => {
                    summary.updated += 1;
                    "updated"
                }
            };
            if status != "unchanged" {
                writes.push(Write::Put {
                    id: fid.clone(),
                    layer,
                    body,
                    expect: Some(stored.as_ref().map_or(0, |s| s.version)),
                    op: Op::Import,
                });
            }
            rows.push(ImportRow {
                row: row as i64,
                status: status.into(),
                reason: String::new(),
                feature_id: Some(fid),
                warnings,
            });
        }
        if !req.dry_run
            && !writes.is_empty()
            && let Err(e) = self.commit(req.who, Some(id), &writes)
        {
            let _ = self.store().finish_import(id, &[], Some(&e.to_string()));
            return Err(e.into());
        }
        self.store().finish_import(id, &rows, None)?;
        Ok((summary, rows))
    }
}

/// A converted row's `null`s mean "no value in the sheet", not "remove".
fn strip_nulls(mut v: Value) -> Value {
    if let Some(p) = v.get_mut("properties").and_then(Value::as_object_mut) {
        p.retain(|_, x| !x.is_null());
    }
    v
}

fn describe(e: &EditError) -> String {
    match e {
        EditError::Invalid(problems) => problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.reason))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
