//! The real binary on a real socket: it starts, answers, refuses bad data, and
//! `validate` reports problems one per line.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_waystation");

/// A plain HTTP/1.1 GET over a socket: status line and body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(port: u16, data: &str) -> Server {
    let child = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data",
            data,
            "--web",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/web"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn waystation");
    Server(child)
}

/// The binary serves the bundled data over TCP: healthz, readyz, a nearest query.
#[test]
fn serves_over_a_real_socket() {
    let port = common::free_port();
    let _server = start(port, concat!(env!("CARGO_MANIFEST_DIR"), "/geodata"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(port, "/readyz").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
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
    let ok = Command::new(BIN)
        .args(["validate", concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")])
        .output()
        .unwrap();
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
    let mut server = start(common::free_port(), dir.path().to_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server kept running on bad data");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut lines = Vec::new();
    for line in BufReader::new(server.0.stderr.take().unwrap()).lines() {
        lines.push(line.unwrap());
    }
    let text = lines.join("\n");
    assert!(
        text.contains("refusing to serve") && text.contains("unknown amenity 'showers'"),
        "{text}"
    );
}

/// Starts the binary on the bundled data with `extra` flags; stderr piped.
fn start_with(port: u16, extra: &[&str]) -> Server {
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata"))
        .arg("--web")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/web"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn waystation");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(port, "/readyz").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
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
    let port = common::free_port();
    let mut server = start_with(port, &["--log-format", "json"]);
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
    let _ = server.0.kill();
    let mut log = String::new();
    let mut stderr = server.0.stderr.take().unwrap();
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
    let port = common::free_port();
    let mut server = start_with(port, &["--log-format", "json"]);
    let (status, _) = http_get(port, "/api/v1/nearest?lon=118.3517&lat=35.1043&k=2").unwrap();
    assert_eq!(status, 200);
    let (status, _) = http_get(port, "/api/v1/features/no-such-feature-4711").unwrap();
    assert_eq!(status, 404);
    std::thread::sleep(Duration::from_millis(200));
    let _ = server.0.kill();
    let mut log = String::new();
    server
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let mut stdout = String::new();
    server
        .0
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

/// A POST over a socket with `headers`: the status.
fn http_post(port: u16, path: &str, headers: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// On a real socket, with a database and `write_origins` from the environment: a
/// listed origin passes the origin check (then 401 for the bad token), another is
/// refused (403), and the client's address reaches the handlers (ConnectInfo): the
/// eleventh failed sign-in from it within a minute gets 429.
#[test]
fn write_origins_and_client_addresses_on_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let port = common::free_port();
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--db"])
        .arg(&db)
        .arg("--data")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/geodata"))
        .arg("--web")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/web"))
        .env(
            "WAYSTATION_WRITE_ORIGINS",
            r#"["https://admin.example.org"]"#,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn waystation");
    let _server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_get(port, "/readyz").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
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
