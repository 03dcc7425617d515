//! Problems in the asker's language: the same bad requests asked in English and in
//! Chinese (`Accept-Language`) give the same parameters at fault, with every
//! Chinese reason translated (it differs from the English one and holds Chinese),
//! `Content-Language: zh-CN` and `Vary: Accept-Language`. An import's row report
//! (its JSON and its report workbook) follows the same rule.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use waystation::http::localize::english_left;

/// (method, uri, content type, body) of a request the server refuses.
type BadRequest<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Requests the read-only server refuses.
const BAD: &[BadRequest] = &[
    (
        "GET",
        "/api/v1/nearest?lon=abc&lat=95&k=0&open_now=yes&lng=1",
        "",
        "",
    ),
    (
        "GET",
        "/api/v1/nearest?lon=116.4&lat=39.9&radius_m=-5&at=tomorrow&bbox=1,2",
        "",
        "",
    ),
    (
        "GET",
        "/api/v1/coverage/parks?bbox=1,5,2,4&min_workers=many",
        "",
        "",
    ),
    (
        "POST",
        "/api/v1/siting",
        "application/json",
        r#"{"p": 0, "radius_m": -1, "weight": 3, "bbox": [1, 5, 2, 4], "city": "",
            "union_status": [], "min_workers": 1.5, "candidates": {"h3": 12}, "colour": "red"}"#,
    ),
    (
        "POST",
        "/api/v1/siting",
        "application/json",
        r#"{"layer": "driver_home", "candidates": {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}}]}}"#,
    ),
    (
        "POST",
        "/api/v1/along",
        "application/json",
        r#"{"route": [[116.4, 39.9]], "crs": "wgs84", "corridor_m": -3, "speed": 1}"#,
    ),
    (
        "POST",
        "/api/v1/along",
        "application/json",
        r#"{"route": [[116.4, 39.9], [-70, 40]], "crs": "wgs84"}"#,
    ),
    (
        "POST",
        "/api/v1/along",
        "application/json",
        r#"{"route": "116.4,39.9;abc", "crs": "wgs84"}"#,
    ),
    ("GET", "/api/v1/features/no-such-id", "", ""),
    (
        "GET",
        "/ogc/collections/park/items?filter=colour%20%3D%201&limit=0&bbox=1,2&datetime=2024-13-01/..",
        "",
        "",
    ),
    (
        "GET",
        "/ogc/collections/park/items?filter=workers%20%3E%20%27many%27&filter-crs=EPSG:3857",
        "",
        "",
    ),
    (
        "GET",
        "/ogc/collections/driver_home/items?filter=S_INTERSECTS(geometry%2C%20BBOX(1%2C5%2C2%2C4))%20AND%20CASEI(name)%20%3D%20%27a%27",
        "",
        "",
    ),
    ("GET", "/ogc/collections/nowhere/items", "", ""),
    ("POST", "/api/v1/features", "application/json", "{}"),
    ("DELETE", "/api/v1/layers", "", ""),
    ("GET", "/api/v1/nowhere", "", ""),
];

/// `request` sent to `app` with `headers` (a token, `If-Match`) and `Accept-Language: lang`.
async fn ask_with(
    app: &Router,
    (method, uri, kind, body): (&str, &str, &str, &str),
    headers: &[(&str, String)],
    lang: &str,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("accept-language", lang);
    if !kind.is_empty() {
        req = req.header("content-type", kind);
    }
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req.body(Body::from(body.to_owned())).unwrap();
    let (status, response, bytes) = common::send(app.clone(), req).await;
    let headers = response.headers().clone();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{method} {uri}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, headers, value)
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Asks `request` in English and in Chinese and holds the answers to each other:
/// the same status and parameters, `Content-Language` and `Vary`, a Chinese title
/// and detail; any reason (or detail) left in English is pushed on `untranslated`.
/// Returns how many reasons were compared.
async fn compare(
    app: &Router,
    request: (&str, &str, &str, &str),
    headers: &[(&str, String)],
    untranslated: &mut Vec<String>,
) -> usize {
    let (en_status, en_headers, en) = ask_with(app, request, headers, "en-GB,en;q=0.9").await;
    let (zh_status, zh_headers, zh) =
        ask_with(app, request, headers, "zh-CN,zh;q=0.9,en;q=0.8").await;
    let what = format!("{} {}", request.0, request.1);
    assert!(en_status.is_client_error(), "{what}: {en_status}");
    assert_eq!(zh_status, en_status, "{what}");
    assert!(en_headers.get("content-language").is_none(), "{what}");
    assert_eq!(zh_headers["content-language"], "zh-CN", "{what}");
    for h in [&en_headers, &zh_headers] {
        assert!(
            h.get_all("vary")
                .iter()
                .any(|v| v.to_str().unwrap().contains("accept-language")),
            "{what}: {h:?}"
        );
    }
    assert!(has_chinese(zh["title"].as_str().unwrap()), "{what}: {zh}");
    let (en_detail, zh_detail) = (
        en["detail"].as_str().unwrap(),
        zh["detail"].as_str().unwrap(),
    );
    if zh_detail == en_detail || !has_chinese(zh_detail) || english_left(zh_detail) {
        untranslated.push(format!("{what}: detail \"{en_detail}\" → \"{zh_detail}\""));
    }
    let params = |v: &Value| -> Vec<(String, String)> {
        v["invalid-params"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap().to_owned(),
                            p["reason"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (en_params, zh_params) = (params(&en), params(&zh));
    assert_eq!(en_params.len(), zh_params.len(), "{what}");
    for ((en_name, en_reason), (zh_name, zh_reason)) in en_params.iter().zip(&zh_params) {
        assert_eq!(en_name, zh_name, "{what}");
        if zh_reason == en_reason || !has_chinese(zh_reason) || english_left(zh_reason) {
            untranslated.push(format!(
                "{what}: {en_name}: \"{en_reason}\" → \"{zh_reason}\""
            ));
        }
    }
    en_params.len()
}

/// Bad requests to the read-only server (parameters, bodies, routes, the OGC API)
/// are answered in the language asked for.
#[tokio::test]
async fn problems_come_in_the_language_asked_for() {
    let app = common::app();
    let mut reasons = 0;
    let mut untranslated = Vec::new();
    for &request in BAD {
        reasons += compare(&app, request, &[], &mut untranslated).await;
    }
    assert!(
        untranslated.is_empty(),
        "no Chinese for:\n{}",
        untranslated.join("\n")
    );
    assert!(reasons >= 30, "only {reasons} reasons were compared");
}

/// A token missing or unknown (401), a city or an origin not allowed (403), an id
/// taken (409), a stale `If-Match` (412), a history entry or an import that does not
/// exist (404) and imports refused whole (400) are answered in Chinese too.
#[tokio::test]
async fn registry_problems_come_in_the_language_asked_for() {
    let f = common::registered();
    let bearer = |t: &str| ("authorization", format!("Bearer {t}"));
    let station = |city: &str| {
        serde_json::json!({"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [117.0, 36.65]},
            "properties": {"layer": "courier_station", "name": "测试站", "city": city,
                "source": "test", "position_accuracy": "surveyed", "synthetic": false}})
        .to_string()
    };
    let jinan = station("济南市");
    let taken = {
        let mut v: Value = serde_json::from_str(&station("临沂市")).unwrap();
        v["properties"]["id"] = "dh-linyi-caiyuan".into();
        v["properties"]["layer"] = "driver_home".into();
        v.to_string()
    };
    let json = "application/json";
    let csv = "text/csv";
    let cases: Vec<(BadRequest, Vec<(&str, String)>)> = vec![
        (("POST", "/api/v1/features", json, &jinan), vec![]),
        (
            ("POST", "/api/v1/features", json, &jinan),
            vec![bearer("ws_no_such_token")],
        ),
        (
            ("POST", "/api/v1/features", json, &jinan),
            vec![bearer(&f.linyi)],
        ),
        (
            ("POST", "/api/v1/features", json, &jinan),
            vec![
                bearer(&f.admin),
                ("origin", "https://evil.example".into()),
                ("host", "127.0.0.1:8080".into()),
            ],
        ),
        (
            ("POST", "/api/v1/features", json, &taken),
            vec![bearer(&f.admin)],
        ),
        (
            (
                "PATCH",
                "/api/v1/features/dh-linyi-caiyuan",
                "application/merge-patch+json",
                r#"{"properties": {"name": "改名"}}"#,
            ),
            vec![bearer(&f.admin), ("if-match", "\"stale\"".into())],
        ),
        (
            (
                "POST",
                "/api/v1/features/dh-linyi-caiyuan/history/999/revert",
                "",
                "",
            ),
            vec![bearer(&f.admin)],
        ),
        (
            (
                "POST",
                "/api/v1/imports?layer=lake&crs=mars&dry_run=maybe",
                "",
                "x",
            ),
            vec![bearer(&f.admin)],
        ),
        (("POST", "/api/v1/imports", "", "x"), vec![bearer(&f.admin)]),
        (
            (
                "POST",
                "/api/v1/imports?layer=park&crs=wgs84&map=name",
                csv,
                "名称,经度\n甲,1\n",
            ),
            vec![bearer(&f.admin)],
        ),
        (
            (
                "POST",
                "/api/v1/imports?layer=park&crs=wgs84",
                csv,
                "地址,经度\n甲,1\n",
            ),
            vec![bearer(&f.admin)],
        ),
        (
            ("GET", "/api/v1/imports/999999", "", ""),
            vec![bearer(&f.admin)],
        ),
    ];
    let mut untranslated = Vec::new();
    let mut reasons = 0;
    let mut statuses = Vec::new();
    for (request, headers) in &cases {
        reasons += compare(&f.app, *request, headers, &mut untranslated).await;
        let (status, _, _) = ask_with(&f.app, *request, headers, "en").await;
        statuses.push(status.as_u16());
    }
    assert_eq!(
        statuses,
        [401, 401, 403, 403, 409, 412, 404, 400, 400, 400, 400, 404],
        "the cases ask for what they say"
    );
    assert!(
        untranslated.is_empty(),
        "no Chinese for:\n{}",
        untranslated.join("\n")
    );
    assert!(reasons >= 5, "only {reasons} reasons were compared");
}

/// The rows of an xlsx, as text.
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx");
    let range = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// An import's row report (the import's answer, its stored status and its report
/// workbook) comes in Chinese when asked for and in English otherwise: reasons,
/// warnings and status words, with the user's values and the row numbers kept.
#[tokio::test]
async fn import_reports_come_in_the_language_asked_for() {
    let f = common::registered();
    let sheet = "站点名称,经度,纬度,营业时间,服务设施\n\
                 甲站,118.35,35.1,周一至周五 9:00-18:00,热水\n\
                 乙站,118.36,200,,\n\
                 丙站,118.37,35.2,有时候开,热水;桑拿\n";
    let token = [("authorization", format!("Bearer {}", f.admin))];
    let zh = "zh-CN,zh;q=0.9";
    let upload = (
        "POST",
        "/api/v1/imports?layer=courier_station&crs=wgs84&dry_run=true",
        "text/csv",
        sheet,
    );
    let (status, headers, posted) = ask_with(&f.app, upload, &token, zh).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    assert_eq!(headers["content-language"], "zh-CN");
    let row = |v: &Value, n: i64| -> Value {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["row"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("no row {n} in {v}"))
    };
    assert_eq!(row(&posted, 2)["status"], "accepted", "{posted}");
    assert_eq!(row(&posted, 2)["status_text"], "新增");
    assert_eq!(row(&posted, 3)["status"], "rejected");
    assert_eq!(row(&posted, 3)["status_text"], "拒绝");
    assert_eq!(row(&posted, 3)["reason"], "lat：纬度 200 超出 -90..90");
    let warnings: Vec<String> = row(&posted, 4)["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("“有时候开”") && w.contains("无法识别")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("'桑拿'") && w.contains("不在设施词表中")),
        "{warnings:?}"
    );

    for r in posted["rows"].as_array().unwrap() {
        let texts = std::iter::once(&r["reason"]).chain(r["warnings"].as_array().unwrap());
        for t in texts.map(|t| t.as_str().unwrap()) {
            assert!(!english_left(t), "English left in row {}: {t}", r["row"]);
        }
    }
    let location = headers["location"].to_str().unwrap().to_owned();
    let get = ("GET", location.as_str(), "", "");
    let (_, headers, stored_zh) = ask_with(&f.app, get, &token, zh).await;
    assert_eq!(headers["content-language"], "zh-CN");
    assert_eq!(
        stored_zh["rows"], posted["rows"],
        "the stored report, in Chinese"
    );
    let (_, headers, stored_en) = ask_with(&f.app, get, &token, "en").await;
    assert_eq!(headers["content-language"], "en");
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("accept-language"))
    );
    assert_eq!(row(&stored_en, 3)["status_text"], "rejected");
    assert_eq!(
        row(&stored_en, 3)["reason"],
        "lat: latitude 200 is outside -90..90"
    );
    let en_warnings = row(&stored_en, 4)["warnings"].to_string();
    assert!(
        en_warnings.contains("'有时候开' not understood")
            && en_warnings.contains("'桑拿' not in the vocabulary")
            && !en_warnings.contains("无法识别"),
        "{en_warnings}"
    );

    // The report workbook, in either language.
    let report = format!("{location}/report.xlsx");
    let fetch = |lang: &'static str| {
        let req = Request::get(report.as_str())
            .header("authorization", format!("Bearer {}", f.admin))
            .header("accept-language", lang)
            .body(Body::empty())
            .unwrap();
        common::send(f.app.clone(), req)
    };
    let (status, response, bytes) = fetch("zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.headers()["content-language"], "zh-CN");
    let zh_rows = xlsx_rows(&bytes);
    let column = |name: &str| zh_rows[0].iter().position(|h| h.contains(name)).unwrap();
    let (status_col, reason_col) = (column("status"), column("reason"));
    assert_eq!(zh_rows[1][status_col], "新增", "{zh_rows:?}");
    assert_eq!(zh_rows[2][status_col], "拒绝");
    assert_eq!(zh_rows[2][reason_col], "lat：纬度 200 超出 -90..90");
    assert_eq!(zh_rows[2][2], "200", "the user's cells are kept");
    let (_, _, bytes) = fetch("en-US").await;
    let en_rows = xlsx_rows(&bytes);
    assert_eq!(en_rows[1][status_col], "accepted");
    assert_eq!(en_rows[2][status_col], "rejected");
    assert_eq!(
        en_rows[2][reason_col],
        "lat: latitude 200 is outside -90..90"
    );
}
