//! The import report: the user's own sheet given back with a status and a reason on
//! every row, so that the rejected rows can be fixed in place and the file imported
//! again (the status columns are ignored on the way back in, and replaced, not
//! repeated, in the next report).

use std::collections::HashMap;

use rust_xlsxwriter::{Color, Format, Workbook, Worksheet, XlsxError};

use super::ImportError;
use super::read::Sheet;

/// The header of the status column the report adds.
pub const STATUS_HEADER: &str = "状态/status";
/// The header of the reason column the report adds.
pub const REASON_HEADER: &str = "原因/reason";

/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;

/// The report workbook: `sheet` as read (same headers, cells and row order; title
/// rows above the header kept; rows at their original row numbers when they came
/// from xlsx or CSV) with [`STATUS_HEADER`] and [`REASON_HEADER`] columns filled from
/// `statuses` (row number, `accepted` / `updated` / `unchanged` / `rejected`, reason
/// or ""). Rows without a status get empty cells. Numbers the sheet held as numbers
/// are written as numbers again.
pub fn report_xlsx(
    sheet: &Sheet,
    statuses: &[(usize, String, String)],
) -> Result<Vec<u8>, ImportError> {
    report_xlsx_with(sheet, statuses, &|s: &str| s.to_owned())
}

/// [`report_xlsx`] with each status written as `word(status)`: the status column in
/// the reader's language (the HTTP edge passes Chinese words; the reasons in
/// `statuses` are already in that language). Rejected rows are marked by their
/// status, whatever the word.
pub fn report_xlsx_with(
    sheet: &Sheet,
    statuses: &[(usize, String, String)],
    word: &dyn Fn(&str) -> String,
) -> Result<Vec<u8>, ImportError> {
    write(sheet, statuses, word).map_err(|e| ImportError::Report(e.to_string()))
}

fn write(
    sheet: &Sheet,
    statuses: &[(usize, String, String)],
    word: &dyn Fn(&str) -> String,
) -> Result<Vec<u8>, XlsxError> {
    let by_row: HashMap<usize, (&str, &str)> = statuses
        .iter()
        .map(|(row, status, reason)| (*row, (status.as_str(), reason.as_str())))
        .collect();
    // Reuse the status columns of an earlier report rather than adding a second pair.
    let find = |name: &str| sheet.headers.iter().position(|h| h.trim() == name);
    let mut headers = sheet.headers.clone();
    let status_col = find(STATUS_HEADER).unwrap_or_else(|| {
        headers.push(STATUS_HEADER.to_owned());
        headers.len() - 1
    });
    let reason_col = find(REASON_HEADER).unwrap_or_else(|| {
        headers.push(REASON_HEADER.to_owned());
        headers.len() - 1
    });

    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let name = sheet.sheet_name.as_deref().unwrap_or("import");
    if ws.set_name(sheet_name(name)).is_err() {
        ws.set_name("import")?;
    }
    let bold = Format::new().set_bold();
    let rejected = Format::new()
        .set_bold()
        .set_font_color(Color::RGB(0x9C0006))
        .set_background_color(Color::RGB(0xFFC7CE));
    let accepted = Format::new().set_font_color(Color::RGB(0x006100));

    for row in &sheet.preamble {
        write_cells(ws, excel_row(row.number)?, &row.cells, None)?;
    }
    let header_at = excel_row(sheet.header_row.max(1))?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(header_at, col(c)?, cap(h), &bold)?;
    }
    ws.set_freeze_panes(header_at + 1, 0)?;
    ws.set_column_width(col(status_col)?, 14)?;
    ws.set_column_width(col(reason_col)?, 60)?;

    let positioned = sheet.positioned();
    for (i, row) in sheet.rows.iter().enumerate() {
        let at = if positioned {
            excel_row(row.number)?
        } else {
            header_at
                .checked_add(u32::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?)
                .ok_or(XlsxError::RowColumnLimitError)?
        };
        write_cells(ws, at, &row.cells, Some((status_col, reason_col)))?;
        if let Some((status, reason)) = by_row.get(&row.number) {
            let format = match *status {
                "rejected" => &rejected,
                _ => &accepted,
            };
            ws.write_string_with_format(at, col(status_col)?, cap(&word(status)), format)?;
            if !reason.is_empty() {
                ws.write_string(at, col(reason_col)?, cap(reason))?;
            }
        }
    }
    book.save_to_buffer()
}

/// Writes a row's cells, leaving out the status columns (they are rewritten).
fn write_cells(
    ws: &mut Worksheet,
    at: u32,
    cells: &[String],
    skip: Option<(usize, usize)>,
) -> Result<(), XlsxError> {
    for (c, text) in cells.iter().enumerate() {
        if text.is_empty() || skip.is_some_and(|(a, b)| c == a || c == b) {
            continue;
        }
        match as_number(text) {
            Some(v) => ws.write_number(at, col(c)?, v)?,
            None => ws.write_string(at, col(c)?, cap(text))?,
        };
    }
    Ok(())
}

/// A cell's text as a number when it is exactly how a number prints (`118.35`,
/// `1234`): what calamine gave us from a number cell. Leading zeros (`0371…`), long
/// digit strings (ids, phone numbers beyond 11 digits) and anything else stay text.
fn as_number(text: &str) -> Option<f64> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    let plain = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|b| *b == b'.').count() <= 1
        && !body.starts_with('.')
        && !body.ends_with('.')
        && (!body.starts_with('0') || body == "0" || body.starts_with("0."));
    if !plain || digits > 15 || (!body.contains('.') && digits > 11) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    (super::text::float_text(v) == text).then_some(v)
}

fn excel_row(number: usize) -> Result<u32, XlsxError> {
    number
        .checked_sub(1)
        .and_then(|r| u32::try_from(r).ok())
        .ok_or(XlsxError::RowColumnLimitError)
}

fn col(c: usize) -> Result<u16, XlsxError> {
    u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)
}

/// At most Excel's characters per cell.
fn cap(s: &str) -> &str {
    if s.len() <= MAX_CELL_CHARS {
        return s;
    }
    // UTF-16 units ≤ bytes, so cutting at a char boundary under the byte limit is safe.
    let mut end = MAX_CELL_CHARS;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A legal worksheet name: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let trimmed = cleaned.trim_matches('\'');
    if trimmed.trim().is_empty() {
        "import".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Format as FileFormat, SheetRow, read};
    use super::*;

    fn sheet() -> Sheet {
        let row = |number: usize, cells: &[&str]| SheetRow {
            number,
            cells: cells.iter().map(|s| s.to_string()).collect(),
        };
        Sheet {
            headers: vec![
                "站点名称".into(),
                "经度".into(),
                "纬度".into(),
                "电话".into(),
            ],
            rows: vec![
                row(3, &["甲站", "118.351234567891", "35.1", "0539-1234567"]),
                row(5, &["乙站", "35.1", "118.35", "13800138000"]),
                row(6, &["", "118", "35", ""]),
            ],
            sheet_name: Some("台账".into()),
            header_row: 2,
            preamble: vec![row(1, &["临沂市工会驿站台账"])],
        }
    }

    /// The report reads back (through calamine) as the same sheet plus the two
    /// status columns, rows at their original numbers.
    #[test]
    fn report_round_trips_through_calamine() {
        let sheet = sheet();
        let statuses = vec![
            (3, "accepted".to_owned(), String::new()),
            (
                5,
                "rejected".to_owned(),
                "lon: looks swapped: 经度 should be ~73..135 in China".to_owned(),
            ),
        ];
        let bytes = report_xlsx(&sheet, &statuses).unwrap();
        let back = read(&bytes, FileFormat::Xlsx, None).unwrap();
        assert_eq!(back.sheet_name.as_deref(), Some("台账"));
        assert_eq!(back.header_row, 2);
        assert_eq!(back.preamble, sheet.preamble);
        assert_eq!(
            back.preamble[0].cells.len(),
            1,
            "trailing empty cells trimmed"
        );
        let mut headers = sheet.headers.clone();
        headers.extend([STATUS_HEADER.to_owned(), REASON_HEADER.to_owned()]);
        assert_eq!(back.headers, headers);
        assert_eq!(back.rows.len(), 3);
        for (orig, got) in sheet.rows.iter().zip(&back.rows) {
            assert_eq!(orig.number, got.number);
            assert_eq!(&got.cells[..4], &orig.cells[..]);
        }
        assert_eq!(back.rows[0].cells[4..], ["accepted", ""]);
        assert_eq!(back.rows[1].cells[4], "rejected");
        assert!(back.rows[1].cells[5].contains("looks swapped"));
        assert!(back.rows[2].cells.len() <= 4 || back.rows[2].cells[4].is_empty());

        // A second report over the first replaces the status columns.
        let again = report_xlsx(&back, &[(5, "accepted".into(), String::new())]).unwrap();
        let again = read(&again, FileFormat::Xlsx, None).unwrap();
        assert_eq!(again.headers, headers);
        assert_eq!(again.rows[1].cells[4..], ["accepted", ""]);
        assert_eq!(again.rows[0].cells.get(4).map_or("", String::as_str), "");
    }

    #[test]
    fn numbers_stay_numbers_and_text_stays_text() {
        assert_eq!(as_number("118.35"), Some(118.35));
        assert_eq!(as_number("1234"), Some(1234.0));
        assert_eq!(as_number("-0.5"), Some(-0.5));
        assert_eq!(as_number("0371"), None);
        assert_eq!(as_number("0539-1234567"), None);
        assert_eq!(as_number("118.350"), None);
        assert_eq!(as_number("123456789012"), None);
        assert_eq!(as_number("1e5"), None);
        assert_eq!(sheet_name("a/b:c"), "a_b_c");
        assert!(cap(&"驿".repeat(20_000)).len() <= MAX_CELL_CHARS);
    }
}
