//! OGC API – Features at `/ogc`, through the router on the bundled data: walked
//! as a client walks it (landing → conformance → collections → items, following
//! links), then each parameter, the errors, HTML, the queryables and the OpenAPI
//! document.

mod common;

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{get, get_json, send};
use serde_json::{Value, json};
use waystation::http::{AppState, Basemap, router};
use waystation::index::Atlas;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG_4490: &str = "http://www.opengis.net/def/crs/EPSG/0/4490";

fn content_type(r: &axum::http::Response<Body>) -> String {
    r.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The href of the first link of `doc` with `rel` (and `media`, when given).
fn link(doc: &Value, rel: &str, media: Option<&str>) -> Option<String> {
    doc["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel && media.is_none_or(|m| l["type"] == m))
        .and_then(|l| l["href"].as_str())
        .map(str::to_owned)
}

/// GETs `uri`, checks the status and type, and parses the JSON.
async fn fetch(uri: &str, media: &str) -> Value {
    let (status, response, body) = get(uri).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(content_type(&response), media, "{uri}");
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

/// The problem+json answer of a bad request, with the names it gives.
async fn refused(uri: &str, status: StatusCode) -> Vec<String> {
    let (got, response, body) = get(uri).await;
    assert_eq!(got, status, "{uri}: {}", String::from_utf8_lossy(&body));
    assert_eq!(content_type(&response), "application/problem+json", "{uri}");
    let v: Value = serde_json::from_slice(&body).expect("problem JSON");
    v["invalid-params"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn layer_count(layer: &str) -> u64 {
    let (_, v) = get_json("/api/v1/layers").await;
    v["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["id"] == layer)
        .and_then(|l| l["count"].as_u64())
        .expect("count")
}

/// A client's walk: every link it needs is there and leads on, and paging with
/// `next` visits each feature of a layer exactly once.
#[tokio::test]
async fn a_client_walks_from_the_landing_page_to_every_feature() {
    let landing = fetch("/ogc", "application/json").await;
    for rel in [
        "self",
        "alternate",
        "service-desc",
        "service-doc",
        "conformance",
        "data",
    ] {
        assert!(
            link(&landing, rel, None).is_some(),
            "landing page lacks {rel}"
        );
    }
    let desc = link(&landing, "service-desc", None).unwrap();
    let api = fetch(&desc, "application/vnd.oai.openapi+json;version=3.0").await;
    assert_eq!(api["openapi"], "3.0.3");
    let (status, response, _) = get(&link(&landing, "service-doc", None).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));

    let conformance = fetch(
        &link(&landing, "conformance", None).unwrap(),
        "application/json",
    )
    .await;
    let classes: Vec<&str> = conformance["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for class in ["core", "geojson", "html", "oas30"] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{class}");
        assert!(classes.contains(&uri.as_str()), "{class} missing");
    }
    for class in [
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/basic-cql2",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "cql2/1.0/conf/basic-spatial-functions",
        "cql2/1.0/conf/basic-spatial-functions-plus",
        "cql2/1.0/conf/advanced-comparison-operators",
    ] {
        let uri = format!("http://www.opengis.net/spec/{class}");
        assert!(classes.contains(&uri.as_str()), "{class} missing");
    }

    let collections = fetch(&link(&landing, "data", None).unwrap(), "application/json").await;
    let ids: Vec<&str> = collections["collections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["driver_home", "courier_station", "fitness_station", "park"]
    );
    for c in collections["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let own = fetch(&link(c, "self", None).unwrap(), "application/json").await;
        assert_eq!(own["id"], id);
        assert_eq!(own["itemType"], "feature");
        assert_eq!(own["crs"], json!([CRS84, EPSG_4490]));
        assert_eq!(own["storageCrs"], CRS84);
        assert_eq!(own["extent"]["spatial"]["crs"], CRS84);
        let bbox = own["extent"]["spatial"]["bbox"][0].as_array().unwrap();
        assert_eq!(bbox.len(), 4);
        assert!(bbox[0].as_f64() < bbox[2].as_f64() && bbox[1].as_f64() < bbox[3].as_f64());
        // Reported features were updated on 2026-11-23, synthetic ones on 2026-11-01.
        assert_eq!(
            own["extent"]["temporal"]["interval"],
            json!([["2026-11-01T00:00:00+08:00", "2026-11-23T23:59:59+08:00"]])
        );
        let title = own["title"].as_str().unwrap();
        assert!(
            title.chars().any(|ch| ch > '\u{2e80}')
                && title.chars().any(|ch| ch.is_ascii_alphabetic())
        );
        // Without a query: GDAL appends `/{id}` to it.
        assert!(
            !link(&own, "items", Some("application/geo+json"))
                .unwrap()
                .contains('?')
        );
        assert!(link(&own, "items", Some("text/html")).is_some());
        assert!(link(&own, "alternate", Some("text/html")).is_some());
        let q = link(&own, "queryables", None).unwrap();
        fetch(&q, "application/schema+json").await;
        // GDAL accepts `application/json`, not `application/schema+json`.
        let gdal = Request::get(&q)
            .header(header::ACCEPT, "application/geo+json, application/json")
            .body(Body::empty())
            .unwrap();
        let (_, response, _) = send(common::app(), gdal).await;
        assert_eq!(content_type(&response), "application/json");
        let first = fetch(
            &format!(
                "{}?limit=1",
                link(&own, "items", Some("application/geo+json")).unwrap()
            ),
            "application/geo+json",
        )
        .await;
        assert_eq!(first["numberMatched"].as_u64(), Some(layer_count(id).await));
    }

    // Page through a small layer five at a time.
    let fitness = &collections["collections"][2];
    let mut next = Some(format!(
        "{}?limit=5",
        link(fitness, "items", Some("application/geo+json")).unwrap()
    ));
    let (mut pages, mut returned, mut seen, mut matched) = (0, 0u64, HashSet::new(), None);
    while let Some(uri) = next {
        let page = fetch(&uri, "application/geo+json").await;
        assert_eq!(page["type"], "FeatureCollection");
        assert!(page["timeStamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        let n = page["numberReturned"].as_u64().unwrap();
        assert_eq!(n as usize, page["features"].as_array().unwrap().len());
        assert!(n <= 5);
        for f in page["features"].as_array().unwrap() {
            assert_eq!(f["properties"]["layer"], "fitness_station");
            assert!(
                seen.insert(f["id"].as_str().unwrap().to_owned()),
                "seen twice"
            );
        }
        assert!(link(&page, "self", Some("application/geo+json")).is_some());
        assert!(link(&page, "alternate", Some("text/html")).is_some());
        assert_eq!(link(&page, "prev", None).is_some(), pages > 0);
        let m = page["numberMatched"].as_u64().unwrap();
        assert_eq!(*matched.get_or_insert(m), m);
        returned += n;
        pages += 1;
        next = link(&page, "next", Some("application/geo+json"));
    }
    assert_eq!(Some(returned), matched);
    assert_eq!(returned, layer_count("fitness_station").await);
    assert_eq!(pages, returned.div_ceil(5));
}

/// `bbox` keeps what lies inside, as `/api/v1/layers` does; six numbers work too.
#[tokio::test]
async fn bbox_filters() {
    let v = fetch(
        "/ogc/collections/park/items?bbox=118,34.5,119,35.5",
        "application/geo+json",
    )
    .await;
    let (_, reference) = get_json("/api/v1/layers/park?bbox=118,34.5,119,35.5").await;
    let n = v["numberMatched"].as_u64().unwrap();
    assert!(n > 0);
    assert_eq!(Some(n), reference["numberMatched"].as_u64());
    for f in v["features"].as_array().unwrap() {
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!((118.0..=119.0).contains(&lon) && (34.5..=35.5).contains(&lat));
    }
    let six = fetch(
        "/ogc/collections/park/items?bbox=118,34.5,-10,119,35.5,9000",
        "application/geo+json",
    )
    .await;
    assert_eq!(six["numberMatched"].as_u64(), Some(n));
    // GDAL's full-precision form, and the CRS named.
    let crs = format!(
        "/ogc/collections/park/items?bbox=118.000000000000000,34.5,119,35.5&bbox-crs={CRS84}"
    );
    assert_eq!(
        fetch(&crs, "application/geo+json").await["numberMatched"].as_u64(),
        Some(n)
    );
    assert_eq!(
        refused(
            "/ogc/collections/park/items?bbox=118,34.5,119",
            StatusCode::BAD_REQUEST
        )
        .await,
        ["bbox"]
    );
    assert_eq!(
        refused(
            "/ogc/collections/park/items?bbox=1,2,3,4&bbox-crs=EPSG:3857",
            StatusCode::BAD_REQUEST
        )
        .await,
        ["bbox-crs"]
    );
}

/// `datetime` is on `updated`: instants, intervals, open ends.
#[tokio::test]
async fn datetime_filters_on_updated() {
    let count = |q: &'static str| async move {
        fetch(
            &format!("/ogc/collections/park/items?{q}&limit=1"),
            "application/geo+json",
        )
        .await["numberMatched"]
            .as_u64()
            .unwrap()
    };
    let all = layer_count("park").await;
    let reported = count("datetime=2026-11-23").await;
    assert!(reported > 0 && reported < all);
    let v = fetch(
        "/ogc/collections/park/items?datetime=2026-11-23",
        "application/geo+json",
    )
    .await;
    for f in v["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["updated"], "2026-11-23");
        assert_eq!(f["properties"]["synthetic"], false);
    }
    // 2026-11-22T20:00Z is 04:00 on the 23rd in China.
    assert_eq!(count("datetime=2026-11-22T20:00:00Z").await, reported);
    assert_eq!(count("datetime=../2026-11-10").await, all - reported);
    assert_eq!(count("datetime=2026-11-10/..").await, reported);
    assert_eq!(count("datetime=2026-11-01/2026-11-23").await, all);
    assert_eq!(count("datetime=2027-01-01/..").await, 0);
    for bad in [
        "datetime=soon",
        "datetime=2026-12-01/2026-11-01",
        "datetime=../..",
    ] {
        assert_eq!(
            refused(
                &format!("/ogc/collections/park/items?{bad}"),
                StatusCode::BAD_REQUEST
            )
            .await,
            ["datetime"],
            "{bad}"
        );
    }
}

/// The queryables filter: equality, a list of choices, all amenities.
#[tokio::test]
async fn property_filters() {
    let features = |q: String| async move {
        let v = fetch(&q, "application/geo+json").await;
        assert_eq!(
            v["numberMatched"].as_u64().unwrap() as usize,
            v["features"].as_array().unwrap().len()
        );
        v["features"].as_array().unwrap().clone()
    };
    let linyi = features(format!(
        "/ogc/collections/park/items?city={}",
        "%E4%B8%B4%E6%B2%82%E5%B8%82"
    ))
    .await;
    assert!(!linyi.is_empty());
    assert!(linyi.iter().all(|f| f["properties"]["city"] == "临沂市"));
    let none = features("/ogc/collections/park/items?union_status=none".into()).await;
    assert!(!none.is_empty());
    assert!(
        none.iter()
            .all(|f| f["properties"]["union_status"] == "none")
    );
    let some = features("/ogc/collections/park/items?union_status=none,partial".into()).await;
    assert!(some.len() > none.len());
    let real = features("/ogc/collections/courier_station/items?synthetic=false".into()).await;
    assert!(!real.is_empty());
    assert!(real.iter().all(|f| f["properties"]["synthetic"] == false));
    let combined = features(
        "/ogc/collections/park/items?union_status=none&synthetic=true&layer=park&limit=100000"
            .into(),
    )
    .await;
    assert_eq!(combined.len(), none.len());
    let showers =
        features("/ogc/collections/driver_home/items?amenities=shower,truck_parking".into()).await;
    assert!(!showers.is_empty());
    for f in &showers {
        let a = f["properties"]["amenities"].as_array().unwrap();
        assert!(a.contains(&json!("shower")) && a.contains(&json!("truck_parking")));
    }
    assert!(
        features("/ogc/collections/park/items?layer=driver_home".into())
            .await
            .is_empty()
    );
    let graded = features("/ogc/collections/fitness_station/items?grade=simple".into()).await;
    assert!(!graded.is_empty() && graded.iter().all(|f| f["properties"]["grade"] == "simple"));
    let dated =
        features("/ogc/collections/park/items?updated=2026-11-23&limit=100000".into()).await;
    assert!(
        dated
            .iter()
            .all(|f| f["properties"]["updated"] == "2026-11-23")
    );
}

/// Unknown parameters, bad values and filters of another layer: 400 naming each.
#[tokio::test]
async fn bad_parameters_are_named() {
    let bad = StatusCode::BAD_REQUEST;
    assert_eq!(
        refused("/ogc/collections/park/items?lng=3", bad).await,
        ["lng"]
    );
    assert_eq!(
        refused("/ogc/collections/park/items?union_status=nobody", bad).await,
        ["union_status"]
    );
    assert_eq!(
        refused("/ogc/collections/driver_home/items?union_status=none", bad).await,
        ["union_status"]
    );
    let mut all = refused(
        "/ogc/collections/park/items?limit=0&offset=-1&f=xml&sortby=name",
        bad,
    )
    .await;
    all.sort();
    assert_eq!(all, ["f", "limit", "offset", "sortby"]);
    assert_eq!(refused("/ogc?foo=1", bad).await, ["foo"]);
    assert_eq!(refused("/ogc/collections?limit=5", bad).await, ["limit"]);
    assert_eq!(
        refused("/ogc/collections/park/items/pk-guilin-suqiao?limit=5", bad).await,
        ["limit"]
    );
    refused("/ogc/collections/parks", StatusCode::NOT_FOUND).await;
    refused("/ogc/collections/parks/items", StatusCode::NOT_FOUND).await;
}

/// A `limit` above the maximum is clamped, not refused; `next` and `prev` follow it.
#[tokio::test]
async fn limit_is_clamped() {
    let v = fetch(
        "/ogc/collections/park/items?limit=1000000",
        "application/geo+json",
    )
    .await;
    let n = layer_count("park").await;
    assert_eq!(v["numberReturned"].as_u64(), Some(n));
    assert!(link(&v, "self", None).unwrap().contains("limit=100000"));
    assert!(link(&v, "next", None).is_none());
    let default = fetch("/ogc/collections/park/items", "application/geo+json").await;
    assert_eq!(default["numberReturned"].as_u64(), Some(n.min(10_000)));
    let middle = fetch(
        "/ogc/collections/park/items?limit=100&offset=250&city=%E4%B8%B4%E6%B2%82%E5%B8%82",
        "application/geo+json",
    )
    .await;
    assert_eq!(middle["numberReturned"], 0);
    let prev = link(&middle, "prev", None).unwrap();
    assert!(prev.contains("offset=150") && prev.contains("city=%E4%B8%B4"));
    let last = fetch(
        &format!("/ogc/collections/park/items?limit=100&offset={}", n - 1),
        "application/geo+json",
    )
    .await;
    assert_eq!(last["numberReturned"], 1);
    assert!(link(&last, "next", None).is_none());
}

/// One feature by id, with its links; ids of other layers and unknown ids are 404.
#[tokio::test]
async fn item_by_id() {
    let v = fetch(
        "/ogc/collections/driver_home/items/dh-linyi-caiyuan",
        "application/geo+json",
    )
    .await;
    assert_eq!(v["type"], "Feature");
    assert_eq!(v["id"], "dh-linyi-caiyuan");
    assert_eq!(v["properties"]["layer"], "driver_home");
    assert_eq!(
        link(&v, "self", None).as_deref(),
        Some("/ogc/collections/driver_home/items/dh-linyi-caiyuan?f=json")
    );
    let collection = link(&v, "collection", None).unwrap();
    assert_eq!(
        fetch(&collection, "application/json").await["id"],
        "driver_home"
    );
    let park = fetch(
        "/ogc/collections/park/items/pk-guilin-suqiao",
        "application/geo+json",
    )
    .await;
    assert!(park["properties"].get("union_status").is_some());
    assert!(park["properties"].get("workers").is_some());
    refused(
        "/ogc/collections/park/items/dh-linyi-caiyuan",
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        "/ogc/collections/park/items/no-such-id",
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// The queryables are a JSON Schema of the filterable properties of each layer.
#[tokio::test]
async fn queryables_are_a_json_schema() {
    let park = fetch(
        "/ogc/collections/park/queryables",
        "application/schema+json",
    )
    .await;
    assert_eq!(
        park["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(park["type"], "object");
    assert_eq!(park["$id"], "/ogc/collections/park/queryables");
    assert_eq!(
        park["properties"]["union_status"]["enum"],
        json!(["none", "partial", "full"])
    );
    assert_eq!(park["properties"]["synthetic"]["type"], "boolean");
    assert_eq!(park["properties"]["workers"]["type"], "integer");
    assert!(park["properties"].get("amenities").is_none());
    let dh = fetch(
        "/ogc/collections/driver_home/queryables",
        "application/schema+json",
    )
    .await;
    assert_eq!(dh["properties"]["amenities"]["type"], "array");
    assert!(dh["properties"].get("union_status").is_none());
    assert!(dh["properties"].get("grade").is_none());
    assert_eq!(park["properties"]["geometry"]["format"], "geometry-any");
    assert_eq!(dh["properties"]["geometry"]["format"], "geometry-point");
    // Each queryable but the geometry is a parameter the items accept.
    for (name, schema) in park["properties"].as_object().unwrap() {
        if name == "geometry" {
            continue;
        }
        let value = match (schema["type"].as_str(), schema["enum"].get(0)) {
            (_, Some(v)) => v.as_str().unwrap().to_owned(),
            (Some("boolean"), _) => "true".into(),
            (Some("integer"), _) => "7".into(),
            (Some("string"), _) if schema["format"] == "date" => "2026-11-01".into(),
            _ => "x".into(),
        };
        fetch(
            &format!("/ogc/collections/park/items?{name}={value}&limit=1"),
            "application/geo+json",
        )
        .await;
    }
}

/// `f=html` and a browser's `Accept` give a page with onward links; `f=json`
/// and GDAL's `Accept` give JSON.
#[tokio::test]
async fn html_for_every_resource() {
    for uri in [
        "/ogc?f=html",
        "/ogc/conformance?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/park?f=html",
        "/ogc/collections/park/items?f=html&limit=5",
        "/ogc/collections/park/items/pk-guilin-suqiao?f=html",
        "/ogc/collections/fitness_station/queryables?f=html",
        "/ogc/api?f=html",
    ] {
        let (status, response, body) = get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(content_type(&response), "text/html; charset=utf-8", "{uri}");
        let page = String::from_utf8(body).unwrap();
        assert!(page.starts_with("<!doctype html>"), "{uri}");
        assert!(page.contains("<a href="), "{uri}");
        assert!(!page.contains("<script"), "{uri}");
    }
    let (_, _, body) = get("/ogc/collections/park/items?f=html&limit=5&offset=5").await;
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("rel=\"next\"") && page.contains("rel=\"prev\""));
    assert!(page.contains("/ogc/collections/park/items/"));
    assert!(page.contains("建会状态"));
    let (_, _, body) = get("/ogc/collections/park/items/pk-guilin-suqiao?f=html").await;
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("苏桥") && page.contains("/s/pk-guilin-suqiao"));

    let browser = Request::get("/ogc/collections")
        .header(
            header::ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .body(Body::empty())
        .unwrap();
    let (_, response, _) = send(common::app(), browser).await;
    assert!(content_type(&response).starts_with("text/html"));
    let gdal = Request::get("/ogc/collections/park/items?limit=2")
        .header(header::ACCEPT, "application/geo+json, application/json")
        .body(Body::empty())
        .unwrap();
    let (_, response, _) = send(common::app(), gdal).await;
    assert_eq!(content_type(&response), "application/geo+json");
}

/// Links are absolute, from `Host` and `X-Forwarded-Proto`.
#[tokio::test]
async fn links_name_the_host() {
    let req = Request::get("/ogc")
        .header(header::HOST, "maps.example.cn")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(common::app(), req).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        link(&v, "data", None).as_deref(),
        Some("https://maps.example.cn/ogc/collections?f=json")
    );
    assert_eq!(
        link(&v, "service-desc", None).as_deref(),
        Some("https://maps.example.cn/ogc/api")
    );
}

/// The OpenAPI document names every collection's paths, each parameter it
/// refers to exists, and the limit says its default and maximum.
#[tokio::test]
async fn openapi_describes_the_paths() {
    let doc = fetch("/ogc/api", "application/vnd.oai.openapi+json;version=3.0").await;
    assert_eq!(doc["servers"][0]["url"], "/ogc");
    for name in ["filter", "filter-lang", "filter-crs", "crs", "bbox-crs"] {
        let p = &doc["components"]["parameters"][name];
        assert_eq!(p["name"], name);
        assert_eq!(p["in"], "query");
    }
    assert_eq!(
        doc["components"]["parameters"]["crs"]["schema"]["enum"],
        json!([CRS84, EPSG_4490])
    );
    let limit = &doc["components"]["parameters"]["limit"]["schema"];
    assert_eq!(
        (&limit["default"], &limit["maximum"], &limit["minimum"]),
        (&json!(10_000), &json!(100_000), &json!(1))
    );
    let paths = doc["paths"].as_object().unwrap();
    for layer in ["driver_home", "courier_station", "fitness_station", "park"] {
        for p in [
            format!("/collections/{layer}"),
            format!("/collections/{layer}/items"),
            format!("/collections/{layer}/items/{{featureId}}"),
            format!("/collections/{layer}/queryables"),
        ] {
            assert!(paths.contains_key(&p), "{p}");
        }
    }
    let mut ids = HashSet::new();
    for (path, item) in paths {
        let op = &item["get"];
        assert!(ids.insert(op["operationId"].as_str().unwrap()), "{path}");
        assert!(op["responses"]["200"]["description"].is_string());
        for p in op["parameters"].as_array().unwrap() {
            if let Some(r) = p["$ref"].as_str() {
                let name = r.strip_prefix("#/components/parameters/").unwrap();
                assert!(doc["components"]["parameters"].get(name).is_some(), "{r}");
            } else {
                assert_eq!(p["in"], "query");
            }
        }
    }
    let park_items = &paths["/collections/park/items"]["get"]["parameters"];
    assert!(
        park_items
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "union_status")
    );
    assert_eq!(
        fetch(
            "/ogc/api?f=json",
            "application/vnd.oai.openapi+json;version=3.0"
        )
        .await,
        doc
    );
}

/// A park drawn as a polygon is found by a box that crosses the polygon but
/// not its centroid, and not by one that holds the centroid but misses the
/// polygon (a U shape).
#[tokio::test]
async fn bbox_meets_park_polygons() {
    let dir = tempfile::tempdir().unwrap();
    let park = |id: &str, geometry: Value| {
        json!({"type": "Feature", "id": id, "geometry": geometry, "properties": {
            "id": id, "name": format!("园区{id}"), "union_status": "none",
            "source": "test", "position_accuracy": "approximate", "synthetic": true,
            "updated": "2026-01-01",
        }})
    };
    // A U open to the north: its centroid (about 1.5, 1.1) lies in the gap.
    let u = json!({"type": "Polygon", "coordinates": [[
        [0.0, 0.0], [3.0, 0.0], [3.0, 3.0], [2.0, 3.0], [2.0, 1.0],
        [1.0, 1.0], [1.0, 3.0], [0.0, 3.0], [0.0, 0.0]
    ]]});
    let collection = json!({"type": "FeatureCollection", "features": [
        park("pk-u", u),
        park("pk-point", json!({"type": "Point", "coordinates": [10.0, 10.0]})),
    ]});
    std::fs::write(dir.path().join("park.test.geojson"), collection.to_string()).unwrap();
    let data = waystation::geodata::load_dir(dir.path()).expect("valid test data");
    let state = AppState::ready(Atlas::new(data), Basemap::None);
    let matched = |bbox: &str| {
        let state = state.clone();
        let query = if bbox.contains('(') {
            // A CQL2 filter.
            form_urlencoded::Serializer::new(String::new())
                .append_pair("filter", bbox)
                .finish()
        } else {
            format!("bbox={bbox}")
        };
        async move {
            let req = Request::get(format!("/ogc/collections/park/items?{query}"))
                .body(Body::empty())
                .unwrap();
            let (status, _, body) = send(router(state, common::repo_path("web")), req).await;
            assert_eq!(status, StatusCode::OK);
            let v: Value = serde_json::from_slice(&body).unwrap();
            v["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // The right arm only: the centroid is outside, the polygon inside.
    assert_eq!(matched("2.5,2,2.9,2.9").await, ["pk-u"]);
    // The gap of the U, centroid included: no polygon there.
    assert!(matched("1.2,1.2,1.8,2.9").await.is_empty());
    assert_eq!(matched("-1,-1,11,11").await, ["pk-u", "pk-point"]);
    // Across the antimeridian: nothing near.
    assert!(matched("179,0,-179,5").await.is_empty());
    // The same through CQL2 S_INTERSECTS, as the filter (the R-tree) and inside
    // an OR (a scan).
    let shapes = [
        ("BBOX(2.5, 2, 2.9, 2.9)", &["pk-u"][..]),
        ("BBOX(1.2, 1.2, 1.8, 2.9)", &[]),
        ("POLYGON((1.2 1.2, 1.8 1.2, 1.5 2.9, 1.2 1.2))", &[]),
        ("POINT(0.5 0.5)", &["pk-u"]),
        ("POINT(10 10)", &["pk-point"]),
        ("LINESTRING(-1 2, 1.5 2)", &["pk-u"]),
        ("BBOX(-1, -1, 11, 11)", &["pk-u", "pk-point"]),
        ("BBOX(179, 0, -179, 5)", &[]),
    ];
    for (shape, want) in shapes {
        let f = format!("S_INTERSECTS(geometry, {shape})");
        assert_eq!(matched(&f).await, want, "{f}");
        let f = format!("S_INTERSECTS(geometry, {shape}) OR name = 'none'");
        assert_eq!(matched(&f).await, want, "{f}");
        let f = format!("NOT S_INTERSECTS(geometry, {shape})");
        let complement: Vec<&str> = ["pk-u", "pk-point"]
            .into_iter()
            .filter(|id| !want.contains(id))
            .collect();
        assert_eq!(matched(&f).await, complement, "{f}");
    }
}

/// A query string of `pairs`, encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Every feature of `layer` that `pairs` select, in one page.
async fn selected(layer: &str, pairs: &[(&str, &str)]) -> Vec<Value> {
    let uri = format!(
        "/ogc/collections/{layer}/items?limit=100000&{}",
        query(pairs)
    );
    let v = fetch(&uri, "application/geo+json").await;
    assert_eq!(v["numberMatched"], v["numberReturned"], "{uri}");
    v["features"].as_array().unwrap().clone()
}

fn ids(features: &[Value]) -> Vec<String> {
    features
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A point feature's longitude and latitude.
fn lon_lat(f: &Value) -> (f64, f64) {
    let c = &f["geometry"]["coordinates"];
    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

/// Whether (x, y) lies inside the polygon `ring` (ray casting; no point of the
/// data lies on an edge of the test shapes).
fn inside(ring: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut inside = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let ((xi, yi), (xj, yj)) = (ring[i], ring[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// CQL2 filters, in text and in JSON, select exactly what a brute-force scan of
/// the same features selects: comparisons, AND / OR / NOT in three-valued logic
/// (a null property is unknown), IS NULL, DATE, S_INTERSECTS with a BBOX and a
/// POLYGON (by the R-tree and by a scan).
#[tokio::test]
async fn cql2_filters_match_a_brute_force_selection() {
    type Brute = fn(&Value) -> bool;
    let triangle = [(116.0, 34.0), (120.0, 34.0), (118.0, 37.5)];
    let beijing = |f: &Value| {
        let (x, y) = lon_lat(f);
        (116.2..=116.6).contains(&x) && (39.8..=40.05).contains(&y)
    };
    let cases: [(&str, &str, &str, Brute); 13] = [
        (
            "driver_home",
            "city = '临沂市'",
            r#"{"op":"=","args":[{"property":"city"},"临沂市"]}"#,
            |f| f["properties"]["city"] == "临沂市",
        ),
        (
            "park",
            "workers > 1000 AND union_status <> 'full'",
            r#"{"op":"and","args":[{"op":">","args":[{"property":"workers"},1000]},
                {"op":"<>","args":[{"property":"union_status"},"full"]}]}"#,
            |f| {
                let p = &f["properties"];
                p["workers"].as_u64().is_some_and(|w| w > 1000)
                    && p["union_status"].as_str().is_some_and(|s| s != "full")
            },
        ),
        (
            "park",
            "NOT (union_status = 'none') OR enterprises IS NULL",
            r#"{"op":"or","args":[{"op":"not","args":[{"op":"=","args":[{"property":"union_status"},"none"]}]},
                {"op":"isNull","args":[{"property":"enterprises"}]}]}"#,
            |f| {
                let p = &f["properties"];
                p["union_status"].as_str().is_some_and(|s| s != "none")
                    || p["enterprises"].is_null()
            },
        ),
        (
            "courier_station",
            "synthetic = false AND updated >= DATE('2026-11-01')",
            r#"{"op":"and","args":[{"op":"=","args":[{"property":"synthetic"},false]},
                {"op":">=","args":[{"property":"updated"},{"date":"2026-11-01"}]}]}"#,
            |f| {
                let p = &f["properties"];
                p["synthetic"] == false && p["updated"].as_str().is_some_and(|d| d >= "2026-11-01")
            },
        ),
        (
            "courier_station",
            "S_INTERSECTS(geometry, BBOX(116.2, 39.8, 116.6, 40.05))",
            r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[116.2,39.8,116.6,40.05]}]}"#,
            |f| {
                let (x, y) = lon_lat(f);
                (116.2..=116.6).contains(&x) && (39.8..=40.05).contains(&y)
            },
        ),
        (
            "driver_home",
            "S_INTERSECTS(geometry, POLYGON((116 34, 120 34, 118 37.5, 116 34))) AND NOT (synthetic = true)",
            r#"{"op":"and","args":[
                {"op":"s_intersects","args":[{"property":"geometry"},
                    {"type":"Polygon","coordinates":[[[116,34],[120,34],[118,37.5],[116,34]]]}]},
                {"op":"not","args":[{"op":"=","args":[{"property":"synthetic"},true]}]}]}"#,
            |f| {
                inside(&[(116.0, 34.0), (120.0, 34.0), (118.0, 37.5)], lon_lat(f))
                    && f["properties"]["synthetic"] == false
            },
        ),
        (
            "courier_station",
            "S_INTERSECTS(geometry, BBOX(116.2, 39.8, 116.6, 40.05)) OR city = '聊城市'",
            r#"{"op":"or","args":[
                {"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[116.2,39.8,116.6,40.05]}]},
                {"op":"=","args":[{"property":"city"},"聊城市"]}]}"#,
            |f| {
                let (x, y) = lon_lat(f);
                ((116.2..=116.6).contains(&x) && (39.8..=40.05).contains(&y))
                    || f["properties"]["city"] == "聊城市"
            },
        ),
        ("park", "true", "true", |_| true),
        ("park", "false", "false", |_| false),
        (
            "driver_home",
            "name LIKE '%司机之家%' AND NOT (city LIKE '临沂_')",
            r#"{"op":"and","args":[{"op":"like","args":[{"property":"name"},"%司机之家%"]},
                {"op":"not","args":[{"op":"like","args":[{"property":"city"},"临沂_"]}]}]}"#,
            |f| {
                let p = &f["properties"];
                p["name"].as_str().is_some_and(|n| n.contains("司机之家"))
                    && p["city"]
                        .as_str()
                        .is_some_and(|c| !(c.starts_with("临沂") && c.chars().count() == 3))
            },
        ),
        (
            "park",
            "workers BETWEEN 2000 AND 20000",
            r#"{"op":"between","args":[{"property":"workers"},2000,20000]}"#,
            |f| {
                f["properties"]["workers"]
                    .as_u64()
                    .is_some_and(|w| (2000..=20000).contains(&w))
            },
        ),
        (
            "park",
            "union_status NOT IN ('full', 'partial')",
            r#"{"op":"not","args":[{"op":"in","args":[{"property":"union_status"},["full","partial"]]}]}"#,
            |f| {
                f["properties"]["union_status"]
                    .as_str()
                    .is_some_and(|s| s == "none")
            },
        ),
        (
            "courier_station",
            "city IN ('临沂市', '聊城市') OR updated NOT BETWEEN DATE('2000-01-01') AND DATE('2100-01-01')",
            r#"{"op":"or","args":[{"op":"in","args":[{"property":"city"},["临沂市","聊城市"]]},
                {"op":"not","args":[{"op":"between","args":[{"property":"updated"},{"date":"2000-01-01"},{"date":"2100-01-01"}]}]}]}"#,
            |f| {
                let p = &f["properties"];
                p["city"]
                    .as_str()
                    .is_some_and(|c| c == "临沂市" || c == "聊城市")
                    || p["updated"]
                        .as_str()
                        .is_some_and(|d| !("2000-01-01"..="2100-01-01").contains(&d))
            },
        ),
    ];
    for (layer, text, json, brute) in cases {
        let all = selected(layer, &[]).await;
        let want = ids(&all.iter().filter(|f| brute(f)).cloned().collect::<Vec<_>>());
        let by_text = ids(&selected(layer, &[("filter", text)]).await);
        assert_eq!(by_text, want, "{layer}: {text}");
        let by_json =
            ids(&selected(layer, &[("filter", json), ("filter-lang", "cql2-json")]).await);
        assert_eq!(by_json, want, "{layer}: {json}");
        if ![
            "false",
            "synthetic = false AND updated >= DATE('2026-11-01')",
        ]
        .contains(&text)
            && !text.contains("OR city")
        {
            assert!(!want.is_empty(), "{layer}: {text} selects nothing here");
        }
    }
    // The R-tree (a top-level spatial term) and a scan (the same term inside an
    // OR) agree, and so does the bbox parameter.
    let _ = triangle;
    let rtree = ids(&selected(
        "courier_station",
        &[(
            "filter",
            "S_INTERSECTS(geometry, BBOX(116.2, 39.8, 116.6, 40.05)) AND synthetic = true",
        )],
    )
    .await);
    let scan = ids(&selected(
        "courier_station",
        &[("filter", "(S_INTERSECTS(geometry, BBOX(116.2, 39.8, 116.6, 40.05)) OR false) AND synthetic = true")],
    )
    .await);
    let param = ids(&selected(
        "courier_station",
        &[("bbox", "116.2,39.8,116.6,40.05"), ("synthetic", "true")],
    )
    .await);
    assert!(!rtree.is_empty());
    assert_eq!(rtree, scan);
    assert_eq!(rtree, param);
    let all = selected("courier_station", &[]).await;
    assert_eq!(
        rtree.len(),
        all.iter()
            .filter(|f| beijing(f) && f["properties"]["synthetic"] == true)
            .count()
    );

    // Paging keeps the filter: the `next` links walk the same selection.
    let filter = "workers > 1000 AND union_status <> 'full'";
    let whole = ids(&selected("park", &[("filter", filter)]).await);
    let mut next = Some(format!(
        "/ogc/collections/park/items?limit=3&{}",
        query(&[("filter", filter)])
    ));
    let mut walked = Vec::new();
    while let Some(uri) = next {
        let page = fetch(&uri, "application/geo+json").await;
        assert_eq!(page["numberMatched"].as_u64(), Some(whole.len() as u64));
        walked.extend(ids(page["features"].as_array().unwrap()));
        next = link(&page, "next", None);
    }
    assert_eq!(walked, whole);
}

/// The Basic CQL2 conformance tests (A.3.2, A.3.3) on every queryable of two
/// layers: `=` and `<>`, `>` and `<=`, `<` and `>=` select disjoint sets which,
/// with `IS NULL`, cover the layer; `IS NULL` and `IS NOT NULL` partition it.
#[tokio::test]
async fn basic_cql2_partitions_each_queryable() {
    for layer in ["park", "driver_home"] {
        let all = selected(layer, &[]).await;
        let total = all.len();
        let schema = fetch(
            &format!("/ogc/collections/{layer}/queryables"),
            "application/schema+json",
        )
        .await;
        for (name, s) in schema["properties"].as_object().unwrap() {
            let count = |filter: String| async move {
                selected(layer, &[("filter", filter.as_str())]).await.len()
            };
            let nulls = count(format!("{name} IS NULL")).await;
            let not_nulls = count(format!("{name} IS NOT NULL")).await;
            assert_eq!(nulls + not_nulls, total, "{layer} {name}");
            // A value from the data, so that both sides of each pair can be non-empty.
            let sample = all
                .iter()
                .map(|f| &f["properties"][name])
                .find(|v| !v.is_null());
            let literal = match (s["type"].as_str(), s["format"].as_str(), sample) {
                (Some("string"), Some("date"), Some(v)) => {
                    format!("DATE('{}')", v.as_str().unwrap())
                }
                (Some("string"), _, Some(v)) => format!("'{}'", v.as_str().unwrap()),
                (Some("string"), _, None) => "'foo'".into(),
                (Some("integer"), _, Some(v)) => v.to_string(),
                (Some("integer"), _, None) => "1".into(),
                (Some("boolean"), _, _) => "true".into(),
                // The geometry and the amenities (an array) are not compared.
                _ => continue,
            };
            for (a, b) in [("=", "<>"), (">", "<="), ("<", ">=")] {
                let x =
                    ids(&selected(layer, &[("filter", &format!("{name} {a} {literal}"))]).await);
                let y =
                    ids(&selected(layer, &[("filter", &format!("{name} {b} {literal}"))]).await);
                assert!(
                    x.iter().all(|id| !y.contains(id)),
                    "{layer}: {name} {a} / {b} {literal} overlap"
                );
                assert_eq!(
                    x.len() + y.len() + nulls,
                    total,
                    "{layer}: {name} {a} {literal}"
                );
            }
            let eq = ids(&selected(layer, &[("filter", &format!("{name} = {literal}"))]).await);
            if s["type"] != "boolean" {
                assert!(!eq.is_empty(), "{layer}: {name} = {literal}");
            }
        }
    }
}

/// The problems of a refused request: (parameter, reason).
async fn problems(uri: &str) -> Vec<(String, String)> {
    let (status, response, body) = get(uri).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(content_type(&response), "application/problem+json", "{uri}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["invalid-params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A bad filter is a 400 problem naming `filter` (or `filter-lang`,
/// `filter-crs`) and saying why.
#[tokio::test]
async fn bad_filters_are_named_with_the_reason() {
    /// The query's pairs, the parameter named, a part of the reason.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 11] = [
        (
            &[("filter", "nosuch = 1")],
            "filter",
            "'nosuch' is not a queryable of park",
        ),
        (&[("filter", "grade = 'simple'")], "filter", "not of park"),
        (&[("filter", "city = ")], "filter", "cql2-text"),
        (
            &[("filter", "workers = 'many'")],
            "filter",
            "'workers' is a number",
        ),
        (&[("filter", "city = 3")], "filter", "'city' is a string"),
        (
            &[("filter", "CASEI(name) = '临沂'")],
            "filter",
            "not offered",
        ),
        (
            &[("filter", "S_INTERSECTS(geometry, POINT(90 180))")],
            "filter",
            "latitude",
        ),
        (
            &[("filter", "{\"op\":\"=\""), ("filter-lang", "cql2-json")],
            "filter",
            "cql2-json",
        ),
        (
            &[("filter", "true"), ("filter-lang", "ecql")],
            "filter-lang",
            "cql2-text",
        ),
        (
            &[
                ("filter", "true"),
                ("filter-crs", "http://www.opengis.net/def/crs/EPSG/0/3857"),
            ],
            "filter-crs",
            "not offered",
        ),
        (&[("filter", "")], "filter", "empty"),
    ];
    for (pairs, name, reason) in cases {
        let uri = format!("/ogc/collections/park/items?{}", query(pairs));
        let got = problems(&uri).await;
        assert_eq!(got.len(), 1, "{uri}: {got:?}");
        assert_eq!(got[0].0, name, "{uri}");
        assert!(got[0].1.contains(reason), "{uri}: {}", got[0].1);
    }
}

/// `crs=EPSG:4490` swaps each coordinate pair (CGCS2000 is latitude first) in
/// the items and the item, `Content-Crs` names the CRS, `bbox-crs` reads the box
/// latitude first, and other CRS are refused, naming the parameter.
#[tokio::test]
async fn crs_4490_swaps_the_axes() {
    let enc = query(&[("crs", EPSG_4490)]);
    let (_, response, body) = get("/ogc/collections/driver_home/items/dh-linyi-caiyuan").await;
    assert_eq!(
        response.headers()["content-crs"],
        format!("<{CRS84}>").as_str()
    );
    let lonlat: Value = serde_json::from_slice(&body).unwrap();
    let (_, response, body) = get(&format!(
        "/ogc/collections/driver_home/items/dh-linyi-caiyuan?{enc}"
    ))
    .await;
    assert_eq!(
        response.headers()["content-crs"],
        format!("<{EPSG_4490}>").as_str()
    );
    let latlon: Value = serde_json::from_slice(&body).unwrap();
    let (lon, lat) = lon_lat(&lonlat);
    // Linyi is at about 118°E, 35°N.
    assert!((117.0..120.0).contains(&lon) && (34.0..36.0).contains(&lat));
    assert_eq!(latlon["geometry"]["coordinates"], json!([lat, lon]));
    assert_eq!(latlon["properties"], lonlat["properties"]);

    // Every feature of every layer, polygons included, is the CRS84 one swapped.
    fn swapped(v: &Value) -> Value {
        match v.as_array() {
            Some(a) if a.len() == 2 && a.iter().all(Value::is_number) => json!([a[1], a[0]]),
            Some(a) => Value::Array(a.iter().map(swapped).collect()),
            None => v.clone(),
        }
    }
    for layer in ["park", "fitness_station"] {
        let a = selected(layer, &[]).await;
        let b = selected(layer, &[("crs", EPSG_4490)]).await;
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x["id"], y["id"]);
            assert_eq!(x["properties"], y["properties"]);
            assert_eq!(x["geometry"]["type"], y["geometry"]["type"]);
            assert_eq!(
                swapped(&x["geometry"]["coordinates"]),
                y["geometry"]["coordinates"]
            );
        }
    }
    let (_, response, _) = get(&format!("/ogc/collections/park/items?limit=1&{enc}")).await;
    assert_eq!(
        response.headers()["content-crs"],
        format!("<{EPSG_4490}>").as_str()
    );
    let page = fetch(
        &format!("/ogc/collections/park/items?limit=1&{enc}"),
        "application/geo+json",
    )
    .await;
    assert!(link(&page, "next", None).unwrap().contains("crs=http"));

    // bbox-crs: the same box, latitude first.
    let by_lonlat = ids(&selected("driver_home", &[("bbox", "117,34,119,36")]).await);
    let by_latlon = ids(&selected(
        "driver_home",
        &[("bbox", "34,117,36,119"), ("bbox-crs", EPSG_4490)],
    )
    .await);
    assert!(!by_lonlat.is_empty());
    assert_eq!(by_lonlat, by_latlon);
    // filter-crs: a CQL2 geometry latitude first.
    let by_filter = ids(&selected(
        "driver_home",
        &[
            ("filter", "S_INTERSECTS(geometry, BBOX(34, 117, 36, 119))"),
            ("filter-crs", EPSG_4490),
        ],
    )
    .await);
    assert_eq!(by_lonlat, by_filter);

    for (uri, name) in [
        ("/ogc/collections/park/items?crs=EPSG:3857", "crs"),
        (
            "/ogc/collections/park/items?bbox=1,2,3,4&bbox-crs=EPSG:4326",
            "bbox-crs",
        ),
        (
            "/ogc/collections/park/items/pk-guilin-suqiao?crs=EPSG:4479",
            "crs",
        ),
    ] {
        let got = problems(uri).await;
        assert_eq!(got.len(), 1, "{uri}");
        assert_eq!(got[0].0, name, "{uri}");
        assert!(got[0].1.contains(EPSG_4490), "{uri}: {}", got[0].1);
    }
}
