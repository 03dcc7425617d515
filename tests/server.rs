//! The real binary on a real socket: it starts, answers, refuses bad data, and
//! `validate` reports problems one per line.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::process::{BIN, DATA, Server, serve, try_http, try_http_headers};

/// A GET over a socket: status and body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    try_http(port, "GET", path, "", None)
}

/// The server on the bundled data with `extra` flags, its output piped, once ready.
fn start_with(extra: &[&str]) -> Server {
    serve(DATA)
        .args(extra)
        .piped()
        .ready_within(Duration::from_secs(30))
}

/// The binary serves the bundled data over TCP: healthz, readyz, a nearest query.
#[test]
fn serves_over_a_real_socket() {
    let server = serve(DATA).ready_within(Duration::from_secs(30));
    let port = server.port;
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    let (status, body) = http_get(port, "/api/v1/nearest?lon=118.35&lat=35.10&k=3").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("distance_m"));
    let (status, body) = http_get(port, "/api/v1/nearest?lon=118.35").unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("\"lat\""));
}

fn bad_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let feature = |id: &str, coords: &str, extra: &str| {
        format!(
            r#"{{"type":"Feature","id":"{id}","geometry":{{"type":"Point","coordinates":{coords}}},
            "properties":{{"id":"{id}","name":"测试","source":"test","position_accuracy":"approximate","synthetic":true{extra}}}}}"#
        )
    };
    let facilities = [
        feature("a", "[116.4, 39.9]", r#","amenities":["showers"]"#),
        feature("b", "[39.9, 116.4]", ""),
        feature("c", "[116.4, 39.9]", r#","opening_hours":"Mo-Fr 25:99""#),
        feature("a", "[116.5, 39.9]", ""),
    ];
    let parks = [
        feature(
            "p",
            "[116.4, 39.9]",
            r#","enterprises":5,"unionised_enterprises":9"#,
        ),
        feature("q", "[116.4, 39.9]", r#","workers":-3"#),
    ];
    let fc = |fs: &[String]| {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            fs.join(",")
        )
    };
    std::fs::write(dir.path().join("driver_home.test.geojson"), fc(&facilities)).unwrap();
    std::fs::write(dir.path().join("park.test.geojson"), fc(&parks)).unwrap();
    std::fs::write(dir.path().join("harbour.geojson"), fc(&[])).unwrap();
    dir
}

/// `validate` prints one line per problem (file, feature, field, why) and exits non-zero.
#[test]
fn validate_reports_every_problem() {
    let dir = bad_dir();
    let out = Command::new(BIN)
        .arg("validate")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "feature a: properties.amenities: unknown amenity 'showers'",
        "feature b: geometry: latitude 116.4 is outside -90..90 (longitude and latitude look swapped",
        "feature c: properties.opening_hours: cannot parse",
        "feature a: id: duplicate id",
        "feature p: properties.unionised_enterprises: 9 is more than the park's 5 enterprises",
        "feature q: properties.workers: must be a non-negative whole number, got -3",
        "harbour.geojson: file name: unknown layer 'harbour'",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let ok = Command::new(BIN).args(["validate", DATA]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// The server refuses to serve invalid data: it exits non-zero with the same report.
#[test]
fn server_refuses_bad_data() {
    let dir = bad_dir();
    let mut server = serve(dir.path().to_str().unwrap()).piped().spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server kept running on bad data");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut lines = Vec::new();
    for line in BufReader::new(server.child.stderr.take().unwrap()).lines() {
        lines.push(line.unwrap());
    }
    let text = lines.join("\n");
    assert!(
        text.contains("refusing to serve") && text.contains("unknown amenity 'showers'"),
        "{text}"
    );
}

/// A GET over a socket: the whole raw answer (head and body).
fn raw_get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The target may be refused before it is all read: a failed write is no failure.
    let _ = write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

/// A 100 KB query string (past the HTTP stack's own 64 KB ceiling) and a 10 KB one
/// (past the configured 8 KB) both get 414 in problem+json naming the limit, each
/// with its access line (without the query); the server goes on serving.
#[test]
fn long_targets_get_414_in_problem_json() {
    let mut server = start_with(&["--log-format", "json"]);
    let port = server.port;
    for len in [100_000, 10_000] {
        let target = format!("/api/v1/nearest?lon=118.35&lat=35.10&q={}", "x".repeat(len));
        let raw = raw_get(port, &target);
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 414"), "{len}: {head}");
        assert!(
            head.contains("content-type: application/problem+json"),
            "{len}: {head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).expect(body);
        assert_eq!(problem["status"], 414, "{body}");
        assert!(
            problem["detail"].as_str().unwrap().contains("8192 bytes"),
            "{body}"
        );
    }
    // Just under the limit is served.
    let target = format!(
        "/api/v1/nearest?lon=118.35&lat=35.10&k=3&x={}",
        "y".repeat(7000)
    );
    let (status, _) = http_get(port, &target).unwrap();
    assert_ne!(status, 414);
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    std::thread::sleep(Duration::from_millis(200));
    let _ = server.child.kill();
    let mut log = String::new();
    let mut stderr = server.child.stderr.take().unwrap();
    stderr.read_to_string(&mut log).unwrap();
    assert!(!log.contains("xxxx") && !log.contains("lon="), "{log}");
    let refused: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["target"] == "waystation::access" && l["status"] == 414)
        .collect();
    let routes: Vec<&str> = refused.iter().filter_map(|l| l["route"].as_str()).collect();
    assert_eq!(routes, ["(unparsed)", "/api/v1/nearest"], "{log}");
}

/// `--log-format json` writes one JSON line per request with its route pattern,
/// status and latency, and a driver's coordinates appear nowhere in the log.
#[test]
fn json_access_log_names_the_route_not_the_position() {
    let mut server = start_with(&["--log-format", "json"]);
    let port = server.port;
    let (status, _) = http_get(port, "/api/v1/nearest?lon=118.3517&lat=35.1043&k=2").unwrap();
    assert_eq!(status, 200);
    let (status, _) = http_get(port, "/api/v1/features/no-such-feature-4711").unwrap();
    assert_eq!(status, 404);
    std::thread::sleep(Duration::from_millis(200));
    let _ = server.child.kill();
    let mut log = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let mut stdout = String::new();
    server
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    log.push_str(&stdout);
    for secret in ["118.3517", "35.1043", "lon=", "no-such-feature-4711"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    let find = |route: &str| {
        lines
            .iter()
            .find(|l| l["route"] == route)
            .unwrap_or_else(|| panic!("no line for {route} in:\n{log}"))
    };
    let nearest = find("/api/v1/nearest");
    assert_eq!(nearest["status"], 200);
    assert_eq!(nearest["method"], "GET");
    assert_eq!(nearest["target"], "waystation::access");
    assert!(nearest["latency_ms"].as_f64().unwrap() >= 0.0, "{nearest}");
    assert!(nearest["bytes"].as_u64().unwrap() > 0, "{nearest}");
    assert!(nearest["timestamp"].is_string(), "{nearest}");
    assert_eq!(find("/api/v1/features/{id}")["status"], 404);
}

/// A POST over a socket with `headers`: the status (0 without an answer).
fn http_post(port: u16, path: &str, headers: &str) -> u16 {
    try_http_headers(port, "POST", path, headers, Some("{}")).map_or(0, |r| r.0)
}

/// On a real socket, with a database and `write_origins` from the environment: a
/// listed origin passes the origin check (then 401 for the bad token), another is
/// refused (403), and the client's address reaches the handlers (ConnectInfo): the
/// eleventh failed sign-in from it within a minute gets 429.
#[test]
fn write_origins_and_client_addresses_on_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let server = serve(DATA)
        .db(&db)
        .envs(&[(
            "WAYSTATION_WRITE_ORIGINS",
            r#"["https://admin.example.org"]"#,
        )])
        .ready();
    let port = server.port;
    let bad_token = "Authorization: Bearer not-a-token\r\n";
    let listed = format!("Origin: https://admin.example.org\r\n{bad_token}");
    assert_eq!(
        http_post(
            port,
            "/api/v1/features",
            "Origin: https://evil.example.org\r\n"
        ),
        403
    );
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(http_post(port, "/api/v1/features", &listed));
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[10], 429, "{statuses:?}");
}
