//! An import's row report in the asker's language.
//!
//! The store keeps every import's report in English (it is language-neutral: the
//! CLI prints it, the next reader may want either language). On the way out, the
//! import routes (`POST /api/v1/imports`, `GET /api/v1/imports/{id}` and its
//! `report.xlsx`) pass the rows through here: a row's reason is a list of
//! `field: reason` items joined by `; ` (see `registry::import`), each item's
//! reason is matched against the one catalogue (`super::catalogue`), and the field
//! names, row numbers and the user's own values are kept as given. Status words
//! are the admin page's (新增, 更新, 未变, 拒绝).

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{prefers_chinese, zh};
use crate::store::{ImportRecord, ImportRow};

/// The most `; `-separated items a reason is parsed into (a row has a few).
const MAX_ITEMS: usize = 64;

/// The language an answer is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English, as stored.
    En,
    /// Chinese (simplified).
    Zh,
}

impl Lang {
    /// Chinese when the request's `Accept-Language` prefers it to English (the rule
    /// problems follow), else English.
    pub fn of(headers: &HeaderMap) -> Lang {
        if prefers_chinese(headers) {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// The `Content-Language` of an answer in this language.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }
}

/// A row's status (`accepted`, `updated`, `unchanged`, `rejected`) as a word: in
/// English the status itself.
pub fn status_word(status: &str, lang: Lang) -> &str {
    match (lang, status) {
        (Lang::Zh, "accepted") => "新增",
        (Lang::Zh, "updated") => "更新",
        (Lang::Zh, "unchanged") => "未变",
        (Lang::Zh, "rejected") => "拒绝",
        _ => status,
    }
}

/// `text` (a reason, a warning or an import's error) in `lang`; in Chinese every
/// item the catalogue knows is translated and any other kept in English.
pub fn text(text: &str, lang: Lang) -> String {
    match lang {
        Lang::En => text.to_owned(),
        Lang::Zh => zh_whole(text).unwrap_or_else(|| zh_partly(text)),
    }
}

/// The rows of an import report, as JSON, in `lang`: `reason` and `warnings`
/// translated, `status` kept (a code programs read) and `status_text` its word.
pub fn rows_json(rows: &[ImportRow], lang: Lang) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "row": r.row,
                    "status": r.status,
                    "status_text": status_word(&r.status, lang),
                    "reason": text(&r.reason, lang),
                    "feature_id": r.feature_id,
                    "warnings": r.warnings.iter().map(|w| text(w, lang)).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// An import's record in `lang` (its `error`, when it failed, translated).
pub fn record(mut record: ImportRecord, lang: Lang) -> ImportRecord {
    record.error = record.error.map(|e| text(&e, lang));
    record
}

/// The report workbook's (row, status, reason), the reason in `lang` (the status
/// stays a code: the workbook writes its word, see [`status_word`]).
pub fn statuses(rows: &[ImportRow], lang: Lang) -> Vec<(usize, String, String)> {
    rows.iter()
        .map(|r| {
            (
                usize::try_from(r.row).unwrap_or(0),
                r.status.clone(),
                text(&r.reason, lang),
            )
        })
        .collect()
}

/// Where the items of a `field: reason; field: reason` list start: 0, then after
/// each `; ` that a field name and `: ` follow (a `; ` inside a reason, as in
/// "…; kept in notes", is not followed by a field).
fn item_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    for (at, _) in text.match_indices("; ") {
        let next = at + 2;
        if field_of(&text[next..]).is_some() {
            starts.push(next);
        }
    }
    starts
}

/// The field name an item starts with (`lon`, `properties.union_members`, `id`),
/// and the reason after its `: `.
fn field_of(item: &str) -> Option<(&str, &str)> {
    let (field, reason) = item.split_once(": ")?;
    let mut chars = field.chars();
    let first = chars.next()?;
    let plain = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.[]-".contains(c));
    plain.then_some((field, reason))
}

/// One item in Chinese: `field：理由`, or a whole sentence the catalogue knows.
fn item_zh(item: &str) -> Option<String> {
    if let Some((field, reason)) = field_of(item)
        && let Some(z) = zh(reason)
    {
        return Some(format!("{field}：{z}"));
    }
    zh(item)
}

/// `text` in Chinese when every item of it has a Chinese form: the split into
/// items that translates whole is searched for (a user's value may hold `; x: `).
pub fn zh_whole(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some(String::new());
    }
    let starts = item_starts(text);
    if starts.len() > MAX_ITEMS {
        return item_zh(text);
    }
    let k = starts.len();
    // best[i]: the items from starts[i] to the end, translated.
    let mut best: Vec<Option<String>> = vec![None; k + 1];
    best[k] = Some(String::new());
    for i in (0..k).rev() {
        for j in i + 1..=k {
            let end = if j == k { text.len() } else { starts[j] - 2 };
            let Some(rest) = &best[j] else { continue };
            if let Some(item) = item_zh(&text[starts[i]..end]) {
                best[i] = Some(if j == k {
                    item
                } else {
                    format!("{item}；{rest}")
                });
                break;
            }
        }
    }
    best.swap_remove(0)
}

/// `text` split at every item start, each item translated when it can be.
fn zh_partly(text: &str) -> String {
    let starts = item_starts(text);
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts.get(i + 1).map_or(text.len(), |&n| n - 2);
            let item = &text[s..end];
            item_zh(item).unwrap_or_else(|| item.to_owned())
        })
        .collect::<Vec<_>>()
        .join("；")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{self, Format, InputCrs, Options, RowOutcome};
    use crate::model::Layer;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default()
    }

    fn converted(csv: &str, layer: Layer, crs: InputCrs) -> Vec<RowOutcome> {
        let sheet = import::read(csv.as_bytes(), Format::Csv, None).expect("a CSV");
        let opts = Options {
            crs,
            ..Options::new(layer, today())
        };
        import::convert(&sheet, &opts, &mut |_, _| {}).expect("columns")
    }

    #[test]
    fn lists_are_split_at_fields_only() {
        assert_eq!(
            zh_whole("lat: latitude 200 is outside -90..90; name: missing (站点名称 is empty)")
                .as_deref(),
            Some("lat：纬度 200 超出 -90..90；name：缺失（站点名称为空）")
        );
        // A "; " inside a reason is not a new item.
        assert_eq!(
            zh_whole("properties.grade: '豪华型' is not 简易型, 常规型 or 综合型; kept in notes")
                .as_deref(),
            Some("properties.grade：“豪华型”不是 简易型、常规型 或 综合型；已记入备注（notes）")
        );
        // A user's value holding "; x: " is kept whole.
        assert_eq!(
            zh_whole("lon: 经度 'a; b: c' is not a number").as_deref(),
            Some("lon：经度“a; b: c”不是数字")
        );
        assert_eq!(zh_whole("lon: something nobody wrote"), None);
        assert_eq!(
            text(
                "lat: latitude 200 is outside -90..90; x: something nobody wrote",
                Lang::Zh
            ),
            "lat：纬度 200 超出 -90..90；x: something nobody wrote"
        );
        assert_eq!(text("anything", Lang::En), "anything");
        assert_eq!(status_word("rejected", Lang::Zh), "拒绝");
        assert_eq!(status_word("rejected", Lang::En), "rejected");
    }

    /// Every reason and warning the importer gives for a corpus of bad sheet rows
    /// (through the real `import::convert`), and every reason the registry adds
    /// when it matches and validates a row, has a Chinese form.
    #[test]
    fn every_import_reason_and_warning_has_a_chinese_form() {
        let facilities = "\
站点名称,经度,纬度,营业时间,服务设施,等级,编号\n\
甲站,118.35,35.1,有时候开,热水;桑拿;按摩椅,豪华型,a1\n\
,118.35,35.1,,,,\n\
乙站,abc,xyz,,,,\n\
丙站,,,,,,\n\
丁站,0,0,,,,\n\
戊站,35.1,118.35,,,,\n\
己站,200,95,,,,\n\
庚站,500,45,,,,\n\
辛站,-70,40,,,,\n\
甲站,118.35,35.1,,,,a1\n\
甲站,118.3501,35.1001,,,,\n";
        let lonlat = "站点名称,经纬度\n甲站,118.35\n乙站,\n";
        let geometry = "{\"type\":\"FeatureCollection\",\"features\":[\
            {\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[1,1],[2,2]]},\"properties\":{\"name\":\"甲\"}},\
            {\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"name\":\"乙\"}}]}";
        let parks = "\
园区名称,经度,纬度,企业数,已建会企业数,职工数,会员数,建会情况,园区类型,建会时间,统计时间\n\
甲园,118.35,35.1,10,12,100,120,不清楚,游乐园,2022,2022年8月\n\
乙园,118.36,35.2,-3,1.5,abc,99999999999999,,,,\n\
丙园,118.37,35.3,300多,约100,10,10,未建会,,,\n\
丁园,118.38,35.4,10,0,,,已建会,,,\n";
        let mut outcomes = converted(facilities, Layer::CourierStation, InputCrs::Gcj02);
        outcomes.extend(converted(facilities, Layer::FitnessStation, InputCrs::Bd09));
        outcomes.extend(converted(lonlat, Layer::DriverHome, InputCrs::Wgs84));
        outcomes.extend(converted(parks, Layer::Park, InputCrs::Wgs84));
        let sheet = import::read(geometry.as_bytes(), Format::GeoJson, None).expect("GeoJSON");
        let opts = Options::new(Layer::DriverHome, today());
        outcomes.extend(import::convert(&sheet, &opts, &mut |_, _| {}).expect("columns"));

        let mut texts: Vec<String> = Vec::new();
        let (mut reasons, mut warnings) = (0, 0);
        for o in &outcomes {
            if o.feature.is_err() {
                reasons += 1;
                texts.push(o.reason());
            }
            warnings += o.warnings.len();
            texts.extend(o.warnings.iter().cloned());
        }
        assert!(reasons >= 15, "only {reasons} rejected rows");
        assert!(warnings >= 8, "only {warnings} warnings");
        // What the registry adds (src/registry/import.rs, edit.rs).
        texts.extend(
            [
                "this token may import features of 临沂市 only",
                "id 'cs-1' belongs to another layer",
                "id: feature id 'a' differs from properties.id 'b'",
                "properties.layer: is required (driver_home, courier_station, fitness_station or park)",
            ]
            .map(String::from),
        );
        // Why a whole file is refused (src/import/mod.rs), as the 400 says it.
        let errors = [
            import::read(b"not a zip", Format::Xlsx, None).err(),
            import::read(b"", Format::Csv, None).err(),
            import::read(b"{\"type\": 3}", Format::GeoJson, None).err(),
            Options::parse_map("name").err(),
            Options::parse_map("name=").err(),
            Options::parse_map("name=a,name=b").err(),
            Options::parse_map("colour=a").err(),
            "nowhere".parse::<InputCrs>().err(),
            import::read("名称,地址\n甲,乙\n".as_bytes(), Format::Csv, None)
                .ok()
                .and_then(|s| import::columns(&s, &Options::new(Layer::Park, today())).err()),
            import::read("地址,经度\n甲,乙\n".as_bytes(), Format::Csv, None)
                .ok()
                .and_then(|s| import::columns(&s, &Options::new(Layer::Park, today())).err()),
        ];
        for e in errors {
            texts.push(e.expect("an error").to_string());
        }
        let missing: Vec<(&String, Option<String>)> = texts
            .iter()
            .map(|t| (t, zh_whole(t)))
            .filter(|(_, z)| z.as_deref().is_none_or(crate::http::localize::english_left))
            .collect();
        assert!(missing.is_empty(), "no Chinese for:\n{missing:#?}");
    }
}
