//! Problems in Chinese for those who ask for Chinese.
//!
//! Every problem+json answer is made in English (the reasons are written where the
//! fault is found: validation, parameters, coordinates). When the request's
//! `Accept-Language` prefers Chinese over English, this layer rewrites the answer's
//! `title`, `detail` and each `invalid-params` reason from the catalogue below and
//! says `Content-Language: zh-CN`; anything the catalogue does not know stays as
//! it was (English is never lost for a missing entry). Pages that have a language
//! switch send their own choice (`web/common.js`, `web/admin.js`), so the editor
//! in Chinese sees its form's errors in Chinese whatever the browser's language.
//!
//! The catalogue matches a reason against English templates, `{}` standing for
//! any text (a value, a name, a number), which is carried over into the Chinese
//! template in the same order. A test runs a corpus of bad features and bad
//! parameters through the real validation and requires every reason in it to have
//! a Chinese form, so a new message without one fails the suite.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// The largest problem body rewritten (they are a few hundred bytes).
const MAX_PROBLEM_BYTES: usize = 256 * 1024;

/// (English template, Chinese template); `{}` is any text, in order.
const CATALOGUE: &[(&str, &str)] = &[
    // Feature properties (src/model/properties.rs).
    ("is required", "必填"),
    (
        "is required (true for generated data)",
        "必填（生成的演示数据为 true）",
    ),
    ("must be a string, got {}", "应为文本，收到 {}"),
    (
        "must be an array of strings, got {}",
        "应为文本数组，收到 {}",
    ),
    (
        "must be a non-negative whole number, got {}",
        "应为非负整数，收到 {}",
    ),
    (
        "must be true or false, got {}",
        "应为 true 或 false，收到 {}",
    ),
    (
        "must be an array of amenity words, got {}",
        "应为设施词语的数组，收到 {}",
    ),
    ("expected one of {}, got {}", "应为以下之一：{}，收到 {}"),
    (
        "'{}' is not a date (YYYY-MM-DD)",
        "“{}”不是日期（年-月-日，YYYY-MM-DD）",
    ),
    (
        "'{}' contradicts the file name's layer '{}'",
        "“{}”与文件名所指图层“{}”不符",
    ),
    (
        "unknown property (see geodata/README.md)",
        "未知属性（见 geodata/README.md）",
    ),
    (
        "only fitness stations have a grade",
        "只有职工健身驿站有等级",
    ),
    (
        "{} is more than the park's {} enterprises",
        "{} 多于园区的企业数 {}",
    ),
    (
        "{} is more than the park's {} workers",
        "{} 多于园区的职工数 {}",
    ),
    (
        "{} contradicts the enterprise counts, which give {}",
        "{} 与企业数不符，按企业数应为 {}",
    ),
    (
        "unknown amenity '{}' (see geodata/README.md for the vocabulary)",
        "未知设施“{}”（词表见 geodata/README.md）",
    ),
    (
        "unknown amenities '{}' (see geodata/README.md)",
        "未知设施“{}”（词表见 geodata/README.md）",
    ),
    ("unknown layer '{}' (known: {})", "未知图层“{}”（可用：{}）"),
    (
        "cannot parse opening_hours '{}': {}",
        "无法读取开放时间“{}”：{}",
    ),
    ("expected \"Feature\"", "应为 \"Feature\""),
    (
        "feature id {} differs from properties.id",
        "要素 id {} 与 properties.id 不同",
    ),
    (
        "duplicate id (ids must be unique across all layers and files)",
        "id 重复（所有图层和文件中 id 须唯一）",
    ),
    ("must be a Point: {}", "应为 Point（点）：{}"),
    (
        "must be a Point, Polygon or MultiPolygon: {}",
        "应为 Point、Polygon 或 MultiPolygon：{}",
    ),
    ("a facility must be a Point", "设施的几何应为 Point（点）"),
    (
        "a position needs [lon, lat], got {} numbers",
        "坐标应为 [经度, 纬度]，收到 {} 个数",
    ),
    (
        "a polygon ring needs at least 4 positions, first equal to last",
        "多边形的环至少需要 4 个坐标，且首尾相同",
    ),
    ("a polygon needs a ring", "多边形至少需要一个环"),
    ("the polygon has no area", "多边形面积为零"),
    // Coordinates (src/model/position.rs).
    ("{} must be a finite number", "{} 应为有限的数"),
    (
        "latitude {} is outside -90..90 (longitude and latitude look swapped: GeoJSON order is [lon, lat])",
        "纬度 {} 超出 -90..90（经纬度似乎写反了：GeoJSON 的顺序是 [经度, 纬度]）",
    ),
    ("latitude {} is outside -90..90", "纬度 {} 超出 -90..90"),
    (
        "longitude {} is outside -180..180",
        "经度 {} 超出 -180..180",
    ),
    // Query parameters (src/http/params.rs).
    ("unknown parameter", "未知参数"),
    ("given more than once", "重复给出"),
    (
        "is empty: give a value, or leave the parameter out",
        "为空：请给出值，或省略此参数",
    ),
    ("'{}' is not a number", "“{}”不是数"),
    ("'{}' is not a whole number", "“{}”不是整数"),
    (
        "must be a finite number (not NaN or infinity)",
        "应为有限的数（不能是 NaN 或无穷大）",
    ),
    (
        "must be between {} and {}, got {}",
        "应在 {} 到 {} 之间，收到 {}",
    ),
    ("must be more than 0 metres, got {}", "应大于 0 米，收到 {}"),
    ("'{}' is not true or false", "“{}”不是 true 或 false"),
    ("has an empty item", "含有空项"),
    ("is required (WGS-84 degrees)", "必填（WGS-84 度）"),
    (
        "'{}' is not four finite numbers minlon,minlat,maxlon,maxlat",
        "“{}”不是四个有限的数 minlon,minlat,maxlon,maxlat",
    ),
    (
        "minlat {} is north of maxlat {}",
        "minlat {} 在 maxlat {} 以北",
    ),
    (
        "'{}' is not an RFC 3339 time such as 2026-11-23T20:00:00+08:00",
        "“{}”不是 RFC 3339 时间，例如 2026-11-23T20:00:00+08:00",
    ),
    // Siting bodies (src/http/coverage/siting.rs).
    (
        "is required (driver_home, courier_station, fitness_station)",
        "必填（driver_home、courier_station、fitness_station）",
    ),
    ("a whole number from {} to {}", " {} 到 {} 的整数"),
    ("a number of metres", "以米计的数"),
    ("a string", "文本"),
    ("a non-empty string", "非空文本"),
    (
        "[minlon, minlat, maxlon, maxlat]",
        " [minlon, minlat, maxlon, maxlat]",
    ),
    (
        "a list of none, partial, full",
        " none、partial、full 的列表",
    ),
    (
        "names no status: give none, partial or full, or leave it out",
        "没有给出状态：请给出 none、partial 或 full，或省略此项",
    ),
    (
        "radius must be more than 0 and at most {} metres, got {}",
        "半径应大于 0 且不超过 {} 米，收到 {}",
    ),
    ("unknown field ({})", "未知字段（可用：{}）"),
    ("unknown field (known: {})", "未知字段（可用：{}）"),
    ("must be a JSON object ({})", "应为 JSON 对象（{}）"),
    ("must be a JSON object", "应为 JSON 对象"),
    ("not JSON: {}", "不是 JSON：{}"),
    ("must be an array of Features", "应为 Feature 的数组"),
    ("{} features; at most {}", "{} 个要素；最多 {} 个"),
    ("must be a Point", "应为 Point（点）"),
    (
        "coordinates must be [lon, lat] numbers",
        "坐标应为 [经度, 纬度] 两个数",
    ),
    ("coordinates must be [lon, lat]", "坐标应为 [经度, 纬度]"),
    (
        "must be a whole number (an H3 resolution from 4 to 8)",
        "应为整数（H3 分辨率 4 到 8）",
    ),
    // Routes (src/route, src/http/along.rs).
    (
        "a GeoJSON LineString, an encoded polyline or 'lon,lat;lon,lat;…'",
        "应为 GeoJSON LineString、编码折线或“经度,纬度;经度,纬度;…”",
    ),
    (
        "needs depart (and speed_kmh, default 60)",
        "需要 depart（以及 speed_kmh，默认 60）",
    ),
    ("needs depart", "需要 depart"),
    (
        "resolution must be between {} and {}, got {}",
        "分辨率应在 {} 到 {} 之间，收到 {}",
    ),
    (
        "{} vertices; at most {} (simplify the route)",
        "{} 个点；最多 {} 个（请简化路线）",
    ),
    ("needs at least two points", "至少需要两个点"),
    ("{} km long; at most {} km", "长 {} 公里；最多 {} 公里"),
    ("not GPX: {}", "不是 GPX：{}"),
    ("the Feature has no geometry", "该 Feature 没有几何"),
    ("not a GeoJSON geometry: {}", "不是 GeoJSON 几何：{}"),
    ("'{}' is not 'lon,lat'", "“{}”不是“经度,纬度”"),
    (
        "not an encoded polyline (byte {} at {})",
        "不是编码折线（字节 {}，位置 {}）",
    ),
    (
        "{}: an encoded polyline has precision 5 or 6",
        "{}：编码折线的精度为 5 或 6",
    ),
    ("{} is outside {}..={}", "{} 超出 {}..={}"),
    (
        "'{}' is not an RFC 3339 instant: {}",
        "“{}”不是 RFC 3339 时刻：{}",
    ),
    // Whole answers (details of src/http/problem.rs and the handlers).
    ("the data is still loading", "数据仍在加载，请稍后再试"),
    ("no feature with id '{}'", "没有 id 为“{}”的要素"),
    ("the body is larger than {} bytes", "请求体超过 {} 字节"),
    (
        "too many failed authentications from this address; retry in {} s",
        "此地址认证失败次数过多，请 {} 秒后再试",
    ),
    (
        "the server failed to answer; the cause has been logged",
        "服务器未能应答，原因已记入日志",
    ),
    // Generic forms, last: the specific ones above win.
    ("'{}' is not {}", "“{}”不是 {}"),
    ("must be {}, got {}", "应为{}，收到 {}"),
    ("unknown {} '{}' ({})", "未知的 {}“{}”（可用：{}）"),
    ("point {}: {}", "第 {} 个点：{}"),
];

/// Chinese titles of the statuses problems are answered with.
fn title(status: u64) -> Option<&'static str> {
    Some(match status {
        400 => "请求有误",
        401 => "未认证",
        403 => "无权操作",
        404 => "未找到",
        405 => "不允许的方法",
        409 => "冲突",
        412 => "版本已变",
        413 => "请求体过大",
        414 => "地址过长",
        415 => "不支持的媒体类型",
        422 => "无法处理的内容",
        429 => "请求过多",
        431 => "请求头过大",
        500 => "服务器内部错误",
        503 => "服务暂不可用",
        _ => return None,
    })
}

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

/// `text` in Chinese, when the catalogue knows it.
pub fn zh(text: &str) -> Option<String> {
    CATALOGUE.iter().find_map(|(en, zh)| {
        let holes = captures(en, text)?;
        let mut out = String::with_capacity(zh.len() + text.len());
        let mut pieces = zh.split("{}");
        out.push_str(pieces.next().unwrap_or(""));
        for (hole, piece) in holes.iter().zip(pieces) {
            // A nested reason (an opening-hours parser's, a geometry's) in Chinese too.
            out.push_str(&zh_or_same(hole));
            out.push_str(piece);
        }
        Some(out)
    })
}

fn zh_or_same(text: &str) -> String {
    zh(text).unwrap_or_else(|| text.to_owned())
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
    if let Some(t) = object.get("status").and_then(Value::as_u64).and_then(title) {
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
                    let reason = zh_or_same(p.get("reason")?.as_str()?);
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
                assert!(
                    zh(&p.reason).is_some(),
                    "no Chinese for {}: {}",
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
                        assert!(
                            zh(&ip.reason).is_some(),
                            "no Chinese for {}: {}",
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
