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

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{FacilityLayer, ParkCoverage, Radii};
use crate::index::Atlas;
use crate::model::{ParkType, UnionStatus};

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

/// The columns, in order.
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
    Text(&'a str),
    /// A number.
    Number(f64),
    /// True or false.
    Bool(bool),
}

impl Value<'_> {
    fn csv(&self) -> String {
        match self {
            Value::Empty => String::new(),
            Value::Text(s) => (*s).to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// The id of a park type, as in the data files.
pub fn park_type_id(t: ParkType) -> &'static str {
    match t {
        ParkType::Industrial => "industrial",
        ParkType::Logistics => "logistics",
        ParkType::DevelopmentZone => "development_zone",
        ParkType::HighTechZone => "high_tech_zone",
        ParkType::Agricultural => "agricultural",
        ParkType::CultureIndustry => "culture_industry",
        ParkType::Mixed => "mixed",
    }
}

/// The id of a union status, as in the data files.
pub fn union_status_id(s: UnionStatus) -> &'static str {
    match s {
        UnionStatus::None => "none",
        UnionStatus::Partial => "partial",
        UnionStatus::Full => "full",
    }
}

/// Metres rounded to whole metres; the gap score to two decimals.
fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The values of one row, in [`COLUMNS`] order; `rank` counts from 1.
pub fn row<'a>(atlas: &'a Atlas, rank: usize, r: &ParkCoverage, radii: &Radii) -> Vec<Value<'a>> {
    use Value::{Bool, Empty, Number, Text};
    let p = atlas.park(r.park);
    let text = |s: Option<&'a str>| s.map_or(Empty, Text);
    let num = |n: Option<u32>| n.map_or(Empty, |n| Number(f64::from(n)));
    let mut v = vec![
        Number(rank as f64),
        Text(&p.id),
        Text(&p.name),
        text(p.name_en.as_deref()),
        text(p.city.as_deref()),
        text(p.district.as_deref()),
        text(p.park_type.map(park_type_id)),
        text(p.union_status.map(union_status_id)),
        num(p.counts.enterprises),
        num(p.counts.unionised_enterprises),
        num(r.ununionised_enterprises),
        num(p.counts.workers),
        num(p.counts.union_members),
        num(r.ununionised_workers),
    ];
    v.extend(FacilityLayer::ALL.map(|l| r.nearest_m[l].map_or(Empty, |d| Number(round(d, 0)))));
    v.extend(FacilityLayer::ALL.map(|l| Number(f64::from(r.count_within[l]))));
    v.extend(FacilityLayer::ALL.map(|l| Number(radii[l].metres())));
    v.extend([
        r.gap_score.map_or(Empty, |g| Number(round(g, 2))),
        Number(p.position.lon()),
        Number(p.position.lat()),
        text(p.counts_as_of.as_deref()),
        Bool(p.provenance.synthetic),
        Text(p.provenance.position_accuracy.id()),
        Text(&p.provenance.source),
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

/// The rows as an XLSX workbook: sheet `park_coverage` and sheet `about`.
pub fn xlsx(
    atlas: &Atlas,
    rows: &[ParkCoverage],
    radii: &Radii,
    first_rank: usize,
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
                    sheet.write_string(line, c, s)?;
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
        ("rows".into(), rows.len().to_string()),
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
