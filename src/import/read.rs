//! Reading the file into a [`Sheet`] of text cells, whatever it came as.
//!
//! - **xlsx** through calamine. Numbers print as the user sees them (`118`, not
//!   `118.0`) with every digit a coordinate has; date cells print as `YYYY-MM-DD`.
//! - **CSV**: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"),
//!   otherwise GBK/GB18030 (what Excel on a Chinese Windows writes) when the bytes
//!   are not UTF-8. Comma-separated, or tab / semicolon when the header has no comma.
//! - **GeoJSON** through the `geojson` crate: one row per feature, its properties as
//!   columns (our English keys or Chinese headers alike, in the order the features
//!   first name them), the Point as `lon` / `lat` columns ahead of them, the
//!   top-level id as `id`.
//!
//! Sheets often open with a title row (`临沂市工会驿站台账`) above the header: the
//! header is the first of the first 20 rows with two or more recognised headers
//! (else the first non-empty row), and the rows above it are kept for the report.
//! Blank rows are left out; every row keeps its number as Excel shows it.

use std::io::Cursor;

use calamine::{Data, Reader};

use super::columns::{GEOMETRY_HEADER, recognise};
use super::text::{clean, float_text};
use super::{Format, ImportError};

/// The file as read: the header and the rows as text, kept so that the report can
/// give the user's own sheet back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sheet {
    /// The header row's cells.
    pub headers: Vec<String>,
    /// The data rows below the header, blank rows left out.
    pub rows: Vec<SheetRow>,
    /// The xlsx sheet read (`None` for CSV and GeoJSON).
    pub sheet_name: Option<String>,
    /// The header's 1-based row number (1 unless title rows come first; 1 for GeoJSON).
    pub header_row: usize,
    /// The rows above the header (titles, notes), written back by the report.
    pub preamble: Vec<SheetRow>,
}

/// One row of the sheet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SheetRow {
    /// The 1-based row number the user sees in Excel or a CSV viewer (the header is
    /// row 1 unless title rows come first); for GeoJSON the 1-based feature index.
    pub number: usize,
    /// The cells, as text, in header order (a row may be shorter than the header).
    pub cells: Vec<String>,
}

impl Sheet {
    /// Whether rows sit at their own row numbers (xlsx, CSV) rather than following
    /// the header in order (GeoJSON, whose numbers are feature indexes).
    pub(crate) fn positioned(&self) -> bool {
        self.rows.first().is_none_or(|r| r.number > self.header_row)
    }
}

/// Reads `bytes` as `format`. For xlsx, `sheet` names the sheet to read (matched
/// exactly, then ignoring case and surrounding spaces); without it, the first sheet
/// (or, when the first has no recognisable header row, the first one that does).
pub fn read(bytes: &[u8], format: Format, sheet: Option<&str>) -> Result<Sheet, ImportError> {
    match format {
        Format::Xlsx => read_xlsx(bytes, sheet),
        Format::Csv => read_csv(bytes),
        Format::GeoJson => read_geojson(bytes),
    }
}

fn unreadable(format: &'static str, reason: impl ToString) -> ImportError {
    ImportError::Unreadable {
        format,
        reason: reason.to_string(),
    }
}

fn read_xlsx(bytes: &[u8], wanted: Option<&str>) -> Result<Sheet, ImportError> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| unreadable("xlsx", e))?;
    let names = book.sheet_names();
    let chosen: Vec<String> = match wanted {
        Some(w) => {
            let found = names.iter().find(|n| n.as_str() == w).or_else(|| {
                names
                    .iter()
                    .find(|n| n.trim().to_lowercase() == w.trim().to_lowercase())
            });
            match found {
                Some(n) => vec![n.clone()],
                None => {
                    return Err(ImportError::NoSuchSheet {
                        name: w.to_owned(),
                        available: names,
                    });
                }
            }
        }
        None => names.clone(),
    };
    // Without --sheet: the first sheet with a recognisable header, else the first
    // sheet that is not empty.
    let mut fallback: Option<Sheet> = None;
    for name in chosen {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| unreadable("xlsx", format!("sheet '{name}': {e}")))?;
        let (row0, _) = range.start().unwrap_or((0, 0));
        let lines = range.rows().enumerate().map(|(i, cells)| {
            (
                row0 as usize + i + 1,
                cells.iter().map(cell_text).collect::<Vec<String>>(),
            )
        });
        match assemble(lines, Some(name.clone())) {
            Ok((sheet, recognised)) if recognised || wanted.is_some() => return Ok(sheet),
            Ok((sheet, _)) => {
                fallback.get_or_insert(sheet);
            }
            Err(e) if wanted.is_some() => return Err(e),
            Err(_) => {}
        }
    }
    fallback.ok_or(ImportError::NoHeaderRow)
}

/// A calamine cell as the user sees it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            let v = dt.as_f64();
            if v < 1.0 {
                format!("{h:02}:{mi:02}")
            } else if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => float_text(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

/// Builds a sheet from numbered lines: finds the header, drops blank rows. The
/// flag says whether the header was recognised (two or more known headers).
fn assemble(
    lines: impl Iterator<Item = (usize, Vec<String>)>,
    sheet_name: Option<String>,
) -> Result<(Sheet, bool), ImportError> {
    const LOOK: usize = 20;
    let mut head: Vec<(usize, Vec<String>)> = Vec::new();
    let mut lines = lines.filter(|(_, cells)| cells.iter().any(|c| !clean(c).is_empty()));
    for line in lines.by_ref() {
        head.push(line);
        if head.len() == LOOK {
            break;
        }
    }
    if head.is_empty() {
        return Err(ImportError::NoHeaderRow);
    }
    let known = |cells: &[String]| {
        cells
            .iter()
            .filter(|c| recognise(c).is_some() || clean(c) == GEOMETRY_HEADER)
            .count()
    };
    let found = head.iter().position(|(_, cells)| known(cells) >= 2);
    let at = found.unwrap_or(0);
    let mut head = head.into_iter();
    let preamble: Vec<SheetRow> = head
        .by_ref()
        .take(at)
        .map(|(number, mut cells)| {
            while cells.last().is_some_and(|c| c.is_empty()) {
                cells.pop();
            }
            SheetRow { number, cells }
        })
        .collect();
    let (header_row, mut headers) = head.next().ok_or(ImportError::NoHeaderRow)?;
    for h in &mut headers {
        *h = clean(h).to_owned();
    }
    while headers.last().is_some_and(|h| h.is_empty()) {
        headers.pop();
    }
    let rows: Vec<SheetRow> = head
        .chain(lines)
        .map(|(number, cells)| SheetRow { number, cells })
        .collect();
    Ok((
        Sheet {
            headers,
            rows,
            sheet_name,
            header_row,
            preamble,
        },
        found.is_some(),
    ))
}

/// The text of a CSV file, whatever its encoding.
fn decode_csv(bytes: &[u8]) -> Result<String, ImportError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8(rest.to_vec()).map_err(|e| unreadable("CSV", e));
    }
    for (bom, encoding) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let (text, had_errors) = encoding.decode_without_bom_handling(rest);
            if had_errors {
                return Err(unreadable("CSV", "invalid UTF-16"));
            }
            return Ok(text.into_owned());
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => {
            let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            if had_errors {
                return Err(unreadable(
                    "CSV",
                    "the text is neither UTF-8 nor GBK/GB18030: save it as CSV UTF-8",
                ));
            }
            Ok(text.into_owned())
        }
    }
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, ImportError> {
    let text = decode_csv(bytes)?;
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(ImportError::NoHeaderRow)?;
    let delimiter = if first_line.contains(',') {
        b','
    } else if first_line.contains('\t') {
        b'\t'
    } else if first_line.contains(';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    // Row numbers as a spreadsheet shows the file: blank lines are rows too (the csv
    // reader skips them), a quoted field's line breaks are not.
    let mut lines = Vec::new();
    let (mut number, mut next_line) = (0usize, 1u64);
    for record in reader.records() {
        let record = record.map_err(|e| unreadable("CSV", e))?;
        let line = record.position().map_or(next_line, |p| p.line());
        number += 1 + usize::try_from(line.saturating_sub(next_line)).unwrap_or(0);
        let inner: usize = record.iter().map(|f| f.matches('\n').count()).sum();
        next_line = line + 1 + inner as u64;
        lines.push((number, record.iter().map(str::to_owned).collect::<Vec<_>>()));
    }
    assemble(lines.into_iter(), None).map(|(sheet, _)| sheet)
}

fn read_geojson(bytes: &[u8]) -> Result<Sheet, ImportError> {
    use ::geojson::{GeoJson, GeometryValue, feature::Id};

    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| unreadable("GeoJSON", e))?;
    let features = match text
        .parse::<GeoJson>()
        .map_err(|e| unreadable("GeoJSON", e))?
    {
        GeoJson::FeatureCollection(fc) => fc.features,
        GeoJson::Feature(f) => vec![f],
        GeoJson::Geometry(_) => {
            return Err(unreadable(
                "GeoJSON",
                "a bare geometry: expected a FeatureCollection of Point features",
            ));
        }
    };
    // Columns: lon, lat (the geometry wins over any coordinate property), the
    // geometry type when some feature is not a Point, the top-level id, then every
    // property key in first-seen order.
    let mut headers: Vec<String> = vec!["lon".into(), "lat".into()];
    let all_points = features.iter().all(|f| {
        matches!(
            f.geometry.as_ref().map(|g| &g.value),
            Some(GeometryValue::Point { .. })
        )
    });
    let geometry_col = (!all_points).then(|| {
        headers.push(GEOMETRY_HEADER.into());
        headers.len() - 1
    });
    let any_id = features.iter().any(|f| f.id.is_some());
    let id_col = any_id.then(|| {
        headers.push("id".into());
        headers.len() - 1
    });
    let mut index: std::collections::HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.clone(), i))
        .collect();
    for f in &features {
        for key in f.properties.iter().flat_map(|p| p.keys()) {
            if !index.contains_key(key) {
                index.insert(key.clone(), headers.len());
                headers.push(key.clone());
            }
        }
    }
    let mut rows = Vec::with_capacity(features.len());
    for (i, f) in features.into_iter().enumerate() {
        let mut cells = vec![String::new(); headers.len()];
        match f.geometry.as_ref().map(|g| &g.value) {
            Some(GeometryValue::Point { coordinates }) => {
                let c = coordinates.as_slice();
                if let (Some(lon), Some(lat)) = (c.first(), c.get(1)) {
                    cells[0] = float_text(*lon);
                    cells[1] = float_text(*lat);
                }
                if let Some(g) = geometry_col {
                    cells[g] = "Point".into();
                }
            }
            Some(other) => {
                if let Some(g) = geometry_col {
                    cells[g] = other.type_name().to_owned();
                }
            }
            None => {
                if let Some(g) = geometry_col {
                    cells[g] = "none".into();
                }
            }
        }
        if let (Some(col), Some(id)) = (id_col, &f.id) {
            cells[col] = match id {
                Id::String(s) => s.clone(),
                Id::Number(n) => n.to_string(),
            };
        }
        for (key, value) in f.properties.iter().flatten() {
            let Some(&col) = index.get(key) else { continue };
            // A property "id" equal to the top-level one: keep the one column.
            if Some(col) == id_col && !cells[col].is_empty() {
                continue;
            }
            cells[col] = json_text(value);
        }
        rows.push(SheetRow {
            number: i + 1,
            cells,
        });
    }
    Ok(Sheet {
        headers,
        rows,
        sheet_name: None,
        header_row: 1,
        preamble: Vec::new(),
    })
}

/// A property value as cell text: strings as they are, arrays joined with commas
/// (amenities), numbers as written, null as empty.
fn json_text(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(json_text).collect::<Vec<_>>().join(","),
        Value::Object(_) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_encodings_and_delimiters() {
        let text = "站点名称,经度,纬度\n临沂驿站,118.35,35.1\n";
        let want = read(text.as_bytes(), Format::Csv, None).unwrap();
        assert_eq!(want.headers, ["站点名称", "经度", "纬度"]);
        assert_eq!(want.rows.len(), 1);
        assert_eq!(want.rows[0].number, 2);
        assert_eq!(want.rows[0].cells, ["临沂驿站", "118.35", "35.1"]);

        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(read(&bom, Format::Csv, None).unwrap(), want);

        let (gbk, _, bad) = encoding_rs::GBK.encode(text);
        assert!(!bad);
        assert!(std::str::from_utf8(&gbk).is_err());
        assert_eq!(read(&gbk, Format::Csv, None).unwrap(), want);

        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        assert_eq!(read(&utf16, Format::Csv, None).unwrap(), want);

        let tsv = text.replace(',', "\t");
        assert_eq!(read(tsv.as_bytes(), Format::Csv, None).unwrap(), want);
        let ssv = text.replace(',', ";");
        assert_eq!(read(ssv.as_bytes(), Format::Csv, None).unwrap(), want);

        assert!(matches!(
            read(b"\xFF\xFF\xFF,\x80", Format::Csv, None),
            Err(ImportError::Unreadable { .. })
        ));
        assert!(matches!(
            read(b"\n \n", Format::Csv, None),
            Err(ImportError::NoHeaderRow)
        ));
    }

    /// A title row above the header is kept aside; blank rows are skipped but the
    /// rows keep their numbers.
    #[test]
    fn title_rows_and_blank_rows() {
        let text = "临沂市工会驿站台账,,\n站点名称,经度,纬度\n\n,,\n甲,118.35,35.1\n";
        let sheet = read(text.as_bytes(), Format::Csv, None).unwrap();
        assert_eq!(sheet.header_row, 2);
        assert_eq!(sheet.preamble.len(), 1);
        assert_eq!(sheet.preamble[0].cells[0], "临沂市工会驿站台账");
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.rows[0].number, 5);
        assert!(sheet.positioned());
    }

    #[test]
    fn geojson_features_become_rows() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","id":"cs-1","geometry":{"type":"Point","coordinates":[118.35,35.1]},
           "properties":{"name":"甲","amenities":["toilet","wifi"],"workers":12,"备注":null}},
          {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},
           "properties":{"站点名称":"乙"}},
          {"type":"Feature","geometry":null,"properties":{"name":"丙"}}
        ]}"#;
        let sheet = read(text.as_bytes(), Format::GeoJson, None).unwrap();
        assert_eq!(
            sheet.headers,
            [
                "lon",
                "lat",
                "geometry",
                "id",
                "name",
                "amenities",
                "workers",
                "备注",
                "站点名称"
            ]
        );
        assert_eq!(
            sheet.rows[0].cells,
            [
                "118.35",
                "35.1",
                "Point",
                "cs-1",
                "甲",
                "toilet,wifi",
                "12",
                "",
                ""
            ]
        );
        assert_eq!(sheet.rows[1].cells[2], "Polygon");
        assert_eq!(sheet.rows[1].cells[8], "乙");
        assert_eq!(sheet.rows[2].cells[2], "none");
        assert_eq!(
            sheet.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(!sheet.positioned());
        assert!(matches!(
            read(
                b"{\"type\":\"Point\",\"coordinates\":[1,2]}",
                Format::GeoJson,
                None
            ),
            Err(ImportError::Unreadable { .. })
        ));
        assert!(matches!(
            read(b"not json", Format::GeoJson, None),
            Err(ImportError::Unreadable { .. })
        ));
    }
}
