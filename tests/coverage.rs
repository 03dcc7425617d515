//! The coverage routes through the router (`oneshot`): on the bundled data, checked
//! against brute force computed from the data itself, and on small datasets built
//! here to reach the caps.

mod common;

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use calamine::{Data, Reader, Xlsx};
use common::{get, get_json, send};
use proptest::prelude::*;
use serde_json::{Value, json};
use waystation::geodata::Dataset;
use waystation::http::{AppState, Basemap, router};
use waystation::index::{Atlas, sphere};
use waystation::model::Shared;
use waystation::model::hours::{Calendar, Schedules};
use waystation::model::{
    AmenitySet, Facility, FacilityText, Layer, LonLat, Park, ParkCounts, PositionAccuracy,
    Provenance, TextFields,
};

fn header_of(r: &axum::http::Response<Body>, name: header::HeaderName) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The bundled data for the brute-force checks (the app's state keeps its own copy private).
fn atlas() -> Arc<Atlas> {
    static ATLAS: std::sync::OnceLock<Arc<Atlas>> = std::sync::OnceLock::new();
    ATLAS
        .get_or_init(|| {
            let data = waystation::geodata::load_dir(&common::repo_path("geodata")).expect("data");
            Arc::new(Atlas::new(data))
        })
        .clone()
}

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).expect("valid position")
}

fn position_of(feature: &Value) -> LonLat {
    let c = &feature["geometry"]["coordinates"];
    ll(c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

async fn post_json(
    app: Router,
    uri: &str,
    body: &str,
) -> (StatusCode, axum::http::Response<Body>, Value) {
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let (status, response, bytes) = send(app, req).await;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, response, v)
}

fn provenance() -> Provenance {
    Provenance {
        source: Shared::new("tests/coverage.rs"),
        position_accuracy: PositionAccuracy::Approximate,
        synthetic: true,
        updated: None,
        notes: None,
    }
}

/// An app over facilities and parks built here.
fn app_with(facilities: &[(Layer, LonLat)], parks: &[(LonLat, u32)]) -> Router {
    let facilities = facilities
        .iter()
        .enumerate()
        .map(|(i, (layer, p))| Facility {
            text: FacilityText::new(TextFields {
                id: &format!("t-f{i}"),
                name: &format!("测试设施{i}"),
                ..TextFields::default()
            }),
            layer: *layer,
            position: *p,
            city: None,
            district: None,
            amenities: AmenitySet::default(),
            hours: None,
            operator: None,
            grade: None,
            provenance: provenance(),
        })
        .collect();
    let parks = parks
        .iter()
        .enumerate()
        .map(|(i, (p, workers))| Park {
            id: format!("t-p{i}").into(),
            name: format!("测试园区{i}").into(),
            name_en: None,
            city: None,
            district: None,
            park_type: None,
            counts: ParkCounts {
                workers: Some(*workers),
                union_members: Some(0),
                ..Default::default()
            },
            union_status: None,
            union_founded: None,
            counts_as_of: None,
            position: *p,
            geometry: None,
            provenance: provenance(),
        })
        .collect();
    let data = Dataset::from_parts(facilities, parks, Schedules::new(Calendar::bundled()));
    router(
        AppState::ready(Atlas::new(data), Basemap::None),
        common::repo_path("web"),
    )
}

/// Asserts a 4xx problem+json naming `param` (when not empty).
fn assert_problem(
    what: &str,
    status: StatusCode,
    response: &axum::http::Response<Body>,
    v: &Value,
    code: u16,
    param: &str,
) {
    assert_eq!(status.as_u16(), code, "{what}: {v}");
    assert_eq!(
        header_of(response, header::CONTENT_TYPE),
        "application/problem+json",
        "{what}"
    );
    assert_eq!(v["status"], code, "{what}");
    assert!(
        v["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}"
    );
    if !param.is_empty() {
        let names: Vec<&str> = v["invalid-params"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no invalid-params in {v}"))
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&param), "{what}: {names:?}");
    }
}

/// Every park comes back with distances and counts equal to a brute-force haversine
/// computation over the layers, the default radii, and a gap score following the formula.
#[tokio::test]
async fn park_coverage_equals_brute_force() {
    let (status, v) = get_json("/api/v1/coverage/parks?limit=100000").await;
    assert_eq!(status, StatusCode::OK);
    let atlas = atlas();
    let data = atlas.data();
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), data.parks.len());
    assert_eq!(
        v["numberMatched"].as_u64().unwrap() as usize,
        data.parks.len()
    );
    let radii = HashMap::from([
        ("driver_home", 20_000.0),
        ("courier_station", 3_000.0),
        ("fitness_station", 5_000.0),
    ]);
    for f in features {
        let p = &f["properties"];
        let park = data
            .parks
            .iter()
            .find(|x| *x.id == *p["id"].as_str().unwrap())
            .unwrap();
        let mut reach = 0.0;
        for (layer, radius) in &radii {
            assert_eq!(p["radius_m"][layer].as_f64(), Some(*radius));
            let dists: Vec<f64> = data
                .facilities
                .iter()
                .filter(|x| x.layer.id() == *layer)
                .map(|x| sphere::haversine_m(park.position, x.position))
                .collect();
            let nearest = dists.iter().copied().fold(f64::INFINITY, f64::min);
            let got = p["nearest_m"][layer].as_f64().unwrap();
            assert!(
                (got - nearest).abs() <= 0.5 + 1e-6,
                "{layer}: {got} vs {nearest}"
            );
            let within = dists.iter().filter(|d| **d <= *radius).count();
            assert_eq!(
                p["count_within"][layer].as_u64(),
                Some(within as u64),
                "{layer}"
            );
            reach += (nearest / radius).min(1.0);
        }
        match (park.counts.workers, park.counts.union_members) {
            (Some(w), Some(m)) => {
                let u = w.saturating_sub(m);
                assert_eq!(p["ununionised_workers"].as_u64(), Some(u64::from(u)));
                let expected = f64::from(u) * reach / 3.0;
                let got = p["gap_score"].as_f64().unwrap();
                assert!(
                    (got - expected).abs() <= 0.01 + expected * 1e-6,
                    "{got} vs {expected}"
                );
            }
            _ => assert!(p["gap_score"].is_null() && p["ununionised_workers"].is_null()),
        }
        // The park's own properties are kept.
        assert!(p["name"].is_string() && p["synthetic"].is_boolean() && p["source"].is_string());
    }
    // Default order: gap score, largest first, unknown last; ranks count from 1.
    let scores: Vec<Option<f64>> = features
        .iter()
        .map(|f| f["properties"]["gap_score"].as_f64())
        .collect();
    let known = scores.iter().take_while(|s| s.is_some()).count();
    assert!(scores[known..].iter().all(Option::is_none));
    assert!(scores[..known].windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(features[0]["properties"]["rank"], 1);
}

/// Radius overrides, filters, sort orders and paging.
#[tokio::test]
async fn park_coverage_parameters() {
    let (_, base) = get_json("/api/v1/coverage/parks?limit=100000&sort=id").await;
    let (_, wide) =
        get_json("/api/v1/coverage/parks?limit=100000&sort=id&radius_courier_station=15000").await;
    for (a, b) in base["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(wide["features"].as_array().unwrap())
    {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(b["properties"]["radius_m"]["courier_station"], 15000.0);
        let (na, nb) = (
            &a["properties"]["count_within"],
            &b["properties"]["count_within"],
        );
        assert!(nb["courier_station"].as_u64() >= na["courier_station"].as_u64());
        assert_eq!(na["driver_home"], nb["driver_home"]);
        let (ga, gb) = (
            a["properties"]["gap_score"].as_f64(),
            b["properties"]["gap_score"].as_f64(),
        );
        assert!(
            gb <= ga.map(|g| g + 1e-9),
            "a wider radius never raises the gap"
        );
    }
    let all = base["features"].as_array().unwrap();
    let ids: Vec<&str> = all.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sort=id is A–Z");

    let (_, none) = get_json("/api/v1/coverage/parks?limit=100000&union_status=none").await;
    let none = none["features"].as_array().unwrap();
    assert!(!none.is_empty());
    assert!(
        none.iter()
            .all(|f| f["properties"]["union_status"] == "none")
    );
    assert_eq!(
        none.len(),
        all.iter()
            .filter(|f| f["properties"]["union_status"] == "none")
            .count()
    );

    let (_, big) =
        get_json("/api/v1/coverage/parks?limit=100000&min_workers=1000&sort=workers").await;
    let w: Vec<u64> = big["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["workers"].as_u64().unwrap())
        .collect();
    assert!(w.iter().all(|w| *w >= 1000) && w.windows(2).all(|x| x[0] >= x[1]));

    let bbox = [115.0, 39.0, 118.0, 41.0];
    let (_, inside) = get_json("/api/v1/coverage/parks?limit=100000&bbox=115,39,118,41").await;
    let expected = all
        .iter()
        .filter(|f| {
            let p = atlas()
                .data()
                .parks
                .iter()
                .find(|p| *p.id == *f["id"].as_str().unwrap())
                .unwrap()
                .position;
            (bbox[0]..=bbox[2]).contains(&p.lon()) && (bbox[1]..=bbox[3]).contains(&p.lat())
        })
        .count();
    assert_eq!(inside["features"].as_array().unwrap().len(), expected);
    assert!(expected > 0);

    let city = all[0]["properties"]["city"].as_str().unwrap().to_owned();
    let district = all[0]["properties"]["district"]
        .as_str()
        .unwrap()
        .to_owned();
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("city", city.as_str()),
            ("district", district.as_str()),
            ("limit", "100000"),
        ])
        .finish();
    let (_, here) = get_json(&format!("/api/v1/coverage/parks?{q}")).await;
    let here = here["features"].as_array().unwrap();
    assert!(!here.is_empty());
    assert!(here.iter().all(|f| f["properties"]["city"] == city.as_str()
        && f["properties"]["district"] == district.as_str()));

    let (_, page) = get_json("/api/v1/coverage/parks?sort=id&limit=5&offset=3").await;
    let page = page["features"].as_array().unwrap();
    assert_eq!(page.len(), 5);
    assert_eq!(page[0]["id"], all[3]["id"]);
    assert_eq!(page[0]["properties"]["rank"], 4);
    let (_, names) = get_json("/api/v1/coverage/parks?sort=name&order=desc&limit=50").await;
    let n: Vec<&str> = names["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["name"].as_str().unwrap())
        .collect();
    assert!(n.windows(2).all(|w| w[0] >= w[1]));
    let (_, far) = get_json("/api/v1/coverage/parks?sort=nearest_driver_home&limit=50").await;
    let d: Vec<f64> = far["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["properties"]["nearest_m"]["driver_home"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(d.windows(2).all(|w| w[0] >= w[1]), "farthest first");
}

/// The CSV download has a BOM, a header, one row per park, Chinese intact; it parses.
#[tokio::test]
async fn park_coverage_csv() {
    let (status, response, body) =
        get("/api/v1/coverage/parks?format=csv&union_status=none,partial").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "text/csv; charset=utf-8"
    );
    let disposition = header_of(&response, header::CONTENT_DISPOSITION);
    assert!(
        disposition.starts_with("attachment; filename=\"park-coverage_none-partial_20"),
        "{disposition}"
    );
    assert!(disposition.contains("filename*=UTF-8''park-coverage_none-partial_20"));
    assert_eq!(&body[..3], b"\xEF\xBB\xBF", "UTF-8 BOM for Excel");
    let (_, geo) = get_json("/api/v1/coverage/parks?union_status=none,partial&limit=100000").await;
    let features = geo["features"].as_array().unwrap();
    let mut reader = csv::Reader::from_reader(&body[3..]);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "rank");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), features.len());
    for (row, f) in rows.iter().zip(features) {
        let p = &f["properties"];
        assert_eq!(&row[col("id")], p["id"].as_str().unwrap());
        assert_eq!(&row[col("name")], p["name"].as_str().unwrap());
        assert!(
            row[col("name")]
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        );
        let gap = &row[col("gap_score")];
        assert_eq!(gap.parse::<f64>().ok(), p["gap_score"].as_f64());
        let near = row[col("nearest_m_courier_station")]
            .parse::<f64>()
            .unwrap();
        assert!((near - p["nearest_m"]["courier_station"].as_f64().unwrap()).abs() <= 1.0);
        assert_eq!(&row[col("synthetic")], p["synthetic"].to_string());
    }
}

/// The XLSX download is a zip whose sheet has the header and one row per park.
#[tokio::test]
async fn park_coverage_xlsx() {
    let (status, response, body) =
        get("/api/v1/coverage/parks?format=xlsx&limit=40&offset=10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = header_of(&response, header::CONTENT_DISPOSITION);
    assert!(
        disposition.contains("filename=\"park-coverage_20") && disposition.ends_with(".xlsx"),
        "{disposition}"
    );
    assert_eq!(&body[..4], b"PK\x03\x04", "zip magic");
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(body)).unwrap();
    assert_eq!(book.sheet_names(), ["park_coverage", "about"]);
    let sheet = book.worksheet_range("park_coverage").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 41);
    assert_eq!(rows[0][0], Data::String("rank".into()));
    assert_eq!(rows[1][0], Data::Float(11.0), "ranks continue across pages");
    let (_, geo) = get_json("/api/v1/coverage/parks?limit=40&offset=10").await;
    for (row, f) in rows[1..].iter().zip(geo["features"].as_array().unwrap()) {
        assert_eq!(row[1], Data::String(f["id"].as_str().unwrap().to_owned()));
        assert_eq!(
            row[2],
            Data::String(f["properties"]["name"].as_str().unwrap().to_owned())
        );
    }
    let about = book.worksheet_range("about").unwrap();
    assert!(
        about
            .rows()
            .any(|r| r[0] == Data::String("gap_score".into()))
    );
}

/// A filtered download is named after its analysis, city, statuses and day, and its
/// `about` sheet records the filters and the order.
#[tokio::test]
async fn park_coverage_exports_name_and_record_their_filters() {
    let city = "%E4%B8%B4%E6%B2%82%E5%B8%82"; // 临沂市
    let (status, response, body) = get(&format!(
        "/api/v1/coverage/parks?format=xlsx&city={city}&union_status=none&min_workers=10&sort=workers"
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let disposition = header_of(&response, header::CONTENT_DISPOSITION);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"park-coverage_none_min10_{today}.xlsx\"; \
             filename*=UTF-8''park-coverage_{city}_none_min10_{today}.xlsx"
        )
    );
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(body)).unwrap();
    let about = book.worksheet_range("about").unwrap();
    let line = |k: &str| {
        about
            .rows()
            .find(|r| r[0] == Data::String(k.into()))
            .map(|r| r[1].to_string())
    };
    assert_eq!(line("filter city").as_deref(), Some("临沂市"));
    assert_eq!(line("filter union_status").as_deref(), Some("none"));
    assert_eq!(line("filter min_workers").as_deref(), Some("10"));
    assert_eq!(line("sorted by").as_deref(), Some("workers"));
    assert_eq!(line("date"), Some(today));
    // No filter: the about sheet says so.
    let (_, _, body) = get("/api/v1/coverage/parks?format=xlsx&limit=5").await;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(body)).unwrap();
    let about = book.worksheet_range("about").unwrap();
    assert!(about.rows().any(|r| r[0] == Data::String("filters".into())));
}

/// Siting takes the planner's park filters: only the parks of the city (and status)
/// are demand and candidates.
#[tokio::test]
async fn siting_takes_the_park_filters() {
    let atlas = atlas();
    let data = atlas.data();
    let body = json!({"layer": "driver_home", "p": 3, "candidates": "parks", "weight": "workers",
        "city": "临沂市", "union_status": ["none", "partial"], "min_workers": 1});
    let (status, _, v) = post_json(common::app(), "/api/v1/siting", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let chosen: Vec<&Park> = data
        .parks
        .iter()
        .filter(|p| p.city.as_deref() == Some("临沂市"))
        .filter(|p| {
            p.union_status.is_some_and(|s| {
                s == waystation::model::UnionStatus::None
                    || s == waystation::model::UnionStatus::Partial
            })
        })
        .filter(|p| p.counts.workers.is_some_and(|w| w >= 1))
        .collect();
    assert!(!chosen.is_empty(), "Linyi has parks without a full union");
    let total: u64 = chosen
        .iter()
        .map(|p| u64::from(p.counts.workers.unwrap_or(0)))
        .sum();
    assert_eq!(v["demand_points"].as_u64(), Some(chosen.len() as u64));
    assert_eq!(v["demand_total"].as_u64(), Some(total));
    let ids: Vec<&str> = chosen.iter().map(|p| &*p.id).collect();
    for s in v["sites"]["features"].as_array().unwrap() {
        let id = s["properties"]["park_id"].as_str().unwrap();
        assert!(ids.contains(&id), "site {id} is a chosen park");
    }
    // The whole country is more demand than one city.
    let (_, _, all) = post_json(
        common::app(),
        "/api/v1/siting",
        r#"{"layer": "driver_home", "p": 3, "weight": "workers"}"#,
    )
    .await;
    assert!(all["demand_total"].as_u64() > Some(total));
    // A comma list works as well; a district narrows further.
    let body = json!({"layer": "driver_home", "p": 1, "city": "临沂市", "district": "没有这个区", "union_status": "none,partial"});
    let (status, _, v) = post_json(common::app(), "/api/v1/siting", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["demand_points"], 0);
    for (body, field) in [
        (r#"{"layer": "driver_home", "city": 7}"#, "city"),
        (r#"{"layer": "driver_home", "district": ""}"#, "district"),
        (
            r#"{"layer": "driver_home", "union_status": ["nobody"]}"#,
            "union_status",
        ),
        (
            r#"{"layer": "driver_home", "union_status": 3}"#,
            "union_status",
        ),
        (
            r#"{"layer": "driver_home", "min_workers": -1}"#,
            "min_workers",
        ),
    ] {
        let (status, response, v) = post_json(common::app(), "/api/v1/siting", body).await;
        assert_problem(body, status, &response, &v, 400, field);
    }
}

/// Grid cells are closed hexagons holding every park and facility of the bbox once,
/// with distances from the centre equal to brute force.
#[tokio::test]
async fn grid_cells() {
    let (status, v) =
        get_json("/api/v1/coverage/grid?res=5&bbox=115,39,118,41&layer=driver_home").await;
    assert_eq!(status, StatusCode::OK);
    let cells = v["features"].as_array().unwrap();
    assert!(!cells.is_empty());
    let (_, parks) = get_json("/api/v1/layers/park?bbox=115,39,118,41").await;
    let (_, cs) = get_json("/api/v1/layers/courier_station?bbox=115,39,118,41").await;
    let sum = |k: &str| {
        cells
            .iter()
            .map(|c| c["properties"][k].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        sum("parks") as usize,
        parks["features"].as_array().unwrap().len()
    );
    assert_eq!(
        sum("facilities_courier_station") as usize,
        cs["features"].as_array().unwrap().len()
    );
    let atlas = atlas();
    for c in cells {
        let ring = c["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(c["geometry"]["type"], "Polygon");
        assert!(ring.len() >= 7 && ring.first() == ring.last());
        let p = &c["properties"];
        assert_eq!(p["res"], 5);
        assert_eq!(p["h3"], c["id"]);
        assert!(
            p["parks"].as_u64().unwrap() > 0
                || ["driver_home", "courier_station", "fitness_station"]
                    .iter()
                    .any(|l| p[format!("facilities_{l}")].as_u64().unwrap() > 0)
        );
        if let Some(s) = p["unionised_share"].as_f64() {
            assert!((0.0..=1.0).contains(&s));
        }
        // The ring's mean vertex is near the cell's centre: measure from there.
        let n = (ring.len() - 1) as f64;
        let centre = ll(
            ring[..ring.len() - 1]
                .iter()
                .map(|v| v[0].as_f64().unwrap())
                .sum::<f64>()
                / n,
            ring[..ring.len() - 1]
                .iter()
                .map(|v| v[1].as_f64().unwrap())
                .sum::<f64>()
                / n,
        );
        let brute = atlas
            .data()
            .facilities
            .iter()
            .filter(|f| f.layer == Layer::DriverHome)
            .map(|f| sphere::haversine_m(centre, f.position))
            .fold(f64::INFINITY, f64::min);
        let got = p["nearest_m"].as_f64().unwrap();
        assert!(
            (got - brute).abs() < 2_000.0,
            "{got} vs {brute} (vertex mean vs true centre)"
        );
    }
    // The national picture at fine resolutions: the answer holds only the cells with
    // something in them (a few thousand here), so it is not refused for the area.
    for res in [6, 7, 8] {
        let (status, v) = get_json(&format!("/api/v1/coverage/grid?res={res}")).await;
        assert_eq!(status, StatusCode::OK, "res={res} over everything: {v}");
        assert!(!v["features"].as_array().unwrap().is_empty());
    }
}

/// Catchments: a ring and a clipped Voronoi cell per facility of the bbox; every cell
/// vertex is within the radius and no other facility of the layer is nearer to it.
#[tokio::test]
async fn catchments_rings_and_cells() {
    let uri = "/api/v1/coverage/catchments?layer=courier_station&bbox=116.2,39.8,116.6,40.05&radius_m=2500";
    let (status, response, body) = get(uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "application/geo+json"
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    let features = v["features"].as_array().unwrap();
    let rings: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "ring")
        .collect();
    let cells: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "voronoi")
        .collect();
    let (_, inside) = get_json("/api/v1/layers/courier_station?bbox=116.2,39.8,116.6,40.05").await;
    let n = inside["features"].as_array().unwrap().len();
    assert!(n > 3);
    assert_eq!((rings.len(), cells.len()), (n, n));
    let atlas = atlas();
    let stations: Vec<(&str, LonLat)> = atlas
        .data()
        .facilities
        .iter()
        .filter(|f| f.layer == Layer::CourierStation)
        .map(|f| (f.id(), f.position))
        .collect();
    for (ring, cell) in rings.iter().zip(&cells) {
        let id = ring["properties"]["facility_id"].as_str().unwrap();
        assert_eq!(cell["properties"]["facility_id"], id);
        let at = stations.iter().find(|s| s.0 == id).unwrap().1;
        for v in ring["geometry"]["coordinates"][0].as_array().unwrap() {
            let d = sphere::haversine_m(at, position_of(&json!({"geometry": {"coordinates": v}})));
            assert!((d - 2500.0).abs() < 0.1, "{d}");
        }
        for v in cell["geometry"]["coordinates"][0].as_array().unwrap() {
            let p = position_of(&json!({"geometry": {"coordinates": v}}));
            let own = sphere::haversine_m(at, p);
            // Coordinates are rounded to 1e-6° (under 0.1 m), which moves a vertex on a
            // bisector a little towards one side or the other.
            assert!(own <= 2500.2);
            let nearest = stations
                .iter()
                .map(|s| sphere::haversine_m(s.1, p))
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest >= own - 0.25,
                "another station is nearer to a vertex of {id}: {nearest} < {own} at {p:?}"
            );
        }
    }
    let (_, only) = get_json(
        "/api/v1/coverage/catchments?layer=driver_home&bbox=116.2,39.8,116.6,40.05&kind=ring",
    )
    .await;
    assert!(
        only["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["kind"] == "ring" && f["properties"]["radius_m"] == 20000.0)
    );
}

/// Over the feature cap, catchments are refused with a way out.
#[tokio::test]
async fn catchments_cap() {
    let facilities: Vec<(Layer, LonLat)> = (0..5_001)
        .map(|i| {
            (
                Layer::CourierStation,
                ll(
                    116.0 + (i % 100) as f64 * 0.01,
                    39.0 + (i / 100) as f64 * 0.01,
                ),
            )
        })
        .collect();
    let app = app_with(&facilities, &[(ll(116.0, 39.0), 10)]);
    let req = Request::get("/api/v1/coverage/catchments")
        .body(Body::empty())
        .unwrap();
    let (status, response, body) = send(app.clone(), req).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_problem("5001 stations", status, &response, &v, 422, "");
    assert!(v["detail"].as_str().unwrap().contains("bbox"));
    let req = Request::get("/api/v1/coverage/catchments?bbox=116,39,116.2,39.2")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(app, req).await.0, StatusCode::OK);
}

/// Summary: groups add up to the total; shares are shares.
#[tokio::test]
async fn summary_adds_up() {
    for group_by in ["city", "district", "all"] {
        let (status, v) = get_json(&format!("/api/v1/coverage/summary?group_by={group_by}")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let groups = v["groups"].as_array().unwrap();
        let total = &v["total"];
        for k in [
            "parks",
            "workers",
            "union_members",
            "enterprises",
            "unionised_enterprises",
        ] {
            let sum: u64 = groups.iter().map(|g| g[k].as_u64().unwrap()).sum();
            assert_eq!(sum, total[k].as_u64().unwrap(), "{group_by} {k}");
        }
        assert_eq!(
            total["parks"].as_u64().unwrap() as usize,
            atlas().data().parks.len()
        );
        for g in groups.iter().chain([total]) {
            for l in ["driver_home", "courier_station", "fitness_station"] {
                for k in ["parks_within_share", "workers_within_share"] {
                    if let Some(s) = g[k][l].as_f64() {
                        assert!((0.0..=1.0).contains(&s), "{k} {l} {s}");
                    }
                }
            }
            for k in ["unionised_enterprise_share", "unionised_worker_share"] {
                assert!(g[k].is_null() || (0.0..=1.0).contains(&g[k].as_f64().unwrap()));
            }
        }
        if group_by == "district" {
            assert!(
                groups
                    .iter()
                    .all(|g| g["district"].is_string() || g["district"].is_null())
            );
        }
    }
    // Parks within a radius agree with the park coverage route.
    let (_, parks) = get_json("/api/v1/coverage/parks?limit=100000").await;
    let within = parks["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["properties"]["count_within"]["courier_station"]
                .as_u64()
                .unwrap()
                > 0
        })
        .count();
    let (_, all) = get_json("/api/v1/coverage/summary?group_by=all").await;
    assert_eq!(
        all["total"]["parks_within"]["courier_station"]
            .as_u64()
            .unwrap() as usize,
        within
    );
    let (status, response, body) = get("/api/v1/coverage/summary?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..3], b"\xEF\xBB\xBF");
    assert!(header_of(&response, header::CONTENT_DISPOSITION).contains("coverage-summary.csv"));
    let rows = csv::Reader::from_reader(&body[3..]).records().count();
    let (_, cities) = get_json("/api/v1/coverage/summary?group_by=city").await;
    assert_eq!(
        rows,
        cities["groups"].as_array().unwrap().len() + 1,
        "groups and the total"
    );
}

/// Siting answers in demand units; recomputing the coverage of the proposed sites and the
/// existing facilities by brute force gives `covered_after`; gains never grow.
#[tokio::test]
async fn siting_covers_what_it_says() {
    let body = r#"{"layer": "courier_station", "p": 8, "radius_m": 3000, "candidates": "parks", "weight": "workers"}"#;
    let (status, _, v) = post_json(common::app(), "/api/v1/siting", body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let atlas = atlas();
    let data = atlas.data();
    let sites = v["sites"]["features"].as_array().unwrap();
    assert_eq!(sites.len(), 8);
    let stations: Vec<LonLat> = data
        .facilities
        .iter()
        .filter(|f| f.layer == Layer::CourierStation)
        .map(|f| f.position)
        .collect();
    let site_points: Vec<LonLat> = sites.iter().map(position_of).collect();
    let reach =
        |p: LonLat, pts: &[LonLat]| pts.iter().any(|s| sphere::haversine_m(*s, p) <= 3000.0);
    let weight = |p: &Park| u64::from(p.counts.workers.unwrap_or(0));
    let total: u64 = data.parks.iter().map(weight).sum();
    let before: u64 = data
        .parks
        .iter()
        .filter(|p| reach(p.position, &stations))
        .map(weight)
        .sum();
    let after: u64 = data
        .parks
        .iter()
        .filter(|p| reach(p.position, &stations) || reach(p.position, &site_points))
        .map(weight)
        .sum();
    assert_eq!(v["demand_total"].as_u64(), Some(total));
    assert_eq!(v["covered_before"].as_u64(), Some(before));
    assert_eq!(v["covered_after"].as_u64(), Some(after));
    let gains: Vec<u64> = sites
        .iter()
        .map(|s| s["properties"]["gain"].as_u64().unwrap())
        .collect();
    assert!(gains.windows(2).all(|w| w[0] >= w[1]), "{gains:?}");
    assert_eq!(
        sites.last().unwrap()["properties"]["covered_total"].as_u64(),
        Some(after)
    );
    assert_eq!(sites[0]["properties"]["rank"], 1);
    assert_eq!(sites[0]["properties"]["source"], "park");
    assert!(sites[0]["properties"]["park_id"].is_string());

    // H3 candidates and candidates given as points.
    let (status, _, v) = post_json(common::app(), "/api/v1/siting", r#"{"layer": "fitness_station", "p": 3, "candidates": {"h3": 7}, "weight": "ununionised_workers"}"#).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["radius_m"], 5000.0);
    assert!(v["sites"]["features"][0]["properties"]["h3"].is_string());
    let fc = json!({"layer": "driver_home", "p": 2, "weight": "parks", "bbox": [115, 39, 118, 41], "candidates": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [116.4, 39.9]}, "properties": {}},
        {"type": "Feature", "id": "b", "geometry": {"type": "Point", "coordinates": [0.0, 0.0]}, "properties": {}}
    ]}});
    let (status, _, v) = post_json(common::app(), "/api/v1/siting", &fc.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let picked = v["sites"]["features"].as_array().unwrap();
    assert!(
        picked.len() <= 1,
        "a point in the sea covers nothing and is not proposed"
    );
    if let Some(s) = picked.first() {
        assert_eq!(s["properties"]["candidate_id"], "a");
    }
}

/// Every bad parameter of the GET routes is a 4xx problem+json naming it.
#[tokio::test]
async fn bad_queries_name_the_parameter() {
    let cases: &[(&str, u16, &str)] = &[
        (
            "/api/v1/coverage/parks?radius_driver_home=0",
            400,
            "radius_driver_home",
        ),
        (
            "/api/v1/coverage/parks?radius_courier_station=-5",
            400,
            "radius_courier_station",
        ),
        (
            "/api/v1/coverage/parks?radius_fitness_station=1e9",
            400,
            "radius_fitness_station",
        ),
        (
            "/api/v1/coverage/parks?radius_fitness_station=NaN",
            400,
            "radius_fitness_station",
        ),
        ("/api/v1/coverage/parks?radius_park=100", 400, "radius_park"),
        (
            "/api/v1/coverage/parks?union_status=unknown",
            400,
            "union_status",
        ),
        ("/api/v1/coverage/parks?min_workers=-1", 400, "min_workers"),
        (
            "/api/v1/coverage/parks?min_workers=many",
            400,
            "min_workers",
        ),
        ("/api/v1/coverage/parks?bbox=1,2,3", 400, "bbox"),
        ("/api/v1/coverage/parks?bbox=100,50,120,40", 400, "bbox"),
        ("/api/v1/coverage/parks?sort=size", 400, "sort"),
        ("/api/v1/coverage/parks?sort=nearest_park", 400, "sort"),
        ("/api/v1/coverage/parks?order=up", 400, "order"),
        ("/api/v1/coverage/parks?format=pdf", 400, "format"),
        ("/api/v1/coverage/parks?limit=0", 400, "limit"),
        ("/api/v1/coverage/parks?limit=100001", 400, "limit"),
        ("/api/v1/coverage/parks?offset=-1", 400, "offset"),
        ("/api/v1/coverage/parks?citty=北京市", 400, "citty"),
        ("/api/v1/coverage/grid?res=3", 400, "res"),
        ("/api/v1/coverage/grid?res=9", 400, "res"),
        ("/api/v1/coverage/grid?res=seven", 400, "res"),
        ("/api/v1/coverage/grid?layer=park", 400, "layer"),
        ("/api/v1/coverage/grid?layer=parks", 400, "layer"),
        ("/api/v1/coverage/grid?bbox=a,b,c,d", 400, "bbox"),
        ("/api/v1/coverage/catchments?layer=park", 400, "layer"),
        ("/api/v1/coverage/catchments?radius_m=0", 400, "radius_m"),
        (
            "/api/v1/coverage/catchments?radius_m=600000",
            400,
            "radius_m",
        ),
        ("/api/v1/coverage/catchments?kind=square", 400, "kind"),
        ("/api/v1/coverage/catchments?bbox=0,95,1,96", 400, "bbox"),
        (
            "/api/v1/coverage/summary?group_by=province",
            400,
            "group_by",
        ),
        ("/api/v1/coverage/summary?format=xlsx", 400, "format"),
        (
            "/api/v1/coverage/summary?radius_driver_home=abc",
            400,
            "radius_driver_home",
        ),
        ("/api/v1/coverage/nope", 404, ""),
    ];
    for (uri, code, param) in cases {
        let (status, response, body) = get(uri).await;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_problem(uri, status, &response, &v, *code, param);
    }
    let req = Request::post("/api/v1/coverage/parks")
        .body(Body::empty())
        .unwrap();
    let (status, response, body) = send(common::app(), req).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_problem("POST parks", status, &response, &v, 405, "");
    let (status, response, body) = get("/api/v1/siting").await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_problem("GET siting", status, &response, &v, 405, "");
}

/// Every bad siting body is a 4xx problem+json naming the field.
#[tokio::test]
async fn bad_siting_bodies_name_the_field() {
    let cases: &[(&str, u16, &str)] = &[
        (r#"{"layer": "courier_statio", "p": 3}"#, 400, "layer"),
        (r#"{"layer": "park", "p": 3}"#, 400, "layer"),
        (r#"{"p": 3}"#, 400, "layer"),
        (r#"{"layer": 7}"#, 400, "layer"),
        (r#"{"layer": "driver_home", "p": 0}"#, 400, "p"),
        (r#"{"layer": "driver_home", "p": -2}"#, 400, "p"),
        (r#"{"layer": "driver_home", "p": 2.5}"#, 400, "p"),
        (r#"{"layer": "driver_home", "p": 501}"#, 400, "p"),
        (r#"{"layer": "driver_home", "p": "ten"}"#, 400, "p"),
        (
            r#"{"layer": "driver_home", "radius_m": 0}"#,
            400,
            "radius_m",
        ),
        (
            r#"{"layer": "driver_home", "radius_m": -100}"#,
            400,
            "radius_m",
        ),
        (
            r#"{"layer": "driver_home", "radius_m": 1e12}"#,
            400,
            "radius_m",
        ),
        (
            r#"{"layer": "driver_home", "radius_m": "far"}"#,
            400,
            "radius_m",
        ),
        (
            r#"{"layer": "driver_home", "weight": "people"}"#,
            400,
            "weight",
        ),
        (r#"{"layer": "driver_home", "weight": 1}"#, 400, "weight"),
        (
            r#"{"layer": "driver_home", "candidates": "cities"}"#,
            400,
            "candidates",
        ),
        (
            r#"{"layer": "driver_home", "candidates": {"h3": 12}}"#,
            400,
            "candidates.h3",
        ),
        (
            r#"{"layer": "driver_home", "candidates": {"h3": "7"}}"#,
            400,
            "candidates.h3",
        ),
        (
            r#"{"layer": "driver_home", "candidates": {"type": "FeatureCollection"}}"#,
            400,
            "candidates.features",
        ),
        (
            r#"{"layer": "driver_home", "candidates": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0,0],[1,1]]}}]}}"#,
            400,
            "candidates.features[0].geometry",
        ),
        (
            r#"{"layer": "driver_home", "candidates": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [39.9, 116.4]}}]}}"#,
            400,
            "candidates.features[0].geometry",
        ),
        (
            r#"{"layer": "driver_home", "bbox": [1, 2, 3]}"#,
            400,
            "bbox",
        ),
        (r#"{"layer": "driver_home", "sites": 3}"#, 400, "sites"),
        (r#"[1, 2, 3]"#, 400, "body"),
        (r#"{"layer": "driver_home", "p": 3"#, 400, "body"),
        (r#"not json"#, 400, "body"),
        ("", 400, "body"),
    ];
    for (body, code, field) in cases {
        let (status, response, v) = post_json(common::app(), "/api/v1/siting", body).await;
        assert_problem(body, status, &response, &v, *code, field);
    }
    // No JSON content type.
    let req = Request::post("/api/v1/siting")
        .body(Body::from(r#"{"layer": "driver_home"}"#))
        .unwrap();
    let (status, response, bytes) = send(common::app(), req).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_problem("no content type", status, &response, &v, 400, "body");
}

/// Too expensive a siting problem is refused with a way out: many parks all within a
/// huge radius of each other.
#[tokio::test]
async fn siting_too_expensive() {
    let parks: Vec<(LonLat, u32)> = (0..8_000)
        .map(|i| {
            (
                ll(
                    116.0 + (i % 90) as f64 * 0.001,
                    39.9 + (i / 90) as f64 * 0.001,
                ),
                10,
            )
        })
        .collect();
    let app = app_with(&[], &parks);
    let (status, response, v) = post_json(
        app.clone(),
        "/api/v1/siting",
        r#"{"layer": "courier_station", "p": 5, "radius_m": 400000}"#,
    )
    .await;
    assert_problem("64M pairs", status, &response, &v, 422, "");
    assert!(v["detail"].as_str().unwrap().contains("radius"), "{v}");
    // A modest radius is fine, and with no facility at all nothing is covered before.
    let (status, _, v) = post_json(
        app,
        "/api/v1/siting",
        r#"{"layer": "courier_station", "p": 5, "radius_m": 100}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["covered_before"], 0);
    assert_eq!(v["demand_total"], 80_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// No query string, however malformed, reaches a 5xx on the coverage routes.
    #[test]
    fn no_query_reaches_a_5xx(
        path in prop_oneof![Just("/api/v1/coverage/parks"), Just("/api/v1/coverage/grid"), Just("/api/v1/coverage/catchments"), Just("/api/v1/coverage/summary")],
        params in prop::collection::vec((
            prop_oneof![
                prop::sample::select(vec!["res", "bbox", "layer", "radius_m", "kind", "radius_driver_home", "union_status", "min_workers", "sort", "order", "format", "limit", "offset", "city", "group_by"]).prop_map(str::to_owned),
                "[a-z_]{1,8}",
            ],
            prop_oneof![Just("116.4".to_owned()), Just("NaN".to_owned()), Just("-1e308".to_owned()), Just("1e400".to_owned()), Just("116,39,117,40".to_owned()), Just("4".to_owned()), Just("csv".to_owned()), "\\PC{0,12}", "-?[0-9]{1,6}(\\.[0-9]{1,3})?"],
        ), 0..5),
    ) {
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))).finish();
        let uri = format!("{path}?{query}");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let status = rt.block_on(async { get(&uri).await.0 });
        prop_assert!(status.as_u16() < 500, "{uri} gave {status}");
    }

    /// No siting body, however malformed, reaches a 5xx.
    #[test]
    fn no_siting_body_reaches_a_5xx(
        layer in prop_oneof![Just(json!("courier_station")), Just(json!("park")), Just(json!(3)), Just(Value::Null)],
        p in prop_oneof![Just(json!(3)), Just(json!(0)), Just(json!(-1)), Just(json!(1e30)), Just(json!("x"))],
        radius in prop_oneof![Just(json!(3000)), Just(json!(0)), Just(json!(1e300)), Just(json!([1]))],
        candidates in prop_oneof![Just(json!("parks")), Just(json!({"h3": 5})), Just(json!({"h3": -1})), Just(json!({})), Just(json!({"type": "FeatureCollection", "features": [{"geometry": null}]}))],
    ) {
        let body = json!({"layer": layer, "p": p, "radius_m": radius, "candidates": candidates}).to_string();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let status = rt.block_on(async { post_json(common::app(), "/api/v1/siting", &body).await.0 });
        prop_assert!(status.as_u16() < 500, "{body} gave {status}");
    }
}
