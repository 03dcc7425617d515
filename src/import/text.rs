//! Lenient readers for what staff type into cells: full-width characters, thousands
//! separators, units ("1234人"), lower bounds ("300余家"), Chinese dates
//! ("2022年8月10日"), Excel date serials. Each either reads a value unambiguously or
//! says why not; none guesses.

use std::borrow::Cow;

use chrono::NaiveDate;

/// Folds full-width ASCII (U+FF01..U+FF5E) and the ideographic space to ASCII.
pub(crate) fn halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' => ' ',
        _ => c,
    }
}

/// `s` with full-width ASCII folded; borrowed when there is nothing to fold.
pub(crate) fn fold(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| halfwidth(c) == c) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(halfwidth).collect())
    }
}

/// Trims ASCII, full-width and non-breaking spaces (and stray zero-width spaces).
pub(crate) fn clean(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}'))
}

/// Whether `s` is a plain decimal: an optional sign, digits, at most one point
/// (no exponent, no `inf`/`NaN`, which `f64::from_str` would take).
fn is_plain_decimal(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut digits = 0;
    let mut points = 0;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return false,
        }
    }
    digits > 0 && points <= 1
}

/// A coordinate: a plain decimal after folding full-width digits, with an optional
/// `°` or `度` and an `E`/`N` (or `东经`/`北纬`) marker. `None` when it is not one.
pub(crate) fn parse_coordinate(s: &str) -> Option<f64> {
    let folded = fold(s);
    let mut t = clean(&folded);
    for prefix in ["东经", "北纬", "E", "N", "e", "n"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.trim_start();
            break;
        }
    }
    for suffix in ["E", "N", "e", "n"] {
        if let Some(rest) = t.strip_suffix(suffix) {
            t = rest.trim_end();
            break;
        }
    }
    for suffix in ["°", "度"] {
        if let Some(rest) = t.strip_suffix(suffix) {
            t = rest.trim_end();
            break;
        }
    }
    if !is_plain_decimal(t) {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A whole count read from a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Count {
    /// The number.
    pub value: u32,
    /// The cell said "at least" (`300+`, `300余`, `300多`, `300以上`).
    pub lower_bound: bool,
    /// The cell said "about" (`约300`).
    pub approximate: bool,
}

/// Reads a count: `1234`, `1,234`, `１２３４`, `1234人`, `300余家`, `300+`, `1.2万`,
/// `1234.0`. Refuses fractions, negatives, ambiguous separators and anything else,
/// with the reason.
pub(crate) fn parse_count(s: &str) -> Result<Count, String> {
    let folded = fold(s);
    let mut t: String = clean(&folded)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let original = clean(s);
    let mut lower_bound = false;
    let mut approximate = false;
    for prefix in ["约", "大约", "近"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.to_owned();
            approximate = true;
        }
    }
    // Strip units and "at least" markers from the end, in any order ("300余家",
    // "1200多人", "50家以上").
    loop {
        let before = t.len();
        for unit in ["人", "家", "个", "户", "名", "位", "座", "所"] {
            if let Some(rest) = t.strip_suffix(unit) {
                t = rest.to_owned();
            }
        }
        for bound in ["以上", "余", "多", "+"] {
            if let Some(rest) = t.strip_suffix(bound) {
                t = rest.to_owned();
                lower_bound = true;
            }
        }
        if t.len() == before {
            break;
        }
    }
    let mut scale = 1.0;
    if let Some(rest) = t.strip_suffix('万') {
        t = rest.to_owned();
        scale = 10_000.0;
    }
    if t.contains(',') {
        // Thousands separators only: 1-3 digits, then groups of exactly 3.
        let mut groups = t.split(',');
        let first_ok = groups
            .next()
            .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
        let mut rest_ok = true;
        let mut last = "";
        for g in groups {
            last = g;
            let digits = g.split('.').next().unwrap_or(g);
            rest_ok &= digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit());
        }
        if !first_ok || !rest_ok || last.is_empty() {
            return Err(format!("'{original}' is not a number"));
        }
        t.retain(|c| c != ',');
    }
    if t.is_empty() || !is_plain_decimal(&t) {
        return Err(format!("'{original}' is not a number"));
    }
    if t.starts_with('-') {
        return Err(format!("'{original}' is negative"));
    }
    let v: f64 = t
        .parse()
        .map_err(|_| format!("'{original}' is not a number"))?;
    let v = v * scale;
    let whole = v.round();
    if (v - whole).abs() > 1e-6 {
        return Err(format!("'{original}' is not a whole number"));
    }
    if whole > f64::from(u32::MAX) {
        return Err(format!("'{original}' is too large"));
    }
    Ok(Count {
        value: whole as u32,
        lower_bound,
        approximate,
    })
}

/// Reads a date: `2022-08-10`, `2022/8/10`, `2022.8.10`, `2022年8月10日`,
/// `20220810`, an Excel date serial (`44783`), a date with a time after it. Year-only
/// and year-month dates are refused with their own reason ("has no day").
pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let folded = fold(s);
    let t = clean(&folded);
    let original = clean(s);
    let bad = || format!("'{original}' is not a date (YYYY-MM-DD)");
    if t.is_empty() {
        return Err(bad());
    }
    if is_plain_decimal(t) {
        let v: f64 = t.parse().map_err(|_| bad())?;
        if t.len() == 4 && (1900.0..=2100.0).contains(&v) {
            return Err(format!("'{original}' gives the year only, not the day"));
        }
        if t.len() == 8 && !t.contains('.') {
            let (y, m, d) = (&t[..4], &t[4..6], &t[6..]);
            return ymd(y, m, d).ok_or_else(bad);
        }
        // An Excel serial (days since 1899-12-30) between 1927 and 2119.
        if (10_000.0..80_000.0).contains(&v) {
            let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).ok_or_else(bad)?;
            return epoch
                .checked_add_days(chrono::Days::new(v.floor() as u64))
                .ok_or_else(bad);
        }
        return Err(bad());
    }
    // The date part ends at a space or a 'T' (a time follows).
    let date_part = t
        .split([' ', 'T'])
        .next()
        .unwrap_or(t)
        .trim_end_matches(['日', '号']);
    let parts: Vec<&str> = date_part
        .split(['-', '/', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    if !parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => ymd(y, m, d).ok_or_else(bad),
        [y, _] | [y] if y.len() == 4 => Err(format!("'{original}' has no day (YYYY-MM-DD)")),
        _ => Err(bad()),
    }
}

fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    if m.len() > 2 || d.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// A number written the way a spreadsheet user expects: whole numbers without a
/// `.0`, others with the shortest decimals that read back to the same `f64` (full
/// precision for coordinates, never an exponent).
pub(crate) fn float_text(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_leniently_where_unambiguous() {
        let v = |s: &str| parse_count(s).map(|c| c.value);
        assert_eq!(v("1234"), Ok(1234));
        assert_eq!(v("1,234"), Ok(1234));
        assert_eq!(v("1，234,567"), Ok(1_234_567));
        assert_eq!(v("１２３４"), Ok(1234));
        assert_eq!(v("1234人"), Ok(1234));
        assert_eq!(v(" 56 家 "), Ok(56));
        assert_eq!(v("1234.0"), Ok(1234));
        assert_eq!(v("1.2万"), Ok(12_000));
        let c = parse_count("300余家").unwrap();
        assert_eq!((c.value, c.lower_bound), (300, true));
        assert!(parse_count("300+").unwrap().lower_bound);
        assert!(parse_count("1200多人").unwrap().lower_bound);
        assert!(parse_count("约300").unwrap().approximate);
        assert!(
            parse_count("12.5")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(parse_count("-3").unwrap_err().contains("negative"));
        assert!(parse_count("1,23").is_err());
        assert!(parse_count("abc").is_err());
        assert!(parse_count("").is_err());
        assert!(parse_count("1e5").is_err());
    }

    #[test]
    fn dates_in_the_usual_forms() {
        let d = |s: &str| parse_date(s).map(|d| d.to_string());
        let want = Ok("2022-08-10".to_owned());
        for s in [
            "2022-08-10",
            "2022/8/10",
            "2022.8.10",
            "2022年8月10日",
            "2022年08月10号",
            "20220810",
            "44783",
            "44783.5",
            "2022-08-10 09:30:00",
            "２０２２－０８－１０",
        ] {
            assert_eq!(d(s), want, "{s}");
        }
        assert!(parse_date("2022年8月").unwrap_err().contains("no day"));
        assert!(parse_date("2022").unwrap_err().contains("year only"));
        assert!(parse_date("2022-13-01").is_err());
        assert!(parse_date("去年").is_err());
        assert!(parse_date("22/8/10").is_err());
    }

    #[test]
    fn coordinates_and_float_text() {
        assert_eq!(parse_coordinate("118.35"), Some(118.35));
        assert_eq!(parse_coordinate(" １１８．３５ "), Some(118.35));
        assert_eq!(parse_coordinate("118.35°E"), Some(118.35));
        assert_eq!(parse_coordinate("北纬35.1"), Some(35.1));
        assert_eq!(parse_coordinate("-0.5"), Some(-0.5));
        assert_eq!(parse_coordinate("inf"), None);
        assert_eq!(parse_coordinate("NaN"), None);
        assert_eq!(parse_coordinate("1e2"), None);
        assert_eq!(parse_coordinate("118,35"), None);
        assert_eq!(parse_coordinate(""), None);
        assert_eq!(float_text(118.0), "118");
        assert_eq!(float_text(118.351234567891), "118.351234567891");
        assert_eq!(float_text(1e-7), "0.0000001");
        assert_eq!(float_text(13_800_138_000.0), "13800138000");
    }
}
