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
        assert_eq!(own["crs"], json!([CRS84]));
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
        assert!(link(&own, "items", Some("application/geo+json")).is_some());
        assert!(link(&own, "items", Some("text/html")).is_some());
        assert!(link(&own, "alternate", Some("text/html")).is_some());
        let q = link(&own, "queryables", None).unwrap();
        fetch(&q, "application/schema+json").await;
        let first = fetch(
            &format!(
                "{}&limit=1",
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
        "{}&limit=5",
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
    // Each queryable is a parameter the items accept.
    for (name, schema) in park["properties"].as_object().unwrap() {
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
        Some("https://maps.example.cn/api/openapi.json")
    );
}

/// The OpenAPI document names every collection's paths, each parameter it
/// refers to exists, and the limit says its default and maximum.
#[tokio::test]
async fn openapi_describes_the_paths() {
    let doc = fetch(
        "/api/openapi.json",
        "application/vnd.oai.openapi+json;version=3.0",
    )
    .await;
    assert_eq!(doc["servers"][0]["url"], "/ogc");
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
    let matched = |bbox: &'static str| {
        let state = state.clone();
        async move {
            let req = Request::get(format!("/ogc/collections/park/items?bbox={bbox}"))
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
}
