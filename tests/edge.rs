//! The HTTP edge: the siting body read whole (every field at fault named at once),
//! the same headers on every answer (including the ones hyper writes itself), and
//! one order of checks on every route (404, then 400, then 503).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use waystation::http::{AppState, Basemap, router};

/// POSTs a JSON body to `uri` of `app` and returns the status and the parsed answer.
async fn post_json(app: axum::Router, uri: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let (status, _, bytes) = common::send(app, req).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{body}: {e}: {}", String::from_utf8_lossy(&bytes)));
    (status, v)
}

/// The names in a problem's `invalid-params`, sorted.
fn names(v: &Value) -> Vec<String> {
    let mut names: Vec<String> = v["invalid-params"]
        .as_array()
        .unwrap_or_else(|| panic!("no invalid-params in {v}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

/// Five bad members and two unknown ones: one 400 names all seven, each with what
/// was given, and the detail repeats them.
#[tokio::test]
async fn siting_names_every_bad_field_at_once() {
    let body = r#"{"layer": "park", "p": 0, "radius_m": "far", "weight": "people",
        "bbox": [1, 2, 3], "sites": 3, "colour": "red"}"#;
    let (status, v) = post_json(common::app(), "/api/v1/siting", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        names(&v),
        [
            "bbox", "colour", "layer", "p", "radius_m", "sites", "weight"
        ],
        "{v}"
    );
    let reason = |name: &str| -> String {
        v["invalid-params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["reason"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(reason("radius_m").contains("\"far\""), "{v}");
    assert!(reason("p").contains("from 1 to 500"), "{v}");
    assert!(reason("bbox").contains("[1, 2, 3]"), "{v}");
    assert!(
        reason("sites").starts_with("unknown field (") && reason("sites").contains(" layer, "),
        "{v}"
    );
    let detail = v["detail"].as_str().unwrap();
    for name in [
        "layer", "p", "radius_m", "weight", "bbox", "sites", "colour",
    ] {
        assert!(detail.contains(&format!("{name}: ")), "{detail}");
    }
    // Good members next to bad ones are not named; a member given twice is.
    let (status, v) = post_json(
        common::app(),
        "/api/v1/siting",
        r#"{"layer": "driver_home", "p": 3, "min_workers": -1, "city": ""}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(names(&v), ["city", "min_workers"], "{v}");
    let (status, v) = post_json(
        common::app(),
        "/api/v1/siting",
        r#"{"layer": "driver_home", "union_status": []}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(names(&v), ["union_status"], "{v}");
    let (status, v) = post_json(
        common::app(),
        "/api/v1/siting",
        r#"{"layer": "driver_home", "p": 3, "p": 4}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(names(&v), ["p"], "{v}");
    // `null` is absent: the defaults apply.
    let (status, v) = post_json(
        common::app(),
        "/api/v1/siting",
        r#"{"layer": "driver_home", "p": null, "weight": null, "candidates": null}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["p"], 10);
    assert_eq!(v["weight"], "workers");
    // A whole number written `3.0` is the number 3, as JSON Schema reads it.
    let (status, v) = post_json(
        common::app(),
        "/api/v1/siting",
        r#"{"layer": "driver_home", "p": 3.0, "min_workers": 1.0, "candidates": {"h3": 5.0}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["p"], 3);
}

/// The document's siting body is the struct the server reads: closed, `layer`
/// required, the ranges the validation checks.
#[test]
fn siting_body_is_documented_from_the_struct() {
    let doc = common::documented::document();
    let s = &doc["components"]["schemas"]["SitingRequest"];
    assert_eq!(s["additionalProperties"], false, "{s}");
    assert_eq!(s["required"], serde_json::json!(["layer"]), "{s}");
    let p = &s["properties"];
    assert_eq!(p["p"]["minimum"], 1, "{s}");
    assert_eq!(p["p"]["maximum"], 500, "{s}");
    assert_eq!(p["radius_m"]["maximum"], 500_000.0, "{s}");
    assert_eq!(p["radius_m"]["exclusiveMinimum"], 0.0, "{s}");
    assert_eq!(p["city"]["minLength"], 1, "{s}");
    assert_eq!(p["bbox"]["oneOf"][0]["minItems"], 4, "{s}");
    assert_eq!(
        p["bbox"]["oneOf"][0]["prefixItems"][1]["maximum"], 90.0,
        "{s}"
    );
    assert_eq!(
        p["candidates"]["oneOf"][1]["properties"]["h3"]["maximum"],
        8
    );
    let mut members: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort();
    assert_eq!(
        members,
        [
            "bbox",
            "candidates",
            "city",
            "district",
            "layer",
            "min_workers",
            "p",
            "radius_m",
            "union_status",
            "weight"
        ]
    );
}

/// A server on a real socket (port 0) serving the bundled data; dropped, it stops.
struct Bound {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn bound() -> Bound {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(waystation::http::serve(
        listener,
        common::app(),
        async move {
            let _ = stopped.await;
        },
    ));
    Bound { addr, _stop: stop }
}

/// Sends `head` (a request line and headers, without the blank line) and returns the
/// whole raw answer. The server may refuse before it has read everything: a failed
/// write is no failure.
async fn raw(addr: SocketAddr, head: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes());
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

/// A raw answer's status, lower-cased head and body.
fn split(raw: &str) -> (u16, String, &str) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body)
}

/// The headers every answer carries, errors included.
fn assert_every_answer_s_headers(what: &str, head: &str) {
    for h in [
        "content-security-policy: default-src 'self'",
        "x-content-type-options: nosniff",
        "referrer-policy: strict-origin-when-cross-origin",
        "access-control-allow-origin: *",
    ] {
        assert!(head.contains(h), "{what}: no {h} in\n{head}");
    }
}

/// hyper's own refusals (a 100 KB query: 414; a 500 KB header: 431) and the app's
/// (a 10 KB query: 414; a 100 KB header: 431) are problem+json with the security
/// headers and CORS of any other answer; the server goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_routing_carry_every_header() {
    let server = bound().await;
    let cases = [
        (
            "100 KB query",
            format!(
                "GET /api/v1/nearest?q={} HTTP/1.1\r\nHost: x",
                "x".repeat(100_000)
            ),
            414,
            "8192 bytes",
        ),
        (
            "10 KB query",
            format!(
                "GET /api/v1/nearest?q={} HTTP/1.1\r\nHost: x",
                "x".repeat(10_000)
            ),
            414,
            "8192 bytes",
        ),
        (
            "100 KB header",
            format!(
                "GET /api/v1/layers HTTP/1.1\r\nHost: x\r\nX-Pad: {}",
                "p".repeat(100_000)
            ),
            431,
            "65536 bytes",
        ),
        (
            "500 KB header",
            format!(
                "GET /api/v1/layers HTTP/1.1\r\nHost: x\r\nX-Pad: {}",
                "p".repeat(500_000)
            ),
            431,
            "65536 bytes",
        ),
    ];
    for (what, head, code, limit) in cases {
        let answer = raw(server.addr, head).await;
        let (status, head, body) = split(&answer);
        assert_eq!(status, code, "{what}: {head}");
        assert!(
            head.contains("content-type: application/problem+json"),
            "{what}: {head}"
        );
        assert!(
            head.contains(&format!("content-length: {}\r\n", body.len())),
            "{what}: {head}"
        );
        assert_every_answer_s_headers(what, &head);
        let problem: Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert_eq!(problem["status"], code, "{what}");
        assert!(
            problem["detail"].as_str().unwrap().contains(limit),
            "{what}: {body}"
        );
    }
    // An ordinary request is still served, with the same headers.
    let (status, head, _) =
        split(&raw(server.addr, "GET /api/v1/layers HTTP/1.1\r\nHost: x".into()).await);
    assert_eq!(status, 200, "{head}");
    assert_every_answer_s_headers("layers", &head);
}

/// A router over data still loading.
fn loading_app() -> axum::Router {
    let state: Arc<AppState> = AppState::loading(Basemap::None);
    router(state, common::repo_path("web"))
}

async fn status_of(app: axum::Router, uri: &str) -> u16 {
    let req = Request::get(uri).body(Body::empty()).unwrap();
    let (status, response, body) = common::send(app, req).await;
    if !status.is_success() {
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    status.as_u16()
}

/// One order of checks: a path that names nothing is 404 (as soon as that can be
/// known), then bad parameters 400, then data still loading 503 — on the layer
/// route, the feature route, the OGC routes, the siting body.
#[tokio::test]
async fn one_order_of_checks() {
    let (_, first) = common::get_json("/api/v1/layers/driver_home?limit=1").await;
    let id = first["features"][0]["id"]
        .as_str()
        .expect("a facility")
        .to_owned();
    let ready: &[(&str, u16)] = &[
        ("/api/v1/layers/nope?limit=0", 404),
        ("/api/v1/layers/park?limit=0", 400),
        ("/api/v1/layers/park?limit=5", 200),
        ("/api/v1/features/nope?bogus=1", 404),
        (&format!("/api/v1/features/{id}?bogus=1"), 400),
        (&format!("/api/v1/features/{id}"), 200),
        ("/ogc/collections/nope?f=xml", 404),
        ("/ogc/collections/nope/items?limit=x", 404),
        ("/ogc/collections/park/items/nope?bogus=1", 404),
        ("/ogc/collections/park/items?bogus=1", 400),
        ("/s/nope/qr.svg", 404),
    ];
    for (uri, code) in ready {
        assert_eq!(status_of(common::app(), uri).await, *code, "ready: {uri}");
    }
    let loading: &[(&str, u16)] = &[
        ("/api/v1/layers/nope?limit=0", 404),
        ("/api/v1/layers/nope", 404),
        ("/api/v1/layers/park?limit=0", 400),
        ("/api/v1/layers/park", 503),
        ("/api/v1/features/nope?bogus=1", 400),
        ("/api/v1/features/nope", 503),
        ("/api/v1/nearest?lon=1", 400),
        ("/api/v1/nearest?lon=118&lat=35", 503),
        ("/ogc/collections/nope", 404),
        ("/ogc/collections/park/items?bogus=1", 400),
        ("/ogc/collections/park/items", 503),
        ("/ogc/collections/park/items/x?bogus=1", 400),
        ("/ogc/collections/park/queryables?bogus=1", 400),
        ("/ogc/collections?bogus=1", 400),
        ("/ogc?bogus=1", 400),
        ("/tiles/nope/0/0/0.mvt", 404),
        ("/tiles/park/99/0/0.mvt", 400),
    ];
    for (uri, code) in loading {
        assert_eq!(status_of(loading_app(), uri).await, *code, "loading: {uri}");
    }
    let (status, v) = post_json(loading_app(), "/api/v1/siting", r#"{"layer": "park"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = post_json(
        loading_app(),
        "/api/v1/siting",
        r#"{"layer": "driver_home"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
}

/// Answers that do not come from a handler — a CORS preflight (from any origin), a
/// HEAD, a 405, a missing file, a path that is not UTF-8 — carry the security
/// headers and CORS, and the errors among them are problem+json; a route that
/// takes no parameter refuses one.
#[tokio::test]
async fn every_answer_carries_the_headers() {
    // (method, uri, headers, status)
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16);
    let cases: &[Case] = &[
        (
            "OPTIONS",
            "/api/v1/siting",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
            200,
        ),
        ("OPTIONS", "/api/v1/layers", &[], 200),
        ("HEAD", "/api/v1/layers", &[], 200),
        ("HEAD", "/nope.js", &[], 404),
        ("GET", "/nope.js", &[], 404),
        ("POST", "/app.js", &[], 405),
        ("DELETE", "/api/v1/layers", &[], 405),
        ("TRACE", "/", &[], 405),
        ("GET", "/%FF", &[], 404),
        ("GET", "/api/v1/features/%FF", &[], 400),
        ("GET", "/api/v1/layers?x=1", &[], 400),
        ("GET", "/api/v1/places?x=1", &[], 400),
        ("GET", "/api/v1/config?x=1", &[], 400),
    ];
    for (method, uri, headers, code) in cases {
        let mut req = Request::builder().method(*method).uri(*uri);
        for (k, v) in *headers {
            req = req.header(*k, *v);
        }
        let (status, response, body) =
            common::send(common::app(), req.body(Body::empty()).unwrap()).await;
        let what = format!("{method} {uri}");
        assert_eq!(
            status.as_u16(),
            *code,
            "{what}: {}",
            String::from_utf8_lossy(&body)
        );
        let h = response.headers();
        for name in [
            "content-security-policy",
            "x-content-type-options",
            "referrer-policy",
            "access-control-allow-origin",
        ] {
            assert!(h.contains_key(name), "{what}: no {name} in {h:?}");
        }
        if status.is_client_error() {
            assert_eq!(
                h[header::CONTENT_TYPE],
                "application/problem+json",
                "{what}"
            );
            if *method != "HEAD" {
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["status"], *code, "{what}");
            }
        }
    }
}
