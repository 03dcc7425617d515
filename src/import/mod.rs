//! Importing union staff's own sheets (台账): Excel, CSV or GeoJSON in, GeoJSON
//! Features in our schema out, with a reason for every row that cannot be taken.
//!
//! This is the pure half of the importer: no database, no I/O beyond the bytes it is
//! handed. The pipeline, in order:
//!
//! 1. [`read`]: the bytes as a [`Sheet`] of text cells: xlsx through calamine, CSV in
//!    UTF-8 (with or without BOM), GBK/GB18030 or UTF-16, GeoJSON through the
//!    `geojson` crate (one row per feature, the geometry as `lon`/`lat` columns).
//!    Rows keep the number the user sees in Excel, title rows above the header
//!    are found and kept.
//! 2. [`columns()`]: which column is which, from Chinese or English headers and
//!    their common aliases (`站点名称`, `东经`, `经纬度`, `lng`, …), overridden by
//!    `--map`.
//! 3. [`convert`]: each row to a Feature: coordinates checked (missing, swapped,
//!    (0, 0), out of range) and converted from GCJ-02 / BD-09 to WGS-84 by the exact
//!    inverse ([`crate::geodata::coords::to_wgs84_exact`]), Chinese opening hours to
//!    OpenStreetMap syntax, Chinese amenity words to the vocabulary, counts and dates
//!    read leniently, duplicates within the sheet refused.
//! 4. [`report_xlsx`]: the user's sheet given back with a status and a reason on
//!    every row, so the rejected rows can be fixed and imported again.
//!
//! Nothing the user typed is silently dropped: hours that cannot be read stay in
//! `opening_hours_text`, unknown amenity words in `amenities_unrecognised`, partial
//! dates and unknown categories in `notes`, each with a warning.

mod amenities;
mod columns;
mod convert;
mod hours;
mod read;
mod report;
mod text;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::geodata::coords::Crs;
use crate::model::Layer;

pub use columns::{Column, ColumnMap};
pub use convert::{RowOutcome, RowProblem, convert};
pub use read::{Sheet, SheetRow, read};
pub use report::{REASON_HEADER, STATUS_HEADER, report_xlsx, report_xlsx_with};

/// The kind of file being imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A spreadsheet: `.xlsx` (also `.xlsm`, `.xls` and `.ods`, which calamine reads
    /// the same way).
    Xlsx,
    /// Comma-separated values (tab- or semicolon-separated when the header has no
    /// comma), UTF-8 with or without BOM, GBK/GB18030 or UTF-16 with BOM.
    Csv,
    /// A GeoJSON FeatureCollection (or a single Feature) of Points.
    GeoJson,
}

impl Format {
    /// The format a file name's extension names (case-insensitive): `.xlsx`, `.csv`,
    /// `.geojson` or `.json` (and `.xlsm`, `.xls`, `.ods`, `.tsv`, `.txt`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" | "xlsm" | "xls" | "ods" => Some(Format::Xlsx),
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "geojson" | "json" => Some(Format::GeoJson),
            _ => None,
        }
    }
}

/// The coordinate system the file's coordinates are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputCrs {
    /// WGS-84 (GPS, OpenStreetMap).
    Wgs84,
    /// CGCS2000 (Tianditu, official surveys): within centimetres of WGS-84, taken as is.
    Cgcs2000,
    /// GCJ-02: coordinates copied from Amap (高德) or Tencent.
    Gcj02,
    /// BD-09: coordinates copied from Baidu Maps.
    Bd09,
}

impl InputCrs {
    /// The system the conversion starts from (CGCS2000 is WGS-84 for our purposes).
    pub fn crs(self) -> Crs {
        match self {
            InputCrs::Wgs84 | InputCrs::Cgcs2000 => Crs::Wgs84,
            InputCrs::Gcj02 => Crs::Gcj02,
            InputCrs::Bd09 => Crs::Bd09,
        }
    }

    /// The name `--crs` takes: `wgs84`, `cgcs2000`, `gcj02` or `bd09`.
    pub fn id(self) -> &'static str {
        match self {
            InputCrs::Wgs84 => "wgs84",
            InputCrs::Cgcs2000 => "cgcs2000",
            InputCrs::Gcj02 => "gcj02",
            InputCrs::Bd09 => "bd09",
        }
    }
}

impl fmt::Display for InputCrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for InputCrs {
    type Err = ImportError;
    /// `wgs84`, `cgcs2000`, `gcj02`, `bd09`, case-insensitive, dashes, underscores
    /// and spaces allowed (`WGS-84`, `GCJ-02`); also `epsg:4326` and `epsg:4490`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "wgs84" | "epsg:4326" | "gps" => Ok(InputCrs::Wgs84),
            "cgcs2000" | "epsg:4490" | "tianditu" => Ok(InputCrs::Cgcs2000),
            "gcj02" | "amap" | "gaode" => Ok(InputCrs::Gcj02),
            "bd09" | "bd09ll" | "baidu" => Ok(InputCrs::Bd09),
            _ => Err(ImportError::BadCrs(s.to_owned())),
        }
    }
}

/// What an import is asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The layer every row goes into.
    pub layer: Layer,
    /// The coordinate system of the file's coordinates.
    pub crs: InputCrs,
    /// Written as `properties.source`; `"import"` when `None`.
    pub source: Option<String>,
    /// The xlsx sheet to read; the first sheet when `None`.
    pub sheet: Option<String>,
    /// Column assignments that override the headers (`--map`), see [`Options::parse_map`].
    pub map: Vec<(Column, String)>,
    /// The day written as `properties.updated`.
    pub today: chrono::NaiveDate,
}

impl Options {
    /// Options for `layer` with the defaults: WGS-84, source `import`, first sheet,
    /// no `--map`.
    pub fn new(layer: Layer, today: chrono::NaiveDate) -> Self {
        Options {
            layer,
            crs: InputCrs::Wgs84,
            source: None,
            sheet: None,
            map: Vec::new(),
            today,
        }
    }

    /// Parses `--map 'name=站点名称,lon=东经'`: comma-separated `key=header` pairs,
    /// the keys being [`Column`]'s English keys (`name`, `lon`, `opening_hours`, …).
    /// Full-width `，` and `＝` are accepted.
    pub fn parse_map(text: &str) -> Result<Vec<(Column, String)>, ImportError> {
        let mut out: Vec<(Column, String)> = Vec::new();
        for pair in text.split([',', '，']) {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let Some((key, header)) = pair.split_once(['=', '＝']) else {
                return Err(ImportError::BadMap(format!(
                    "'{pair}' is not key=header (e.g. name=站点名称)"
                )));
            };
            let column: Column = key.trim().parse()?;
            let header = header.trim();
            if header.is_empty() {
                return Err(ImportError::BadMap(format!("'{pair}' names no column")));
            }
            if out.iter().any(|(c, _)| *c == column) {
                return Err(ImportError::BadMap(format!(
                    "{} is mapped twice",
                    column.key()
                )));
            }
            out.push((column, header.to_owned()));
        }
        Ok(out)
    }
}

/// The sheet's columns as [`convert`] will read them: for the CLI to show what was
/// recognised, what is ignored and why, before converting.
pub fn columns(sheet: &Sheet, opts: &Options) -> Result<ColumnMap, ImportError> {
    ColumnMap::resolve(&sheet.headers, opts.layer, &opts.map)
}

/// Why a file cannot be imported at all (as opposed to a row that cannot be taken,
/// which is a [`RowProblem`]). All are the user's to fix: the CLI exits 2 on them.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not a readable file of the format.
    #[error("cannot read the file as {format}: {reason}")]
    Unreadable {
        /// `xlsx`, `CSV` or `GeoJSON`.
        format: &'static str,
        /// What the reader said.
        reason: String,
    },
    /// `--sheet` names a sheet the workbook does not have.
    #[error("no sheet named '{name}' (the workbook has: {})", available.join(", "))]
    NoSuchSheet {
        /// The name asked for.
        name: String,
        /// The workbook's sheets.
        available: Vec<String>,
    },
    /// The sheet is empty: there is no header row.
    #[error("no header row: the sheet is empty")]
    NoHeaderRow,
    /// No column holds the names.
    #[error(
        "no name column: expected a header such as 名称, 站点名称 or name, or --map name=… \
         (the headers are: {})",
        headers.join(", ")
    )]
    NoNameColumn {
        /// The sheet's headers.
        headers: Vec<String>,
    },
    /// No columns hold the coordinates.
    #[error(
        "no coordinate columns: expected 经度 and 纬度 (lon, lat) or one 经纬度 column \
         (lonlat), or --map lon=…,lat=… (the headers are: {})",
        headers.join(", ")
    )]
    NoCoordinateColumns {
        /// The sheet's headers.
        headers: Vec<String>,
    },
    /// `--map` cannot be used as given.
    #[error("--map: {0}")]
    BadMap(String),
    /// `--crs` names no coordinate system we know.
    #[error("unknown coordinate system '{0}' (wgs84, cgcs2000, gcj02, bd09)")]
    BadCrs(String),
    /// The report workbook could not be written.
    #[error("cannot write the report: {0}")]
    Report(String),
}

#[cfg(test)]
mod tests;
