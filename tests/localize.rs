//! Problems in the asker's language: the same bad requests asked in English and in
//! Chinese (`Accept-Language`) give the same parameters at fault, with every
//! Chinese reason translated (it differs from the English one and holds Chinese),
//! `Content-Language: zh-CN` and `Vary: Accept-Language`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

/// (method, uri, content type, body) of requests the server refuses.
const BAD: &[(&str, &str, &str, &str)] = &[
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
];

async fn ask(
    (method, uri, kind, body): (&str, &str, &str, &str),
    lang: &str,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("accept-language", lang);
    if !kind.is_empty() {
        req = req.header("content-type", kind);
    }
    let req = req.body(Body::from(body.to_owned())).unwrap();
    let (status, response, bytes) = common::send(common::app(), req).await;
    let headers = response.headers().clone();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[tokio::test]
async fn problems_come_in_the_language_asked_for() {
    let mut reasons = 0;
    let mut untranslated = Vec::new();
    for &request in BAD {
        let (en_status, en_headers, en) = ask(request, "en-GB,en;q=0.9").await;
        let (zh_status, zh_headers, zh) = ask(request, "zh-CN,zh;q=0.9,en;q=0.8").await;
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
        assert!(has_chinese(zh["detail"].as_str().unwrap()), "{what}: {zh}");
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
            reasons += 1;
            assert_eq!(en_name, zh_name, "{what}");
            if zh_reason == en_reason || !has_chinese(zh_reason) {
                untranslated.push(format!("{what}: {en_name}: \"{en_reason}\""));
            }
        }
    }
    assert!(
        untranslated.is_empty(),
        "no Chinese for:\n{}",
        untranslated.join("\n")
    );
    assert!(reasons >= 25, "only {reasons} reasons were compared");
}
