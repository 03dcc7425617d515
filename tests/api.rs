//! The HTTP API through the router (`oneshot`), on the bundled data.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app, get, get_json, send};
use proptest::prelude::*;
use serde_json::Value;
use waystation::http::{AppState, Basemap, router};

fn content_type(r: &axum::http::Response<Body>) -> String {
    r.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Health answers at once; readiness waits for the data.
#[tokio::test]
async fn health_and_readiness() {
    let (status, _, body) = get("/healthz").await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, b"ok".as_slice())
    );
    assert_eq!(get("/readyz").await.0, StatusCode::OK);
    let loading = router(AppState::loading(Basemap::None), common::repo_path("web"));
    let req = Request::get("/readyz").body(Body::empty()).unwrap();
    let (status, response, _) = send(loading, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(content_type(&response), "application/problem+json");
}

/// The layer list names all four layers with counts and extents.
#[tokio::test]
async fn layers_have_counts_and_bboxes() {
    let (status, v) = get_json("/api/v1/layers").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["driver_home", "courier_station", "fitness_station", "park"]
    );
    for l in v["layers"].as_array().unwrap() {
        assert!(l["count"].as_u64().unwrap() > 0, "{l}");
        assert_eq!(l["bbox"].as_array().unwrap().len(), 4);
    }
}

/// A layer comes back as GeoJSON; bbox filters it exactly; limit and offset page it.
#[tokio::test]
async fn layer_bbox_limit_offset() {
    let (status, all) = get_json("/api/v1/layers/courier_station").await;
    assert_eq!(status, StatusCode::OK);
    let total = all["features"].as_array().unwrap().len();
    assert_eq!(all["numberMatched"].as_u64().unwrap() as usize, total);
    let bbox = [115.0, 39.0, 118.0, 41.0];
    let inside = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let c = &f["geometry"]["coordinates"];
            let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            (bbox[0]..=bbox[2]).contains(&lon) && (bbox[1]..=bbox[3]).contains(&lat)
        })
        .count();
    let (_, some) = get_json("/api/v1/layers/courier_station?bbox=115,39,118,41").await;
    assert_eq!(some["features"].as_array().unwrap().len(), inside);
    assert!(inside > 0 && inside < total);
    let (_, page) = get_json("/api/v1/layers/courier_station?limit=3&offset=2").await;
    assert_eq!(page["numberReturned"], 3);
    assert_eq!(page["features"][0]["id"], all["features"][2]["id"]);
}

/// Layer responses carry an ETag and answer 304 to revalidation; gzip and br are offered.
#[tokio::test]
async fn etag_compression_cors() {
    let (status, response, _) = get("/api/v1/layers/park").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&response), "application/geo+json");
    let etag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let req = Request::get("/api/v1/layers/park")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(app(), req).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    for enc in ["gzip", "br"] {
        let req = Request::get("/api/v1/layers/park")
            .header(header::ACCEPT_ENCODING, enc)
            .header(header::ORIGIN, "https://union.example.cn")
            .body(Body::empty())
            .unwrap();
        let (_, response, _) = send(app(), req).await;
        assert_eq!(response.headers()[header::CONTENT_ENCODING], enc);
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
}

/// Nearest: k features, ordered by distance, each with distance, bearing, open_now and links.
#[tokio::test]
async fn nearest_shape_and_order() {
    let (status, v) = get_json("/api/v1/nearest?lon=116.40&lat=39.90").await;
    assert_eq!(status, StatusCode::OK);
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), 5);
    let distances: Vec<u64> = features
        .iter()
        .map(|f| f["properties"]["distance_m"].as_u64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    for f in features {
        let p = &f["properties"];
        assert!(p["bearing_deg"].as_f64().unwrap() < 360.0);
        assert!(p["open_now"].is_boolean() || p["open_now"].is_null());
        for app in ["amap", "baidu", "apple", "osm"] {
            assert!(
                p["links"][app].as_str().unwrap().starts_with("https://"),
                "{app}"
            );
        }
        assert!(
            p["synthetic"].is_boolean()
                && p["source"].is_string()
                && p["position_accuracy"].is_string()
        );
    }
}

/// Filters: layers, amenities (all of them), open now at a given instant, distance limit.
#[tokio::test]
async fn nearest_filters() {
    let (_, v) = get_json("/api/v1/nearest?lon=121.47&lat=31.23&k=20&layers=driver_home&amenities=shower,truck_parking").await;
    let features = v["features"].as_array().unwrap();
    assert!(!features.is_empty());
    for f in features {
        let p = &f["properties"];
        assert_eq!(p["layer"], "driver_home");
        let a: Vec<&str> = p["amenities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert!(
            a.contains(&"shower") && a.contains(&"truck_parking"),
            "{a:?}"
        );
    }
    // 03:00 on a Monday in Shanghai: only 24/7-style places are open.
    let (_, v) = get_json(
        "/api/v1/nearest?lon=121.47&lat=31.23&k=20&open_now=true&at=2026-11-23T03:00:00%2B08:00",
    )
    .await;
    for f in v["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["open_now"], true);
    }
    let (_, v) = get_json("/api/v1/nearest?lon=121.47&lat=31.23&k=100&max_distance_m=5000").await;
    for f in v["features"].as_array().unwrap() {
        assert!(f["properties"]["distance_m"].as_u64().unwrap() <= 5000);
    }
}

/// One feature by id, with open-now and links; unknown ids are 404 problems.
#[tokio::test]
async fn feature_by_id() {
    let (_, all) = get_json("/api/v1/layers/driver_home?limit=1").await;
    let id = all["features"][0]["id"].as_str().unwrap().to_owned();
    let (status, f) = get_json(&format!("/api/v1/features/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f["id"], id.as_str());
    assert!(f["properties"]["links"]["amap"].is_string());
    let (status, response, _) = get("/api/v1/features/no-such-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type(&response), "application/problem+json");
}

/// Every malformed request is a 4xx problem+json naming the parameter at fault.
#[tokio::test]
async fn bad_requests_name_the_parameter() {
    let cases: &[(&str, u16, &str)] = &[
        ("/api/v1/nearest?lat=39.9", 400, "lon"),
        ("/api/v1/nearest?lon=116.4", 400, "lat"),
        ("/api/v1/nearest?lon=116.4&lat=95", 400, "lat"),
        ("/api/v1/nearest?lon=39.9&lat=116.4", 400, "lat"),
        ("/api/v1/nearest?lon=200&lat=39", 400, "lon"),
        ("/api/v1/nearest?lon=abc&lat=39", 400, "lon"),
        ("/api/v1/nearest?lon=NaN&lat=39", 400, "lon"),
        ("/api/v1/nearest?lon=116&lat=inf", 400, "lat"),
        ("/api/v1/nearest?lon=116&lat=39&k=0", 400, "k"),
        ("/api/v1/nearest?lon=116&lat=39&k=101", 400, "k"),
        ("/api/v1/nearest?lon=116&lat=39&k=-1", 400, "k"),
        (
            "/api/v1/nearest?lon=116&lat=39&layers=driver_homes",
            400,
            "layers",
        ),
        ("/api/v1/nearest?lon=116&lat=39&layers=park", 400, "layers"),
        (
            "/api/v1/nearest?lon=116&lat=39&amenities=showers",
            400,
            "amenities",
        ),
        (
            "/api/v1/nearest?lon=116&lat=39&open_now=maybe",
            400,
            "open_now",
        ),
        (
            "/api/v1/nearest?lon=116&lat=39&max_distance_m=-5",
            400,
            "max_distance_m",
        ),
        ("/api/v1/nearest?lon=116&lat=39&at=yesterday", 400, "at"),
        ("/api/v1/nearest?lon=116&lat=39&lng=116", 400, "lng"),
        ("/api/v1/nearest?lon=116&lon=117&lat=39", 400, "lon"),
        ("/api/v1/layers/park?bbox=1,2,3", 400, "bbox"),
        ("/api/v1/layers/park?bbox=a,b,c,d", 400, "bbox"),
        ("/api/v1/layers/park?bbox=100,50,120,40", 400, "bbox"),
        ("/api/v1/layers/park?bbox=100,-95,120,40", 400, "bbox"),
        ("/api/v1/layers/park?limit=0", 400, "limit"),
        ("/api/v1/layers/nope", 404, ""),
        ("/api/v1/nope", 404, ""),
        ("/nope.html", 404, ""),
    ];
    for (uri, code, param) in cases {
        let (status, response, body) = get(uri).await;
        assert_eq!(
            status.as_u16(),
            *code,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(content_type(&response), "application/problem+json", "{uri}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], *code, "{uri}");
        assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{uri}");
        if !param.is_empty() {
            let names: Vec<&str> = v["invalid-params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert!(names.contains(param), "{uri}: {names:?}");
        }
    }
    let req = Request::post("/api/v1/nearest")
        .body(Body::empty())
        .unwrap();
    let (status, response, _) = send(app(), req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(content_type(&response), "application/problem+json");
}

/// The web map's page and vendored MapLibre are served by the binary.
#[tokio::test]
async fn serves_the_web_map() {
    let (status, response, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    let html = String::from_utf8_lossy(&body);
    assert!(html.contains("maplibre"), "index.html loads MapLibre");
    assert!(
        !html.contains("https://"),
        "index.html loads nothing from outside"
    );
    let (status, _, _) = get("/api/v1/config").await;
    assert_eq!(status, StatusCode::OK);
    let (_, places) = get_json("/api/v1/places").await;
    assert!(places["features"].as_array().unwrap().len() > 50);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// No query string, however malformed, reaches a 5xx.
    #[test]
    fn no_query_reaches_a_5xx(
        path in prop_oneof![Just("/api/v1/nearest"), Just("/api/v1/layers/park"), Just("/api/v1/layers/driver_home"), Just("/api/v1/features/x")],
        params in prop::collection::vec((
            prop_oneof![
                prop::sample::select(vec!["lon", "lat", "k", "layers", "amenities", "open_now", "max_distance_m", "bbox", "limit", "offset", "at"]).prop_map(str::to_owned),
                "[a-z_]{1,8}",
            ],
            prop_oneof![Just("116.4".to_owned()), Just("39.9".to_owned()), Just("NaN".to_owned()), Just("-1e308".to_owned()), Just("1e400".to_owned()), Just("1,2,3,4".to_owned()), "\\PC{0,12}", "-?[0-9]{1,4}(\\.[0-9]{1,3})?"],
        ), 0..6),
    ) {
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))).finish();
        let uri = format!("{path}?{query}");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let status = rt.block_on(async { get(&uri).await.0 });
        prop_assert!(status.as_u16() < 500, "{uri} gave {status}");
    }
}

/// Errors made outside the handlers are problem+json too: a path that is not UTF-8,
/// a body over the siting limit (413 with the limit); and one rule for values: an
/// empty value or `open_now=yes` is refused, not defaulted.
#[tokio::test]
async fn every_error_is_problem_json() {
    let (status, response, body) = common::get("/api/v1/features/%FF%FE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(String::from_utf8_lossy(&body).contains("UTF-8"));
    for q in ["k=", "layers=", "open_now=yes", "open_now=1"] {
        let (status, v) =
            common::get_json(&format!("/api/v1/nearest?lon=116.4&lat=39.9&{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {v}");
        let name = q.split('=').next().unwrap();
        assert_eq!(v["invalid-params"][0]["name"], name, "{q}: {v}");
    }
    let big = vec![b' '; waystation::http::ServeOptions::default().max_siting_bytes + 1];
    let req = Request::post("/api/v1/siting")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    let (status, response, _) = common::send(common::app(), req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

/// Every answer carries the security headers: scripts from this server only, workers
/// from blob: (MapLibre), the public pages frameable by any site unless configured,
/// the editor's by this server only; a configured basemap's tile host is allowed.
#[tokio::test]
async fn security_headers_on_every_page() {
    let (_, response, _) = get("/").await;
    let h = response.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("worker-src 'self' blob:"), "{csp}");
    assert!(csp.ends_with("frame-ancestors *"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(
        h["cache-control"], "no-cache",
        "the page's files revalidate"
    );
    assert!(h.contains_key("referrer-policy"));
    let (_, response, _) = get("/admin.html").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    // A configured basemap and embedding sites.
    let data = waystation::geodata::load_dir(&common::repo_path("geodata")).unwrap();
    let state = waystation::http::AppState::ready(
        waystation::index::Atlas::new(data),
        waystation::http::Basemap::Amap,
    );
    state.set_frame_ancestors("https://www.acftu.org");
    let app = waystation::http::router(state, common::repo_path("web"));
    let (_, response, _) = send(app, Request::get("/").body(Body::empty()).unwrap()).await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("img-src 'self' data: blob: https://"), "{csp}");
    assert!(csp.contains("https://webrd01.is.autonavi.com"), "{csp}");
    assert!(
        csp.ends_with("frame-ancestors https://www.acftu.org"),
        "{csp}"
    );
}

/// `/metrics` speaks the Prometheus text format: requests by route pattern (never
/// the values: a driver's position is not a label), latency histograms, features.
#[tokio::test]
async fn metrics_count_routes_not_positions() {
    let app = app();
    for uri in [
        "/api/v1/nearest?lon=116.4&lat=39.9",
        "/api/v1/features/dh-linyi-caiyuan",
        "/api/v1/features/nope",
    ] {
        send(app.clone(), Request::get(uri).body(Body::empty()).unwrap()).await;
    }
    let (status, response, body) =
        send(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("waystation_http_requests_total{route=\"/api/v1/nearest\",status=\"2xx\"}"),
        "{text}"
    );
    assert!(
        text.contains(
            "waystation_http_requests_total{route=\"/api/v1/features/{id}\",status=\"4xx\"}"
        ),
        "{text}"
    );
    assert!(text.contains(
        "waystation_http_request_duration_seconds_bucket{route=\"/api/v1/nearest\",le=\"+Inf\"}"
    ));
    assert!(text.contains("waystation_features{layer=\"park\"}"));
    assert!(text.contains("waystation_data_published_timestamp_seconds"));
    assert!(!text.contains("116.4"), "no coordinates in the metrics");
}
