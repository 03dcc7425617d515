//! The registry through the router: edits need a token, are validated by the
//! loader's rules, audited, honour If-Match, and show up in nearest at once;
//! a server without a database refuses writes with a hint.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use waystation::registry;

fn req(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

async fn call(app: &Router, r: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let (status, response, body) = common::send(app.clone(), r).await;
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()))
    };
    (status, response.headers().clone(), value)
}

fn station(name: &str, lon: f64, lat: f64, city: &str) -> Value {
    json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"layer": "courier_station", "name": name, "city": city,
            "amenities": ["hot_water", "charging"], "opening_hours": "24/7",
            "source": "test edit", "position_accuracy": "surveyed", "synthetic": false}})
}

/// Polls nearest at (lon, lat) until `id` is (or is no longer) the first hit; the time it took.
async fn until_nearest(app: &Router, lon: f64, lat: f64, id: &str, present: bool) -> Duration {
    let started = Instant::now();
    loop {
        let (_, _, v) = call(
            app,
            req(
                "GET",
                &format!("/api/v1/nearest?lon={lon}&lat={lat}&k=1"),
                None,
                None,
            ),
        )
        .await;
        let first = v["features"][0]["properties"]["id"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if (first == id) == present {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not visible after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Create → visible in nearest within 1 s; patch with If-Match; stale If-Match → 412;
/// delete → gone; history has every step with who; revert brings it back.
#[tokio::test]
async fn edit_cycle_is_audited_and_live() {
    let f = common::registered();
    // A spot in the Gobi where no station is near.
    let (lon, lat) = (97.5, 41.2);
    let (status, headers, body) = call(
        &f.app,
        req(
            "POST",
            "/api/v1/features",
            Some(&f.admin),
            Some(station("测试驿站", lon, lat, "酒泉市")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cs-"));
    assert_eq!(
        headers[header::LOCATION],
        format!("/api/v1/features/{id}").as_str()
    );
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(body["properties"]["source"], "test edit");
    assert_eq!(body["properties"]["updated"], registry::today().to_string());
    let waited = until_nearest(&f.app, lon, lat, &id, true).await;
    assert!(waited < Duration::from_secs(1), "visible after {waited:?}");

    // GET gives the same ETag the write did.
    let (_, headers, _) = call(
        &f.app,
        req("GET", &format!("/api/v1/features/{id}"), None, None),
    )
    .await;
    assert_eq!(headers[header::ETAG], etag.as_str());
    // A strong tag names these bytes: the answer is not gzipped under it.
    let gzip = Request::get(format!("/api/v1/features/{id}"))
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .unwrap();
    let (_, headers, body) = call(&f.app, gzip).await;
    assert!(!etag.starts_with("W/"), "{etag}");
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert!(
        headers.get(header::CONTENT_ENCODING).is_none(),
        "{headers:?}"
    );
    assert_eq!(body["id"], id.as_str());
    // The web files still go out gzipped (they carry strong tags of their own).
    let gzip = Request::get("/app.js")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = call(&f.app, gzip).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");

    let patch = |tag: &str, body: Value| {
        Request::patch(format!("/api/v1/features/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
            .header(header::CONTENT_TYPE, "application/merge-patch+json")
            .header(header::IF_MATCH, tag)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (status, headers, body) = call(
        &f.app,
        patch(
            &etag,
            json!({"properties": {"opening_hours": "Mo-Fr 08:00-20:00", "phone": null}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["properties"]["opening_hours"], "Mo-Fr 08:00-20:00");
    assert_eq!(
        body["properties"]["name"], "测试驿站",
        "a patch keeps what it does not name"
    );
    let new_tag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert_ne!(new_tag, etag);
    let (status, _, body) = call(&f.app, patch(&etag, json!({"properties": {"name": "x"}}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");

    let (status, _, _) = call(
        &f.app,
        req(
            "DELETE",
            &format!("/api/v1/features/{id}"),
            Some(&f.admin),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    until_nearest(&f.app, lon, lat, &id, false).await;
    let (status, _, _) = call(
        &f.app,
        req("GET", &format!("/api/v1/features/{id}"), None, None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _, _) = call(
        &f.app,
        req("GET", &format!("/api/v1/features/{id}/history"), None, None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = call(
        &f.app,
        req(
            "GET",
            &format!("/api/v1/features/{id}/history"),
            Some(&f.admin),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ops: Vec<_> = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["op"].as_str().unwrap(), e["who"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("create", "admin"),
            ("update", "admin"),
            ("delete", "admin")
        ]
    );
    let n = body["history"][1]["n"].as_i64().unwrap();
    let (status, _, body) = call(
        &f.app,
        req(
            "POST",
            &format!("/api/v1/features/{id}/history/{n}/revert"),
            Some(&f.admin),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["properties"]["opening_hours"], "Mo-Fr 08:00-20:00");
    until_nearest(&f.app, lon, lat, &id, true).await;
}

/// A bad feature is refused with each field at fault, by the loader's own rules.
#[tokio::test]
async fn invalid_features_name_each_field() {
    let f = common::registered();
    let mut bad = station("", 200.0, 35.0, "临沂市");
    bad["properties"]["amenities"] = json!(["jacuzzi"]);
    bad["properties"]["opening_hours"] = json!("sometimes");
    let (status, headers, body) = call(
        &f.app,
        req("POST", "/api/v1/features", Some(&f.admin), Some(bad)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let mut fields: Vec<_> = body["invalid-params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "geometry",
            "properties.amenities",
            "properties.name",
            "properties.opening_hours"
        ]
    );
    let (status, _, body) = call(
        &f.app,
        Request::post("/api/v1/features")
            .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
            .body(Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Taking an existing id is a conflict.
    let mut dup = station("重复", 118.3, 35.1, "临沂市");
    dup["properties"]["id"] = json!("dh-linyi-caiyuan");
    let (status, _, _) = call(
        &f.app,
        req("POST", "/api/v1/features", Some(&f.admin), Some(dup)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Past the body limit: 413, as problem+json.
    let big = "x".repeat(waystation::http::ServeOptions::default().max_feature_bytes + 1);
    let (status, headers, _) = call(
        &f.app,
        Request::post("/api/v1/features")
            .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
}

/// No token → 401 with WWW-Authenticate; another city → 403; a foreign origin → 403;
/// repeated failures from one address → 429 with Retry-After.
#[tokio::test]
async fn tokens_roles_cities_and_origins() {
    let f = common::registered();
    let (status, headers, body) = call(
        &f.app,
        req(
            "POST",
            "/api/v1/features",
            None,
            Some(station("a", 118.3, 35.1, "临沂市")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    let (status, _, body) = call(
        &f.app,
        req(
            "POST",
            "/api/v1/features",
            Some(&f.linyi),
            Some(station("济南的站", 117.0, 36.65, "济南市")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = call(
        &f.app,
        req(
            "POST",
            "/api/v1/features",
            Some(&f.linyi),
            Some(station("临沂的站", 118.35, 35.05, "临沂市")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, who) = call(&f.app, req("GET", "/api/v1/whoami", Some(&f.linyi), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        who,
        json!({"name": "linyi-editor", "role": "editor", "city": "临沂市"})
    );

    let foreign = Request::post("/api/v1/features")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::from(station("b", 118.3, 35.1, "临沂市").to_string()))
        .unwrap();
    assert_eq!(call(&f.app, foreign).await.0, StatusCode::FORBIDDEN);
    let own = Request::post("/api/v1/features")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::from(station("c", 118.3, 35.1, "临沂市").to_string()))
        .unwrap();
    assert_eq!(call(&f.app, own).await.0, StatusCode::CREATED);

    let addr: SocketAddr = "192.0.2.7:5555".parse().unwrap();
    let mut last = StatusCode::OK;
    let mut retry = None;
    for _ in 0..11 {
        let mut r = req("GET", "/api/v1/whoami", Some("ws_wrong"), None);
        r.extensions_mut().insert(ConnectInfo(addr));
        let (status, headers, _) = call(&f.app, r).await;
        last = status;
        retry = headers.get(header::RETRY_AFTER).cloned();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    // Even the right token waits now, from that address; others are not affected.
    let mut r = req("GET", "/api/v1/whoami", Some(&f.admin), None);
    r.extensions_mut().insert(ConnectInfo(addr));
    assert_eq!(call(&f.app, r).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        call(&f.app, req("GET", "/api/v1/whoami", Some(&f.admin), None))
            .await
            .0,
        StatusCode::OK
    );
    drop(f.state);
}

/// Without a database the server is read-only: writes get 405 saying how to edit.
#[tokio::test]
async fn read_only_server_explains_itself() {
    let (status, response, body) = common::send(
        common::app(),
        req(
            "POST",
            "/api/v1/features",
            Some("x"),
            Some(station("a", 118.3, 35.1, "临沂市")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["detail"].as_str().unwrap().contains("--db"), "{v}");
}

/// A sheet as unions keep it: Chinese headers, Amap (GCJ-02) coordinates, Chinese
/// hours and amenities, and bad rows.
fn ledger() -> (Vec<u8>, Vec<(f64, f64)>) {
    let truth = [(103.80, 36.10), (103.83, 36.06), (103.75, 36.09)];
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let headers = [
        "站点名称",
        "地址",
        "城市",
        "经度",
        "纬度",
        "开放时间",
        "服务项目",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (i, (lon, lat)) in truth.iter().enumerate() {
        let row = i as u32 + 1;
        let (glon, glat) = coordtransform::wgs84_to_gcj02(*lon, *lat);
        sheet
            .write_string(row, 0, format!("兰州测试驿站{i}"))
            .unwrap();
        sheet.write_string(row, 1, "兰州市城关区").unwrap();
        sheet.write_string(row, 2, "兰州市").unwrap();
        sheet.write_number(row, 3, glon).unwrap();
        sheet.write_number(row, 4, glat).unwrap();
        sheet.write_string(row, 5, "周一至周五 9:00-18:00").unwrap();
        sheet
            .write_string(row, 6, "热水、微波炉、充电、卫生间")
            .unwrap();
    }
    // Row 5: latitude out of range; row 6: no name.
    sheet.write_string(5, 0, "坏站").unwrap();
    sheet.write_number(5, 3, 103.8).unwrap();
    sheet.write_number(5, 4, 200.0).unwrap();
    sheet.write_number(6, 3, 103.8).unwrap();
    sheet.write_number(6, 4, 36.1).unwrap();
    (book.save_to_buffer().unwrap(), truth.to_vec())
}

fn import_request(token: &str, query: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(format!("/api/v1/imports?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(Body::from(body))
        .unwrap()
}

/// An xlsx with GCJ-02 coordinates imports with a correct row report, the points
/// within 0.5 m of the truth; a dry run writes nothing; a second import changes nothing;
/// the report sheet carries the status of each row.
#[tokio::test]
async fn xlsx_import_with_amap_coordinates() {
    let f = common::registered();
    let (bytes, truth) = ledger();
    let q = "layer=courier_station&crs=gcj02&source=兰州台账";
    let (status, _, dry) = call(
        &f.app,
        import_request(&f.admin, &format!("{q}&dry_run=true"), bytes.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{dry}");
    assert_eq!(dry["import"]["accepted"], 3, "{dry}");
    assert_eq!(dry["import"]["rejected"], 2, "{dry}");
    let (_, _, near) = call(
        &f.app,
        req(
            "GET",
            "/api/v1/nearest?lon=103.80&lat=36.10&k=1&max_distance_m=10",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(
        near["features"].as_array().unwrap().len(),
        0,
        "a dry run wrote something"
    );

    let (status, headers, first) = call(&f.app, import_request(&f.admin, q, bytes.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    let rows = first["rows"].as_array().unwrap();
    let status_of = |row: i64| {
        rows.iter()
            .find(|r| r["row"] == row)
            .map(|r| {
                (
                    r["status"].as_str().unwrap().to_owned(),
                    r["reason"].as_str().unwrap().to_owned(),
                )
            })
            .unwrap()
    };
    for row in 2..=4 {
        assert_eq!(status_of(row).0, "accepted", "row {row}: {first}");
    }
    let (s5, why5) = status_of(6);
    assert_eq!(s5, "rejected");
    assert!(why5.contains("lat") || why5.contains("纬度"), "{why5}");
    let (s6, why6) = status_of(7);
    assert_eq!(s6, "rejected");
    assert!(why6.contains("name") || why6.contains("名称"), "{why6}");

    let started = Instant::now();
    for (i, (lon, lat)) in truth.iter().enumerate() {
        let v = loop {
            let (_, _, v) = call(
                &f.app,
                req(
                    "GET",
                    &format!("/api/v1/nearest?lon={lon}&lat={lat}&k=1"),
                    None,
                    None,
                ),
            )
            .await;
            if v["features"][0]["properties"]["name"] == format!("兰州测试驿站{i}") {
                break v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "import not visible after 1 s: {v}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let hit = &v["features"][0];
        assert_eq!(hit["properties"]["name"], format!("兰州测试驿站{i}"), "{v}");
        let c = &hit["geometry"]["coordinates"];
        let d = waystation::index::sphere::haversine_m(
            waystation::model::LonLat::new(*lon, *lat).unwrap(),
            waystation::model::LonLat::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap()).unwrap(),
        );
        assert!(d <= 0.5, "row {i}: {d} m from the truth");
        assert_eq!(hit["properties"]["opening_hours"], "Mo-Fr 09:00-18:00");
        let amenities: Vec<_> = hit["properties"]["amenities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for a in ["hot_water", "microwave", "charging", "toilet"] {
            assert!(amenities.contains(&a), "{amenities:?}");
        }
        assert_eq!(hit["properties"]["source"], "兰州台账");
    }

    let (_, _, second) = call(&f.app, import_request(&f.admin, q, bytes)).await;
    assert_eq!(second["import"]["unchanged"], 3, "{second}");
    assert_eq!(second["import"]["accepted"], 0);
    assert_eq!(second["import"]["updated"], 0);

    let (status, _, record) = call(&f.app, req("GET", &location, Some(&f.admin), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["import"]["state"], "done");
    assert_eq!(record["import"]["accepted"], 3);
    assert_eq!(record["import"]["rejected"], 2);
    assert_eq!(record["import"]["done"], 5);
    assert_eq!(record["rows"].as_array().unwrap().len(), 5);
    let (status, response, body) = common::send(
        f.app.clone(),
        req(
            "GET",
            &format!("{location}/report.xlsx"),
            Some(&f.admin),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(body)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let text: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let header = &text[0];
    let status_col = header
        .iter()
        .position(|h| h.contains("状态") || h.contains("status"))
        .unwrap();
    assert_eq!(text[1][status_col], "accepted");
    assert_eq!(text[5][status_col], "rejected");
}

/// A feature from the seed shows its first state as history entry 0 and can be
/// reverted to it; a feature sent back as GET gave it (with open_now and links) is
/// accepted.
#[tokio::test]
async fn seeded_features_revert_to_the_seed() {
    let f = common::registered();
    let id = "dh-linyi-caiyuan";
    let (_, headers, original) = call(
        &f.app,
        req("GET", &format!("/api/v1/features/{id}"), None, None),
    )
    .await;
    let tag = headers[header::ETAG].to_str().unwrap().to_owned();
    let mut edited = original.clone();
    edited["properties"]["phone"] = json!("0539-0000000");
    let put = Request::put(format!("/api/v1/features/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
        .header(header::IF_MATCH, tag)
        .body(Body::from(edited.to_string()))
        .unwrap();
    let (status, _, body) = call(&f.app, put).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["properties"]["phone"], "0539-0000000");
    assert!(body["properties"].get("links").is_none());
    let (_, _, h) = call(
        &f.app,
        req(
            "GET",
            &format!("/api/v1/features/{id}/history"),
            Some(&f.admin),
            None,
        ),
    )
    .await;
    let ops: Vec<_> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["n"].as_i64().unwrap(),
                e["op"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(ops[0], (0, "seed".to_owned()));
    assert_eq!(ops[1].1, "update");
    let (status, _, back) = call(
        &f.app,
        req(
            "POST",
            &format!("/api/v1/features/{id}/history/0/revert"),
            Some(&f.admin),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["properties"]["phone"], original["properties"]["phone"]);
    assert_eq!(back["properties"]["name"], original["properties"]["name"]);
}

/// Another process writing to the database (the CLI's import) is noticed: its
/// features are served within about a second and a half, and the server's own edits
/// keep working.
#[tokio::test]
async fn writes_of_another_process_are_served() {
    let f = common::registered();
    let (lon, lat) = (88.0, 43.5);
    let id = "cs-other-process";
    let body = station("另一进程写入的站", lon, lat, "乌鲁木齐市");
    let mut feature = body.clone();
    feature["id"] = json!(id);
    feature["properties"]["id"] = json!(id);
    let mut other = waystation::store::Store::open(&f.db).unwrap();
    other
        .apply(
            "cli",
            None,
            &[waystation::store::Write::Put {
                id: id.into(),
                layer: waystation::model::Layer::CourierStation,
                body: feature.to_string(),
                expect: Some(0),
                op: waystation::store::Op::Import,
            }],
        )
        .unwrap();
    let waited = until_nearest(&f.app, lon, lat, id, true).await;
    assert!(waited < Duration::from_millis(2500), "{waited:?}");
    // Our own edits go on, and are seen too.
    let (status, _, created) = call(
        &f.app,
        req(
            "POST",
            "/api/v1/features",
            Some(&f.admin),
            Some(station("本进程的站", lon + 0.001, lat, "乌鲁木齐市")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let mine = created["id"].as_str().unwrap();
    until_nearest(&f.app, lon + 0.001, lat, mine, true).await;
    until_nearest(&f.app, lon, lat, id, true).await;
}

/// The same sheet uploaded as `multipart/form-data` (a browser form): the file's
/// own name tells its format.
#[tokio::test]
async fn multipart_upload_imports() {
    let f = common::registered();
    let (bytes, _) = ledger();
    let boundary = "----waystation-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"台账.xlsx\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::post("/api/v1/imports?layer=courier_station&crs=gcj02&dry_run=true")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, _, report) = call(&f.app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(report["import"]["accepted"], 3, "{report}");
    assert_eq!(report["import"]["rejected"], 2);
    // No file part: the field at fault is named.
    let empty = Request::post("/api/v1/imports?layer=courier_station&crs=gcj02&dry_run=true")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(format!("--{boundary}--\r\n")))
        .unwrap();
    let (status, _, problem) = call(&f.app, empty).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["invalid-params"][0]["name"], "file");
}
