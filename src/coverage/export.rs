//! The park coverage table as a spreadsheet: CSV and XLSX, one row per park, with the
//! same columns in both ([`COLUMNS`]).
//!
//! - CSV starts with a UTF-8 byte order mark: without it Excel reads the file in the
//!   system's legacy code page (GBK on Chinese Windows) and the park names come out
//!   garbled. Unknown values are empty fields.
//! - XLSX writes numbers as numbers and unknown values as empty cells, freezes the header
//!   row, turns on the autofilter, and adds an `about` sheet with the radii, the gap score
//!   formula and how many rows are synthetic, so a planner never takes generated parks for
//!   real ones.
//!
//! Every row carries `synthetic`, `position_accuracy` and `source`.
//!
//! A download is named after what it holds ([`file_name`]: the analysis, the city,
//! district and union statuses filtered on, and the day), and the `about` sheet
//! records every filter of the request ([`Scope`]), so a file found on a desk a month
//! later still says which parks it covers.

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{FacilityLayer, ParkCoverage, ParkFilter, Radii};
use crate::index::Atlas;
use std::borrow::Cow;

use crate::model::ParkProperties;

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Writing CSV failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Writing XLSX failed (including a table longer than a sheet's 1,048,575 rows).
    #[error("writing XLSX: {0}")]
    Xlsx(#[from] XlsxError),
}

/// The columns, in order: the park's own properties (named and filled as in
/// [`ParkProperties`], the model's one list of them) among the analysis's figures.
pub const COLUMNS: [&str; 30] = [
    "rank",
    "id",
    "name",
    "name_en",
    "city",
    "district",
    "park_type",
    "union_status",
    "enterprises",
    "unionised_enterprises",
    "ununionised_enterprises",
    "workers",
    "union_members",
    "ununionised_workers",
    "nearest_m_driver_home",
    "nearest_m_courier_station",
    "nearest_m_fitness_station",
    "count_within_driver_home",
    "count_within_courier_station",
    "count_within_fitness_station",
    "radius_m_driver_home",
    "radius_m_courier_station",
    "radius_m_fitness_station",
    "gap_score",
    "lon",
    "lat",
    "counts_as_of",
    "synthetic",
    "position_accuracy",
    "source",
];

/// One value of the table.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Unknown.
    Empty,
    /// Text.
    Text(Cow<'a, str>),
    /// A number.
    Number(f64),
    /// True or false.
    Bool(bool),
}

impl Value<'_> {
    fn csv(&self) -> String {
        match self {
            Value::Empty => String::new(),
            Value::Text(s) => s.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// Metres rounded to whole metres; the gap score to two decimals.
fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// What a download was asked for: the park filters, the order and the day it was made.
#[derive(Clone, Debug)]
pub struct Scope<'a> {
    /// The park filters of the request.
    pub filter: &'a ParkFilter,
    /// The sort key as asked (`gap_score`, `workers`, …).
    pub sort: String,
    /// The day the file was made (China time).
    pub date: NaiveDate,
}

impl Scope<'_> {
    /// The filters as (name, value) lines; `all parks` when there are none.
    pub fn filter_lines(&self) -> Vec<(String, String)> {
        let f = self.filter;
        let mut lines = Vec::new();
        if let Some(s) = &f.union_status {
            let ids: Vec<&str> = s.iter().map(|s| s.id()).collect();
            lines.push(("filter union_status".into(), ids.join(",")));
        }
        if let Some(w) = f.min_workers {
            lines.push(("filter min_workers".into(), w.to_string()));
        }
        if let Some(c) = &f.city {
            lines.push(("filter city".into(), c.clone()));
        }
        if let Some(d) = &f.district {
            lines.push(("filter district".into(), d.clone()));
        }
        if let Some(b) = &f.bbox {
            lines.push((
                "filter bbox".into(),
                format!("{},{},{},{}", b.min_lon, b.min_lat, b.max_lon, b.max_lat),
            ));
        }
        if lines.is_empty() {
            lines.push(("filters".into(), "none (all parks)".into()));
        }
        lines
    }
}

/// The file name of a download: `{analysis}_{city}_{district}_{statuses}_{date}.{ext}`,
/// leaving out the parts not filtered on (`park-coverage_临沂市_none_2026-11-30.xlsx`).
/// Characters a file system or a header would refuse become `-`.
pub fn file_name(analysis: &str, scope: &Scope<'_>, ext: &str) -> String {
    let f = scope.filter;
    let mut parts = vec![clean(analysis)];
    parts.extend(f.city.as_deref().map(clean));
    parts.extend(f.district.as_deref().map(clean));
    if let Some(s) = &f.union_status {
        let ids: Vec<&str> = s.iter().map(|s| s.id()).collect();
        parts.push(ids.join("-"));
    }
    if let Some(w) = f.min_workers {
        parts.push(format!("min{w}"));
    }
    if f.bbox.is_some() {
        parts.push("bbox".into());
    }
    parts.push(scope.date.format("%Y-%m-%d").to_string());
    parts.retain(|p| !p.is_empty());
    format!("{}.{ext}", parts.join("_"))
}

/// A name part without path separators, quotes, control or reserved characters, at
/// most 40 characters.
fn clean(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            if c.is_control() || "\\/:*?\"<>|;%_".contains(c) || c.is_whitespace() {
                '-'
            } else {
                c
            }
        })
        .take(40)
        .collect()
}

/// A `Content-Disposition` value for `name`: an ASCII `filename` for old clients (the
/// non-ASCII characters dropped) and the exact name as RFC 5987 `filename*`.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect();
    let mut ascii = ascii;
    while ascii.contains("__") {
        ascii = ascii.replace("__", "_");
    }
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The values of one row, in [`COLUMNS`] order; `rank` counts from 1.
pub fn row<'a>(atlas: &'a Atlas, rank: usize, r: &ParkCoverage, radii: &Radii) -> Vec<Value<'a>> {
    use Value::{Bool, Empty, Number, Text};
    let p = atlas.park(r.park);
    let props = ParkProperties::of(p);
    let text = |s: Option<Cow<'a, str>>| s.map_or(Empty, Text);
    let id = |s: &'static str| Text(Cow::Borrowed(s));
    let num = |n: Option<u32>| n.map_or(Empty, |n| Number(f64::from(n)));
    let mut v = vec![
        Number(rank as f64),
        Text(props.id),
        Text(props.name),
        text(props.name_en),
        text(props.city),
        text(props.district),
        props.park_type.map_or(Empty, |t| id(t.id())),
        props.union_status.map_or(Empty, |u| id(u.id())),
        num(props.enterprises),
        num(props.unionised_enterprises),
        num(r.ununionised_enterprises),
        num(props.workers),
        num(props.union_members),
        num(r.ununionised_workers),
    ];
    v.extend(FacilityLayer::ALL.map(|l| r.nearest_m[l].map_or(Empty, |d| Number(round(d, 0)))));
    v.extend(FacilityLayer::ALL.map(|l| Number(f64::from(r.count_within[l]))));
    v.extend(FacilityLayer::ALL.map(|l| Number(radii[l].metres())));
    v.extend([
        r.gap_score.map_or(Empty, |g| Number(round(g, 2))),
        Number(p.position.lon()),
        Number(p.position.lat()),
        text(props.counts_as_of),
        Bool(props.synthetic),
        id(props.position_accuracy.id()),
        Text(props.source),
    ]);
    v
}

/// The rows as CSV bytes, with a UTF-8 BOM and a header line. `first_rank` is the rank
/// of the first row (1 + the page's offset).
pub fn csv(
    atlas: &Atlas,
    rows: &[ParkCoverage],
    radii: &Radii,
    first_rank: usize,
) -> Result<Vec<u8>, ExportError> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(COLUMNS)?;
        for (i, r) in rows.iter().enumerate() {
            w.write_record(row(atlas, first_rank + i, r, radii).iter().map(Value::csv))?;
        }
        w.flush().map_err(csv::Error::from)?;
    }
    Ok(out)
}

/// The rows as an XLSX workbook: sheet `park_coverage` and sheet `about` (which also
/// records the request's filters, order and date from `scope`).
pub fn xlsx(
    atlas: &Atlas,
    rows: &[ParkCoverage],
    radii: &Radii,
    first_rank: usize,
    scope: &Scope<'_>,
) -> Result<Vec<u8>, ExportError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("park_coverage")?;
    for (c, name) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let line = u32::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, v) in row(atlas, first_rank + i, r, radii).into_iter().enumerate() {
            let c = c as u16;
            match v {
                Value::Empty => {}
                Value::Text(s) => {
                    sheet.write_string(line, c, &*s)?;
                }
                Value::Number(n) => {
                    sheet.write_number(line, c, n)?;
                }
                Value::Bool(b) => {
                    sheet.write_boolean(line, c, b)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_row = u32::try_from(rows.len()).map_err(|_| XlsxError::RowColumnLimitError)?;
    sheet.autofilter(0, 0, last_row, (COLUMNS.len() - 1) as u16)?;
    sheet.set_column_width(2, 28)?;

    let synthetic = rows
        .iter()
        .filter(|r| atlas.park(r.park).provenance.synthetic)
        .count();
    let about = book.add_worksheet();
    about.set_name("about")?;
    about.set_column_width(0, 28)?;
    let mut lines: Vec<(String, String)> = vec![
        ("table".into(), "park coverage (驿站地图 waystation)".into()),
        ("date".into(), scope.date.format("%Y-%m-%d").to_string()),
        ("rows".into(), rows.len().to_string()),
        ("first rank".into(), first_rank.to_string()),
        ("sorted by".into(), scope.sort.clone()),
        (
            "synthetic rows".into(),
            format!("{synthetic} (generated demo data, not real parks)"),
        ),
        (
            "gap_score".into(),
            "ununionised_workers × (1/3) × Σ_layer min(1, nearest_m / radius_m); \
             empty when the worker or member count is unknown"
                .into(),
        ),
        (
            "distances".into(),
            "great-circle metres on a sphere of radius 6,371,008.8 m".into(),
        ),
    ];
    lines.extend(scope.filter_lines());
    lines.extend(
        radii
            .iter()
            .map(|(l, r)| (format!("radius_m {}", l.id()), r.metres().to_string())),
    );
    for (i, (k, v)) in lines.iter().enumerate() {
        about.write_string_with_format(i as u32, 0, k, &bold)?;
        about.write_string(i as u32, 1, v)?;
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UnionStatus;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()
    }

    /// Every column is the analysis's own or one of the park's properties, named as
    /// the model names them.
    #[test]
    fn park_columns_are_the_models_properties() {
        let analysis = |c: &str| {
            ["rank", "gap_score", "lon", "lat"].contains(&c)
                || ["ununionised_", "nearest_m_", "count_within_", "radius_m_"]
                    .iter()
                    .any(|p| c.starts_with(p))
        };
        let park: Vec<&str> = COLUMNS.iter().copied().filter(|c| !analysis(c)).collect();
        for c in &park {
            assert!(
                ParkProperties::FIELDS.contains(c),
                "column {c} is neither the analysis's nor a park property"
            );
        }
        assert!(park.len() >= 15, "{park:?}");
    }

    #[test]
    fn file_names_say_what_the_file_holds() {
        let all = ParkFilter::default();
        let scope = Scope {
            filter: &all,
            sort: "gap_score".into(),
            date: day(),
        };
        assert_eq!(
            file_name("park-coverage", &scope, "csv"),
            "park-coverage_2026-11-30.csv"
        );
        let some = ParkFilter {
            city: Some("临沂市".into()),
            district: Some("兰山/区".into()),
            union_status: Some(vec![UnionStatus::None, UnionStatus::Partial]),
            ..ParkFilter::default()
        };
        let scope = Scope {
            filter: &some,
            sort: "workers".into(),
            date: day(),
        };
        assert_eq!(
            file_name("park-coverage", &scope, "xlsx"),
            "park-coverage_临沂市_兰山-区_none-partial_2026-11-30.xlsx"
        );
        let lines = scope.filter_lines();
        assert!(lines.contains(&("filter city".into(), "临沂市".into())));
        assert!(lines.contains(&("filter union_status".into(), "none,partial".into())));
    }

    #[test]
    fn content_disposition_has_an_ascii_and_an_exact_name() {
        let v = content_disposition("park-coverage_临沂市_none_2026-11-30.csv");
        assert_eq!(
            v,
            "attachment; filename=\"park-coverage_none_2026-11-30.csv\"; \
             filename*=UTF-8''park-coverage_%E4%B8%B4%E6%B2%82%E5%B8%82_none_2026-11-30.csv"
        );
        assert!(v.is_ascii());
    }
}
