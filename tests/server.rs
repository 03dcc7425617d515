//! The real binary on a real socket: it starts, answers, refuses bad data, and
//! `validate` reports problems one per line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_waystation");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
    let port = free_port();
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
    let mut server = start(free_port(), dir.path().to_str().unwrap());
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
