//! Problems in Chinese for those who ask for Chinese.
//!
//! Every problem+json answer is made in English (the reasons are written where the
//! fault is found: validation, parameters, coordinates). When the request's
//! `Accept-Language` prefers Chinese over English, this layer rewrites the answer's
//! `title`, `detail` and each `invalid-params` reason from the catalogue and
//! says `Content-Language: zh-CN`; anything the catalogue does not know stays as
//! it was (English is never lost for a missing entry). Pages that have a language
//! switch send their own choice (`web/common.js`, `web/admin.js`), so the editor
//! in Chinese sees its form's errors in Chinese whatever the browser's language.
//!
//! The catalogue matches a reason against English templates, `{}` standing for
//! any text (a value, a name, a number), which is carried over into the Chinese
//! template in the same order. A test runs a corpus of bad features and bad
//! parameters through the real validation and requires every reason in it to have
//! a Chinese form, so a new message without one fails the suite; another does the
//! same for the importer's reasons and warnings (`imports`).
//!
//! - `catalogue`: the English templates and their Chinese forms, the status titles.
//! - `imports`: an import's row report (reasons, warnings, status words) in the
//!   asker's language, for its JSON and its report workbook; the store keeps
//!   English, translation happens here on the way out.

mod catalogue;
pub mod imports;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// The largest problem body rewritten (they are a few hundred bytes).
const MAX_PROBLEM_BYTES: usize = 256 * 1024;

/// The parts of `text` standing for the `{}` of `template`, when it matches.
fn captures<'t>(template: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let mut parts = template.split("{}");
    let first = parts.next().unwrap_or("");
    let mut rest = text.strip_prefix(first)?;
    let literals: Vec<&str> = parts.collect();
    let mut out = Vec::with_capacity(literals.len());
    for (i, literal) in literals.iter().enumerate() {
        if i + 1 == literals.len() {
            // The last hole takes what comes before the template's end.
            let hole = rest.strip_suffix(literal)?;
            out.push(hole);
            rest = "";
        } else {
            let at = if literal.is_empty() {
                0
            } else {
                rest.find(literal)?
            };
            out.push(&rest[..at]);
            rest = &rest[at + literal.len()..];
        }
    }
    rest.is_empty().then_some(out)
}

/// How deep reasons nest inside reasons (a field's, its parser's, the parser's
/// detail), and the longest hole read as a nested reason: a hole can hold a
/// client's text, which must not make the work grow with its square.
const MAX_NESTING: usize = 3;
const MAX_NESTED_BYTES: usize = 300;

/// `text` in Chinese, when the catalogue knows it.
pub fn zh(text: &str) -> Option<String> {
    zh_nested(text, 0)
}

fn zh_nested(text: &str, depth: usize) -> Option<String> {
    catalogue::CATALOGUE.iter().find_map(|(en, zh)| {
        let holes = captures(en, text)?;
        let mut out = String::with_capacity(zh.len() + text.len());
        let mut pieces = zh.split("{}");
        out.push_str(pieces.next().unwrap_or(""));
        for (hole, piece) in holes.iter().zip(pieces) {
            // A nested reason (an opening-hours parser's, a geometry's) in Chinese too.
            let nested = (depth < MAX_NESTING && hole.len() <= MAX_NESTED_BYTES)
                .then(|| zh_nested(hole, depth + 1))
                .flatten();
            out.push_str(nested.as_deref().unwrap_or(hole));
            out.push_str(piece);
        }
        Some(out)
    })
}

/// Whether `Accept-Language` prefers Chinese to English (by quality, then order).
pub fn prefers_chinese(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut best: Option<(f32, bool)> = None;
    for item in value.split(',') {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let chinese = tag == "zh" || tag.starts_with("zh-");
        if q <= 0.0 || !(chinese || tag == "en" || tag.starts_with("en-")) {
            continue;
        }
        if best.is_none_or(|(b, _)| q > b) {
            best = Some((q, chinese));
        }
    }
    best.is_some_and(|(_, chinese)| chinese)
}

/// The problem+json body `bytes` with its texts in Chinese (`None`: not a problem
/// this layer can read, left alone).
fn translated(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut problem: Value = serde_json::from_slice(bytes).ok()?;
    let object = problem.as_object_mut()?;
    if let Some(t) = object
        .get("status")
        .and_then(Value::as_u64)
        .and_then(catalogue::title)
    {
        object.insert("title".into(), t.into());
    }
    let params: Option<Vec<(String, String)>> = object
        .get_mut("invalid-params")
        .and_then(Value::as_array_mut)
        .map(|list| {
            list.iter_mut()
                .filter_map(|p| {
                    let p = p.as_object_mut()?;
                    let name = p.get("name")?.as_str()?.to_owned();
                    let reason = {
                        let reason = p.get("reason")?.as_str()?;
                        zh(reason).unwrap_or_else(|| reason.to_owned())
                    };
                    p.insert("reason".into(), reason.clone().into());
                    Some((name, reason))
                })
                .collect()
        });
    let detail = match params {
        // The detail of a parameter problem lists the parameters (see problem.rs).
        Some(params) if !params.is_empty() => Some(
            params
                .iter()
                .map(|(name, reason)| format!("{name}：{reason}"))
                .collect::<Vec<_>>()
                .join("；"),
        ),
        _ => object.get("detail").and_then(Value::as_str).and_then(zh),
    };
    if let Some(detail) = detail {
        object.insert("detail".into(), detail.into());
    }
    serde_json::to_vec(&problem).ok()
}

/// Middleware: problem+json answers in Chinese for requests that prefer it; every
/// problem answer varies by `Accept-Language`.
pub async fn problems_in_chinese(request: Request, next: Next) -> Response {
    let chinese = prefers_chinese(request.headers());
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-language"));
    if !chinese {
        return Response::from_parts(parts, body);
    }
    let bytes = match to_bytes(body, MAX_PROBLEM_BYTES).await {
        Ok(b) => b,
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    match translated(&bytes) {
        Some(body) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts
                .headers
                .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("zh-CN"));
            Response::from_parts(parts, Body::from(body))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// Whether a Chinese text still holds an English phrase: three lower-case words
/// in a row, nothing but spaces between them, outside “quotes” and `backticks`
/// (a generic template can translate a reason's frame and leave its heart in
/// English). The catalogue's tests and `tests/localize.rs` hold every Chinese answer to it.
pub fn english_left(s: &str) -> bool {
    let mut plain = String::new();
    let mut quoted: Option<char> = None;
    for c in s.chars() {
        match (quoted, c) {
            (None, '“') => quoted = Some('”'),
            (None, '`') => quoted = Some('`'),
            (Some(q), c) if c == q => quoted = None,
            (None, c) => plain.push(c),
            _ => {}
        }
    }
    plain
        .split(|c: char| !(c.is_ascii_lowercase() || c == ' '))
        .any(|run| run.split(' ').filter(|w| !w.is_empty()).count() >= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_carry_their_values_over() {
        assert_eq!(zh("is required").as_deref(), Some("必填"));
        assert_eq!(
            zh("must be a non-negative whole number, got -3").as_deref(),
            Some("应为非负整数，收到 -3")
        );
        assert_eq!(
            zh("120 is more than the park's 100 enterprises").as_deref(),
            Some("120 多于园区的企业数 100")
        );
        assert_eq!(
            zh("latitude 116.4 is outside -90..90 (longitude and latitude look swapped: GeoJSON order is [lon, lat])")
                .as_deref(),
            Some("纬度 116.4 超出 -90..90（经纬度似乎写反了：GeoJSON 的顺序是 [经度, 纬度]）")
        );
        assert_eq!(
            zh("latitude 100 is outside -90..90").as_deref(),
            Some("纬度 100 超出 -90..90")
        );
        // A nested reason is translated too.
        assert_eq!(
            zh("must be a Point: longitude 200 is outside -180..180").as_deref(),
            Some("应为 Point（点）：经度 200 超出 -180..180")
        );
        assert_eq!(zh("something nobody wrote"), None);
        assert_eq!(zh("is required and more"), None);
    }

    /// Every template carries its values over: as many `{}` in Chinese as in
    /// English (they are filled in order), and no English template twice.
    #[test]
    fn the_catalogue_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (en, zh) in catalogue::CATALOGUE {
            assert_eq!(
                en.matches("{}").count(),
                zh.matches("{}").count(),
                "{en} → {zh}"
            );
            assert!(seen.insert(*en), "twice: {en}");
        }
    }

    /// Every reason of a corpus of bad features and bad parameters, found by the
    /// real validation, has a Chinese form: a new message without one fails here.
    #[test]
    fn every_validation_reason_has_a_chinese_form() {
        use crate::geodata::validate_feature;
        use crate::http::params::Params;
        use crate::http::problem::ApiError;
        use crate::model::{Amenity, Layer};
        use serde_json::json;

        let facility = |geometry: Value, properties: Value| json!({"type": "Feature", "geometry": geometry, "properties": properties});
        let point = json!({"type": "Point", "coordinates": [118.35, 35.1]});
        let corpus = [
            (
                Layer::FitnessStation,
                facility(
                    json!({"type": "Point", "coordinates": [200, 35]}),
                    json!({"id": 7, "name": "", "amenities": ["shower", "按摩椅", "桑拿"],
                        "opening_hours": "有时候开", "grade": "huge", "synthetic": "yes",
                        "position_accuracy": 3, "updated": "昨天", "colour": "red",
                        "layer": "park", "phone": ["1"]}),
                ),
            ),
            (
                Layer::DriverHome,
                json!({"type": "Feat", "id": "a", "geometry": {"type": "Point", "coordinates": [118.0, 116.4]},
                    "properties": {"id": "b", "name": "x", "grade": "simple", "amenities": [Amenity::ALL[0].id(), "桑拿"],
                        "source": "s", "position_accuracy": "surveyed", "synthetic": false,
                        "layer": "no_such_layer"}}),
            ),
            (
                Layer::DriverHome,
                facility(
                    json!({"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [1, 1]]]}),
                    json!({"id": "c", "name": "x", "amenities": "shower"}),
                ),
            ),
            (
                Layer::DriverHome,
                facility(
                    json!({"type": "Point", "coordinates": [1]}),
                    json!({"id": "d", "name": "x", "synthetic": true, "source": "s", "position_accuracy": "surveyed"}),
                ),
            ),
            (
                Layer::DriverHome,
                facility(
                    json!({"type": "Point", "coordinates": ["x", 1]}),
                    json!({"id": "d", "name": "x"}),
                ),
            ),
            (
                Layer::Park,
                facility(
                    json!({"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [3, 1], [1, 1]]]}),
                    json!({"id": "p", "name": "园", "enterprises": 10, "unionised_enterprises": 12,
                        "workers": 100, "union_members": 120, "union_status": "none",
                        "park_type": "theme_park", "counts_as_of": "2026-13-01", "source": "s",
                        "position_accuracy": "surveyed", "synthetic": false}),
                ),
            ),
            (
                Layer::Park,
                facility(
                    json!({"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [1, 1]]]}),
                    json!({"id": "q", "name": "园", "enterprises": -1, "workers": 1.5,
                        "union_status": "partial", "source": "s", "position_accuracy": "x",
                        "synthetic": false}),
                ),
            ),
            (
                Layer::Park,
                facility(
                    json!({"type": "Polygon", "coordinates": []}),
                    json!({"id": "r", "name": "园", "source": "s", "position_accuracy": "surveyed", "synthetic": false}),
                ),
            ),
            (
                Layer::Park,
                facility(
                    json!({"type": "LineString", "coordinates": [[1, 1], [2, 2]]}),
                    json!({"id": "s"}),
                ),
            ),
            (
                Layer::DriverHome,
                facility(
                    json!({"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 1]]]}),
                    json!({"id": "t"}),
                ),
            ),
            (
                Layer::DriverHome,
                json!({"type": "Feature", "properties": {"id": "u"}}),
            ),
            (
                Layer::DriverHome,
                facility(
                    point.clone(),
                    json!({"id": "v", "name": "x", "amenities": ["桑拿"], "source": "s", "position_accuracy": "surveyed", "synthetic": false}),
                ),
            ),
        ];
        let mut seen = 0;
        for (layer, feature) in corpus {
            let problems = validate_feature(layer, &serde_json::to_vec(&feature).unwrap())
                .expect_err("a bad feature");
            for p in problems {
                seen += 1;
                let z = zh(&p.reason);
                assert!(
                    z.as_deref().is_some_and(|z| !english_left(z)),
                    "no Chinese for {}: {} ({z:?})",
                    p.field,
                    p.reason
                );
            }
        }
        assert!(seen >= 40, "the corpus found only {seen} problems");

        // Query parameters, as the routes read them.
        let queries = [
            "lon=abc&lat=100&k=0&radius_m=-3&open_now=yes&at=tomorrow&bbox=1,2&x=1&k=2",
            "lon=200&lat=NaN&bbox=1,5,2,4&layers=driver_home,,park&k=",
            "lat=116.4&lon=39.9",
            "bbox=1,2,3,x",
        ];
        for q in queries {
            let mut p = Params::parse(Some(q)).unwrap();
            p.lon_lat();
            p.integer("k", 1..=50, 5);
            p.metres("radius_m");
            p.flag("open_now", false);
            p.instant("at");
            p.bbox("bbox");
            p.list::<Layer>("layers");
            match p.finish() {
                Err(ApiError::InvalidParams(list)) => {
                    for ip in list {
                        let z = zh(&ip.reason);
                        assert!(
                            z.as_deref().is_some_and(|z| !english_left(z)),
                            "no Chinese for {}: {} ({z:?})",
                            ip.name,
                            ip.reason
                        );
                    }
                }
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn accept_language_is_weighed() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(prefers_chinese(&h("zh-CN,zh;q=0.9,en;q=0.8")));
        assert!(prefers_chinese(&h("zh")));
        assert!(prefers_chinese(&h("fr, zh-Hans-CN;q=0.5")));
        assert!(!prefers_chinese(&h("en-US,en;q=0.9,zh-CN;q=0.8")));
        assert!(!prefers_chinese(&h("en, zh")));
        assert!(!prefers_chinese(&h("zh;q=0, en;q=0.1")));
        assert!(!prefers_chinese(&HeaderMap::new()));
    }

    #[test]
    fn a_problem_body_is_rewritten_whole() {
        let body = serde_json::json!({
            "type": "about:blank", "title": "Bad Request", "status": 400,
            "detail": "lon: longitude 218 is outside -180..180; k: unknown parameter",
            "invalid-params": [
                {"name": "lon", "reason": "longitude 218 is outside -180..180"},
                {"name": "k", "reason": "unknown parameter"},
                {"name": "x", "reason": "a reason with no translation"}
            ]
        });
        let out: Value =
            serde_json::from_slice(&translated(&serde_json::to_vec(&body).unwrap()).unwrap())
                .unwrap();
        assert_eq!(out["title"], "请求有误");
        assert_eq!(
            out["invalid-params"][0]["reason"],
            "经度 218 超出 -180..180"
        );
        assert_eq!(out["invalid-params"][1]["reason"], "未知参数");
        assert_eq!(
            out["invalid-params"][2]["reason"],
            "a reason with no translation"
        );
        assert_eq!(
            out["detail"],
            "lon：经度 218 超出 -180..180；k：未知参数；x：a reason with no translation"
        );
        let not_found = serde_json::json!({"type": "about:blank", "title": "Not Found",
            "status": 404, "detail": "no feature with id 'dh-9'"});
        let out: Value =
            serde_json::from_slice(&translated(&serde_json::to_vec(&not_found).unwrap()).unwrap())
                .unwrap();
        assert_eq!(out["detail"], "没有 id 为“dh-9”的要素");
        assert_eq!(out["title"], "未找到");
    }
}
