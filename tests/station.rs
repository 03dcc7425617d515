//! Station pages through the router: the page of a bundled facility (name, hours,
//! Open Graph, the API's navigation links), HTML escaping of edited names, 404
//! pages, the QR code (decoded back to the page's URL), the A4 poster, and the
//! public's problem reports (form and JSON, the per-address limit, editors' list
//! and close, read-only servers).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

/// A reported courier station, open 24/7.
const STATION: &str = "cs-liaocheng-devzone-service-centre";
const STATION_NAME: &str = "聊城开发区政务服务中心户外劳动者服务站";
/// A generated one with weekday hours and a phone.
const DEMO: &str = "syn-cs-0000001";
/// A reported park.
const PARK: &str = "pk-yangquan-tuolingtou";
const HOST: &str = "waystation.example:8080";

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap()
}

async fn text(app: &Router, r: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let (status, response, body) = common::send(app.clone(), r).await;
    (
        status,
        response.headers().clone(),
        String::from_utf8(body).unwrap(),
    )
}

/// A report from `addr`: a form post when `form` is given, else JSON.
fn report(id: &str, addr: &str, form: Option<&str>, json: Option<Value>) -> Request<Body> {
    let b = Request::post(format!("/api/v1/features/{id}/reports")).header(header::HOST, HOST);
    let mut r = match (form, json) {
        (Some(f), _) => b
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, format!("http://{HOST}"))
            .body(Body::from(f.to_owned()))
            .unwrap(),
        (None, Some(v)) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        (None, None) => b.body(Body::empty()).unwrap(),
    };
    let addr: SocketAddr = addr.parse().unwrap();
    r.extensions_mut().insert(ConnectInfo(addr));
    r
}

fn with_token(method: &str, uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

async fn json_of(app: &Router, r: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, body) = text(app, r).await;
    let v = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, headers, v)
}

/// The same escaping the page must apply, written independently.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page of a bundled station holds its name, hours, open-now state, Open Graph
/// tags, the four navigation links of the API, its provenance and a way back to
/// the map centred on it; no report form on a read-only server.
#[tokio::test]
async fn station_page_shows_a_bundled_station() {
    let app = common::app();
    let (status, headers, page) = text(&app, get(&format!("/s/{STATION}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains(&format!("<h1 id=\"name\">{STATION_NAME}</h1>")));
    assert!(page.contains("全天 24 小时"), "hours");
    assert!(page.contains("营业中"), "24/7 is open now");
    assert!(page.contains(&format!(
        "<meta property=\"og:title\" content=\"{STATION_NAME}\">"
    )));
    assert!(page.contains(&format!(
        "<meta property=\"og:url\" content=\"http://{HOST}/s/{STATION}\">"
    )));
    assert!(page.contains("<meta property=\"og:type\" content=\"website\">"));
    assert!(page.contains(
        "<meta property=\"og:description\" content=\"工会驿站 · 全天 24 小时 · 聊城市\">"
    ));
    let (_, api) = common::get_json(&format!("/api/v1/features/{STATION}")).await;
    for app_name in ["amap", "baidu", "apple", "osm"] {
        let link = api["properties"]["links"][app_name].as_str().unwrap();
        assert!(
            page.contains(&format!("href=\"{}\"", esc(link))),
            "{app_name} link {link}"
        );
    }
    assert!(page.contains("微波炉") && page.contains("data-amenity=\"qr_entry\""));
    assert!(page.contains("union press, 2022-09"), "source");
    assert!(page.contains("2026-11-23"), "updated");
    assert!(page.contains(&format!(
        "href=\"/?center=116.045000,36.432000&amp;zoom=16&amp;feature={STATION}\""
    )));
    assert!(page.contains("href=\"/station.css\""));
    assert!(!page.contains("<form"), "read-only: no report form");
    assert!(!page.contains("演示数据 / demo data"), "not synthetic");
    // Nothing is loaded from another host.
    assert!(!page.contains("src=\"http") && !page.contains("<script"));

    // English, and parameters chat apps append are ignored.
    let (status, _, en) = text(
        &app,
        get(&format!(
            "/s/{STATION}?lang=en&from=singlemessage&isappinstalled=0"
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("open 24 hours") && en.contains("Opening hours"));
    assert!(en.contains("Microwave") && en.contains("Open now"));
    assert!(en.contains(&format!("zoom=16&amp;feature={STATION}&amp;lang=en")));
}

/// A generated station says so clearly, reads its hours in Chinese and links its
/// phone; a park has a page of its own (union status and counts).
#[tokio::test]
async fn demo_stations_and_parks() {
    let app = common::app();
    let (status, _, page) = text(&app, get(&format!("/s/{DEMO}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("演示数据 / demo data"));
    assert!(
        page.contains("周一-周五 08:00-20:00; 法定节假日 休息"),
        "hours in words"
    );
    assert!(page.contains("href=\"tel:075705588769\""));
    assert!(page.contains("北京时间"));

    let (status, _, park) = text(&app, get(&format!("/s/{PARK}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(park.contains("阳泉高新区驼岭头园区"));
    assert!(park.contains("部分建会") && park.contains("高新区"));
    assert!(park.contains("<dt>企业</dt><dd>300</dd>"));
    assert!(park.contains("<meta property=\"og:title\" content=\"阳泉高新区驼岭头园区\">"));
    let (status, headers, _) = text(&app, get(&format!("/s/{PARK}/poster"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no door poster for a park");
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
}

/// Unknown ids get an HTML 404 page with a link back to the map, not JSON.
#[tokio::test]
async fn unknown_station_is_an_html_404() {
    let (status, headers, page) = text(&common::app(), get("/s/no-such-station")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.contains("找不到这个站点"));
    assert!(page.contains("href=\"/\""));
    let (status, _, page) = text(&common::app(), get("/s/%3Cb%3E?lang=en")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("No such station") && !page.contains("<b>"));
}

/// The module rectangles of qrcode's SVG path (`M x y h w v h H x V y`), drawn
/// on a white bitmap and decoded with rqrr.
fn decode_svg(svg: &str) -> String {
    let attr = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..].split('"').next().unwrap().parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    let d_at = svg.find(" d=\"").unwrap() + 4;
    let d = svg[d_at..].split('"').next().unwrap();
    let mut dark = vec![false; w * h];
    // (command, number) pairs: `M x y` gives two.
    let mut rect = Vec::new();
    let (mut command, mut current) = (' ', String::new());
    for c in d.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            rect.push((command, current.parse::<usize>().unwrap()));
            current.clear();
        }
        if c.is_ascii_alphabetic() {
            command = c;
        }
    }
    // Each rectangle: M x y, h w, v h, H x, V y.
    assert_eq!(rect.len() % 6, 0);
    for r in rect.chunks(6) {
        let (x, y, rw, rh) = (r[0].1, r[1].1, r[2].1, r[3].1);
        assert_eq!((r[0].0, r[2].0, r[3].0), ('M', 'h', 'v'));
        for yy in y..y + rh {
            for xx in x..x + rw {
                dark[yy * w + xx] = true;
            }
        }
    }
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| if dark[y * w + x] { 0 } else { 255 },
        );
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

/// The QR code is an SVG image of the page's absolute URL (from Host and
/// X-Forwarded-Proto), cacheable; a bad Host is refused with problem+json.
#[tokio::test]
async fn qr_code_decodes_to_the_page_url() {
    let app = common::app();
    let r = Request::get(format!("/s/{STATION}/qr.svg"))
        .header(header::HOST, HOST)
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let (status, headers, svg) = text(&app, r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    assert_eq!(decode_svg(&svg), format!("https://{HOST}/s/{STATION}"));

    let (status, _, svg) = text(&app, get(&format!("/s/{PARK}/qr.svg"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decode_svg(&svg), format!("http://{HOST}/s/{PARK}"));

    for bad in ["evil.example/x", "a b", "<x>"] {
        let r = Request::get(format!("/s/{STATION}/qr.svg"))
            .header(header::HOST, bad)
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = text(&app, r).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert!(body.contains("Host"), "{body}");
    }
    let (status, _, _) = text(&app, get("/s/no-such-station/qr.svg")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The poster is an A4 page with the name, the hours, the amenities and the QR
/// code inline, and says what the code is for.
#[tokio::test]
async fn poster_is_a4_with_the_code() {
    let (status, headers, poster) = text(&common::app(), get(&format!("/s/{DEMO}/poster"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(poster.contains("@page { size: A4;"));
    assert!(poster.contains("佛山市振兴路环卫工人爱心驿站（1号）"));
    assert!(poster.contains("周一-周五 08:00-20:00"));
    assert!(
        poster.contains("扫码查看开放时间和导航")
            && poster.contains("Scan for hours and directions")
    );
    assert!(poster.contains("演示数据 / demo data"));
    let at = poster.find("<svg role=\"img\"").expect("inline QR code");
    let end = poster[at..].find("</svg>").unwrap() + at + "</svg>".len();
    assert_eq!(
        decode_svg(&poster[at..end]),
        format!("http://{HOST}/s/{DEMO}")
    );
    assert!(!poster.contains("<?xml"));
}

/// A name with markup, created through the registry, comes out escaped.
#[tokio::test]
async fn names_are_escaped() {
    let f = common::registered();
    let name = "<script>alert(1)</script>";
    let feature = json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [97.5, 41.2]},
        "properties": {"layer": "courier_station", "name": name, "city": "酒泉市",
            "address": "\"quoted\" & 'single'", "opening_hours": "24/7",
            "amenities": ["hot_water"]}});
    let r = Request::post("/api/v1/features")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(feature.to_string()))
        .unwrap();
    let (status, _, body) = json_of(&f.app, r).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let page = loop {
        let (status, _, page) = text(&f.app, get(&format!("/s/{id}"))).await;
        if status == StatusCode::OK {
            break page;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not published");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>"));
    assert!(page.contains(
        "<meta property=\"og:title\" content=\"&lt;script&gt;alert(1)&lt;/script&gt;\">"
    ));
    assert!(page.contains("&quot;quoted&quot; &amp; &#39;single&#39;"));
    // The navigation links carry the name URL-encoded, then HTML-escaped.
    assert!(!page.contains("href=\"https://uri.amap.com/navigation?to=97.5,41.2,<"));
}

/// Reports: the form posts and comes back to a thank-you; JSON gets 201; the 6th
/// from one address within the hour gets 429 (JSON and form); unknown features 404;
/// editors list them (a city editor only its city's), and close them.
#[tokio::test]
async fn reports_are_filed_limited_listed_and_closed() {
    let f = common::registered();
    let (_, _, page) = text(&f.app, get(&format!("/s/{STATION}"))).await;
    assert!(page.contains(&format!(
        "<form method=\"post\" action=\"/api/v1/features/{STATION}/reports\">"
    )));
    assert!(page.contains("name=\"kind\" value=\"wrong_hours\""));
    assert!(page.contains("maxlength=\"500\""));

    // 1. From the form: 303 back to the page, which thanks.
    let (status, headers, _) = text(
        &f.app,
        report(
            STATION,
            "192.0.2.1:1000",
            Some("kind=wrong_hours&note=%E6%99%9A%E4%B8%8A%E4%B8%8D%E5%BC%80"),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/s/{STATION}?reported=1"));
    let (_, _, thanks) = text(&f.app, get(&location)).await;
    assert!(thanks.contains("谢谢"), "thank-you shown");
    let (_, headers, _) = text(
        &f.app,
        report(STATION, "192.0.2.9:1000", Some("kind=other&lang=en"), None),
    )
    .await;
    assert_eq!(
        headers[header::LOCATION],
        format!("/s/{STATION}?reported=1&lang=en").as_str()
    );

    // 2. As JSON: 201 with the report; bad ones named.
    let (status, _, body) = json_of(
        &f.app,
        report(
            "dh-linyi-caiyuan",
            "192.0.2.2:1000",
            None,
            Some(json!({"kind": "closed", "note": "拆了"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["report"]["kind"], "closed");
    assert_eq!(body["report"]["note"], "拆了");
    assert!(body["report"].get("client").is_none());
    let (status, _, body) = json_of(
        &f.app,
        report(
            STATION,
            "192.0.2.2:1000",
            None,
            Some(json!({"kind": "gone", "note": "字".repeat(501)})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let names: Vec<_> = body["invalid-params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kind", "note"]);
    let (status, headers, page) = text(
        &f.app,
        report(STATION, "192.0.2.2:1000", Some("note=x"), None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.contains("请选择"));

    // 3. Unknown feature: 404 (JSON problem; an HTML page from the form).
    let (status, headers, _) = text(
        &f.app,
        report(
            "nope",
            "192.0.2.3:1000",
            None,
            Some(json!({"kind": "other"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let (status, headers, _) = text(
        &f.app,
        report("nope", "192.0.2.3:1000", Some("kind=other"), None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");

    // 4. Five per address per hour: the sixth gets 429 with Retry-After.
    for i in 0..5 {
        let (status, _, body) = json_of(
            &f.app,
            report(
                STATION,
                "198.51.100.7:1000",
                None,
                Some(json!({"kind": "other", "note": format!("#{i}")})),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{i}: {body}");
    }
    let (status, headers, body) = json_of(
        &f.app,
        report(
            STATION,
            "198.51.100.7:2000",
            None,
            Some(json!({"kind": "other"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    assert!(body["detail"].as_str().unwrap().contains("5 reports"));
    let (status, headers, page) = text(
        &f.app,
        report(STATION, "198.51.100.7:3000", Some("kind=closed"), None),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert!(page.contains("提交太频繁") && page.contains("60 分钟"));
    // Another address is not affected.
    let (status, _, _) = text(
        &f.app,
        report(
            STATION,
            "198.51.100.8:1000",
            None,
            Some(json!({"kind": "other"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // 5. Editors: a token is needed; the list is newest first with the feature.
    let (status, headers, _) = text(
        &f.app,
        Request::get("/api/v1/reports").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    let (status, _, list) = json_of(
        &f.app,
        with_token("GET", "/api/v1/reports?status=open", &f.admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let reports = list["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 9);
    assert_eq!(reports[0]["status"], "open");
    let first = reports.last().unwrap();
    assert_eq!(first["kind"], "wrong_hours");
    assert_eq!(first["note"], "晚上不开");
    assert_eq!(first["feature"]["name"], STATION_NAME);
    assert_eq!(first["feature"]["city"], "聊城市");
    let linyi_report = reports
        .iter()
        .find(|r| r["feature_id"] == "dh-linyi-caiyuan")
        .unwrap();
    let (_, _, mine) = json_of(&f.app, with_token("GET", "/api/v1/reports", &f.linyi)).await;
    assert_eq!(mine["reports"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["reports"][0]["feature_id"], "dh-linyi-caiyuan");
    let (status, _, _) = json_of(
        &f.app,
        with_token("GET", "/api/v1/reports?status=maybe", &f.admin),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // 6. Closing: a city editor only its city's; then it is no longer open.
    let n = first["id"].as_i64().unwrap();
    let (status, _, _) = json_of(
        &f.app,
        with_token("POST", &format!("/api/v1/reports/{n}/close"), &f.linyi),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, closed) = json_of(
        &f.app,
        with_token("POST", &format!("/api/v1/reports/{n}/close"), &f.admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["report"]["status"], "closed");
    assert_eq!(closed["report"]["closed_by"], "admin");
    let ln = linyi_report["id"].as_i64().unwrap();
    let (status, _, _) = json_of(
        &f.app,
        with_token("POST", &format!("/api/v1/reports/{ln}/close"), &f.linyi),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, open) = json_of(&f.app, with_token("GET", "/api/v1/reports", &f.admin)).await;
    assert_eq!(open["reports"].as_array().unwrap().len(), 7);
    let (_, _, done) = json_of(
        &f.app,
        with_token("GET", "/api/v1/reports?status=closed", &f.admin),
    )
    .await;
    assert_eq!(done["reports"].as_array().unwrap().len(), 2);
    for missing in ["999", "x"] {
        let (status, _, _) = json_of(
            &f.app,
            with_token(
                "POST",
                &format!("/api/v1/reports/{missing}/close"),
                &f.admin,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
}

/// Reports from another site's page are refused, like other writes.
#[tokio::test]
async fn reports_from_other_origins_are_refused() {
    let f = common::registered();
    let mut r = report(STATION, "192.0.2.1:1", Some("kind=closed"), None);
    r.headers_mut()
        .insert(header::ORIGIN, "http://elsewhere.example".parse().unwrap());
    let (status, _, _) = text(&f.app, r).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Without a database: no form on the page, and reports get 405 like other writes.
#[tokio::test]
async fn read_only_server_takes_no_reports() {
    let app = common::app();
    let (status, headers, body) = json_of(
        &app,
        report(
            STATION,
            "192.0.2.1:1",
            None,
            Some(json!({"kind": "closed"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(body["detail"].as_str().unwrap().contains("--db"));
    let (status, _, _) = text(
        &app,
        report(STATION, "192.0.2.1:1", Some("kind=closed"), None),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, _) = json_of(&app, with_token("GET", "/api/v1/reports", "x")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}
