//! `POST /api/v1/along` through the router on the bundled data: the same answer
//! whichever way the route is written (GeoJSON, Amap's GCJ-02 string, an encoded
//! polyline, GPX), equal to the brute-force scan, and every bad field named.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use waystation::route::{self, AlongQuery, Route};

async fn post(body: Vec<u8>, content_type: &str, query: &str) -> (StatusCode, Value) {
    let req = Request::post(format!("/api/v1/along{query}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, _, bytes) = common::send(common::app(), req).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, v)
}

async fn post_json(body: Value) -> (StatusCode, Value) {
    post(body.to_string().into_bytes(), "application/json", "").await
}

/// From Linyi's city centre north-west past the 财源 logistics park's driver home
/// (118.29, 35.095) and on towards Jinan.
const ROUTE: [(f64, f64); 4] = [
    (118.36, 35.05),
    (118.30, 35.09),
    (118.20, 35.20),
    (117.6, 36.2),
];

fn ids(v: &Value) -> Vec<String> {
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn along_a_road_in_every_notation() {
    let line = json!({"type": "LineString", "coordinates": ROUTE.iter().map(|(x, y)| [x, y]).collect::<Vec<_>>()});
    let (status, v) = post_json(json!({"route": line, "corridor_m": 5000, "limit": 500})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let got = ids(&v);
    assert!(got.contains(&"dh-linyi-caiyuan".to_owned()), "{got:?}");
    let features = v["features"].as_array().unwrap();
    let along: Vec<u64> = features
        .iter()
        .map(|f| f["properties"]["along_m"].as_u64().unwrap())
        .collect();
    assert!(along.windows(2).all(|w| w[0] <= w[1]), "{along:?}");
    for f in features {
        let p = &f["properties"];
        assert!(p["offset_m"].as_u64().unwrap() <= 5000);
        let (detour, offset) = (
            p["detour_m"].as_i64().unwrap(),
            p["offset_m"].as_i64().unwrap(),
        );
        assert!((detour - 2 * offset).abs() <= 1, "{p}");
        assert!(p["side"] == "left" || p["side"] == "right");
        assert!(p["links"]["amap"].as_str().is_some());
    }
    assert!(v["route_length_m"].as_u64().unwrap() > 100_000);

    // The library's brute force agrees.
    let atlas = common::state();
    let data_atlas = waystation::geodata::load_dir(&common::repo_path("geodata")).unwrap();
    let atlas_lib = waystation::index::Atlas::new(data_atlas);
    let parts = vec![
        ROUTE
            .iter()
            .map(|(x, y)| waystation::model::LonLat::new(*x, *y).unwrap())
            .collect::<Vec<_>>(),
    ];
    let q = AlongQuery {
        corridor_m: 5000.0,
        layers: waystation::model::LayerSet::facilities(),
        amenities: Default::default(),
        depart: None,
        open_on_arrival: false,
        limit: 500,
    };
    let brute = route::along_by_scan(&atlas_lib, &Route::new(&parts).unwrap(), &q);
    let brute_ids: Vec<String> = brute
        .iter()
        .map(|h| atlas_lib.facility(h.facility).id().to_owned())
        .collect();
    assert_eq!(got, brute_ids);
    drop(atlas);

    // Amap's string, in GCJ-02.
    let amap: Vec<String> = ROUTE
        .iter()
        .map(|(x, y)| {
            let (gx, gy) = coordtransform::wgs84_to_gcj02(*x, *y);
            format!("{gx:.7},{gy:.7}")
        })
        .collect();
    let (status, v) = post_json(
        json!({"route": amap.join(";"), "crs": "gcj02", "corridor_m": 5000, "limit": 500}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), got);

    // GPX, with the fields in the query string.
    let pts: String = ROUTE
        .iter()
        .map(|(x, y)| format!("<trkpt lat=\"{y}\" lon=\"{x}\"/>"))
        .collect();
    let gpx = format!(
        "<?xml version=\"1.0\"?><gpx version=\"1.1\"><trk><trkseg>{pts}</trkseg></trk></gpx>"
    );
    let (status, v) = post(
        gpx.into_bytes(),
        "application/gpx+xml",
        "?corridor_m=5000&limit=500",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), got);

    // Arrival times.
    let (status, v) = post_json(json!({"route": line, "corridor_m": 5000, "depart": "2026-10-03T08:00:00+08:00", "speed_kmh": 60})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let first = &v["features"][0]["properties"];
    assert!(
        first["eta"].as_str().unwrap().starts_with("2026-10-03T0"),
        "{first}"
    );
}

#[tokio::test]
async fn bad_fields_are_named() {
    let (status, v) =
        post_json(json!({"route": "118.3,35.1", "corridor_m": 60000, "speed_kmh": 50, "lanes": 2}))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let mut names: Vec<&str> = v["invalid-params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["corridor_m", "lanes", "route", "speed_kmh"], "{v}");
    // Longer than 10,000 km.
    let (status, v) = post_json(json!({"route": "75,40;135,45;75,40;135,45"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("km long"), "{v}");
    let (status, _) = post(b"[1,2]".to_vec(), "application/json", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, v) = post(
        b"<gpx></gpx>".to_vec(),
        "application/gpx+xml",
        "?corridr_m=5",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}
