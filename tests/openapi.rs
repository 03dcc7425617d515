//! The OpenAPI document: valid OpenAPI 3.1, every documented path served, every
//! route the code registers documented (or listed below as a page), and the
//! documentation page served without outside hosts. (Every answer the other
//! integration tests receive is held to the document by `common::send`.)

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::Value;

/// Routes that are pages or files, not API operations.
const PAGES: &[&str] = &[
    "/admin",
    "/embed",
    "/api/docs",
    "/api/openapi.json",
    "/s/{id}",
    "/s/{id}/qr.svg",
    "/s/{id}/poster",
];

#[test]
fn the_document_is_valid_openapi_3_1() {
    let doc = common::documented::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_path("tests/fixtures/openapi-3.1-schema.json"))
            .expect("schema file"),
    )
    .expect("schema JSON");
    let validator = jsonschema::draft202012::new(&meta).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // Every $ref points at something.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#").skip(1) {
        let pointer = &part[..part.find('"').expect("closing quote")];
        assert!(doc.pointer(pointer).is_some(), "dangling $ref #{pointer}");
    }
}

/// A request for each documented operation, with sample path values: the router
/// must know the route (not the "no such route" 404, not 405).
#[tokio::test]
async fn every_documented_operation_is_served() {
    let doc = common::documented::document();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            // Sample values: a layer where one is named, else an unknown id.
            let path: String = template
                .split('/')
                .map(|segment| match segment {
                    "{layer}" | "{layers}" => "driver_home",
                    "{n}" | "{z}" | "{x}" | "{y}" => "0",
                    s if s.starts_with('{') => "no-such-id",
                    s => s,
                })
                .collect::<Vec<_>>()
                .join("/");
            let req = Request::builder()
                .method(method.to_ascii_uppercase().as_str())
                .uri(&path)
                .header("host", "localhost")
                .body(Body::empty())
                .expect("request");
            let (status, _, body) = common::send(common::app(), req).await;
            let text = String::from_utf8_lossy(&body);
            assert!(
                !text.contains("no such route"),
                "{method} {template}: documented but not routed ({status})"
            );
            // (A write to this read-only app is a 405 too, but one saying why.)
            assert!(
                !text.contains("\"detail\":\"method not allowed\""),
                "{method} {template}: documented but not routed ({status})"
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} operations documented");
}

/// Every path the code registers with `.route("…")` is a page listed above; the
/// API's routes are registered through `utoipa_axum::routes!`, from their
/// documentation, so they cannot be missing from it.
#[test]
fn every_registered_route_is_documented() {
    let doc = common::documented::document();
    let paths = doc["paths"].as_object().expect("paths");
    let mut undocumented = Vec::new();
    for entry in walk(&common::repo_path("src")) {
        let text = std::fs::read_to_string(&entry).expect("source");
        for part in text.split(".route(").skip(1) {
            // Only literal paths: `.route("/x", …)`, possibly on the next line.
            let Some(rest) = part.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some(end) = rest.find('"') else { continue };
            let route = &rest[..end];
            let documented = [route.to_owned(), format!("/api/v1{route}")]
                .iter()
                .any(|r| paths.keys().any(|p| same_template(p, r)))
                || PAGES.contains(&route)
                // `/ogc/` is the landing page with a trailing slash.
                || (route.ends_with('/') && paths.contains_key(route.trim_end_matches('/')));
            if !documented {
                undocumented.push(format!("{route} ({})", entry.display()));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "routes not in the document: {undocumented:?}"
    );
}

/// Whether the documented path `doc` covers the registered `route`: the same
/// segments, parameters matching parameters or (the OGC document lists each
/// collection by name) a route parameter matching a literal.
fn same_template(doc: &str, route: &str) -> bool {
    let param = |s: &str| s.starts_with('{');
    let (d, r): (Vec<&str>, Vec<&str>) = (doc.split('/').collect(), route.split('/').collect());
    d.len() == r.len()
        && d.iter()
            .zip(&r)
            .all(|(d, r)| if param(r) { true } else { !param(d) && d == r })
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn the_docs_page_is_served_from_here() {
    let (status, response, _) = common::get("/api/docs").await;
    assert_eq!(status, 308);
    assert_eq!(response.headers()["location"], "/api-docs.html");
    let (status, _, body) = common::get("/api-docs.html").await;
    assert_eq!(status, 200);
    let html = String::from_utf8(body).expect("utf-8");
    for src in ["/vendor/swagger-ui/swagger-ui-bundle.js", "/api-docs.js"] {
        assert!(html.contains(src), "{src}");
        let (status, _, _) = common::get(src).await;
        assert_eq!(status, 200, "{src}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    let (_, _, js) = common::get("/api-docs.js").await;
    let js = String::from_utf8(js).expect("utf-8");
    assert!(
        js.contains("validatorUrl: null"),
        "no call to validator.swagger.io"
    );
}

/// A GET without a query string is refused for exactly the query parameters the
/// document marks required (and answered when it marks none).
#[tokio::test]
async fn required_parameters_are_the_ones_refused_when_missing() {
    let doc = common::documented::document();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let Some(get) = item.get("get") else { continue };
        if !template.starts_with("/api/v1/") {
            continue;
        }
        let mut required: Vec<String> = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| p["name"].as_str().unwrap_or("").to_owned())
            .collect();
        required.sort();
        let path = template
            .replace("{layer}", "driver_home")
            .replace("{id}", "dh-linyi-caiyuan");
        let (status, _, body) = common::get(&path).await;
        let mut refused: Vec<String> = if status == 400 {
            let v: Value = serde_json::from_slice(&body).expect("problem+json");
            v["invalid-params"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["name"].as_str().unwrap_or("").to_owned())
                .collect()
        } else {
            Vec::new()
        };
        refused.sort();
        assert_eq!(
            refused, required,
            "GET {template} without a query ({status})"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} GET operations");
}

/// One rule everywhere: a GET with a parameter it does not know is refused (400,
/// naming it), on every documented operation — a mistyped `lng=` is never ignored.
/// The registry's routes are asked of a server with a database, with a token.
#[tokio::test]
async fn unknown_query_parameters_are_refused_everywhere() {
    let doc = common::documented::document();
    let registered = common::registered();
    let mut one_id = std::collections::HashMap::new();
    for layer in ["driver_home", "courier_station", "fitness_station", "park"] {
        let (_, v) = common::get_json(&format!("/api/v1/layers/{layer}?limit=1")).await;
        let id = v["features"][0]["id"]
            .as_str()
            .expect("a feature")
            .to_owned();
        one_id.insert(layer, id);
    }
    // One dry-run import, for the import routes' id.
    let csv = "名称,经度,纬度\n测试驿站,118.35,35.10\n";
    let request = Request::post("/api/v1/imports?layer=courier_station&crs=wgs84&dry_run=true")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", registered.admin),
        )
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(csv))
        .expect("request");
    let (status, _, body) = common::send(registered.app.clone(), request).await;
    let import: Value = serde_json::from_slice(&body).expect("json");
    assert!(status.is_success(), "import: {status} {import}");
    let import_id = import["import"]["id"].to_string();
    let mut not_refused = Vec::new();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        if item.get("get").is_none() {
            continue;
        }
        let layer = ["courier_station", "fitness_station", "park"]
            .into_iter()
            .find(|l| template.contains(&format!("/{l}/")))
            .unwrap_or("driver_home");
        let path = template
            .replace("/imports/{id}", &format!("/imports/{import_id}"))
            .replace("{layer}", layer)
            .replace("{layers}", layer)
            .replace("{featureId}", &one_id[layer])
            .replace("{id}", &one_id[layer])
            .replace("{n}", "0")
            .replace("{z}", "8")
            .replace("{x}", "213")
            .replace("{y}.mvt", "101.mvt");
        let uri = format!("{path}?zzz_unknown=1");
        let (status, _, body) = if template.contains("/history")
            || template.contains("/whoami")
            || template.contains("/imports/")
        {
            let request = Request::get(&uri)
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", registered.admin),
                )
                .body(Body::empty())
                .expect("request");
            common::send(registered.app.clone(), request).await
        } else {
            common::get(&uri).await
        };
        let named = serde_json::from_slice::<Value>(&body)
            .map(|v| v["invalid-params"].to_string().contains("zzz_unknown"))
            .unwrap_or(false);
        if status != 400 || !named {
            not_refused.push(format!("{template}: {status}"));
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} GET operations");
    assert!(not_refused.is_empty(), "not refused: {not_refused:#?}");
}
