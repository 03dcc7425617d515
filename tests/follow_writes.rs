//! Another process writes while the server serves: the CLI's `import` and
//! `purge --synthetic` against the served database. The real server must show the
//! change within [`BOUND`] of the command's exit, by replaying the changes since the
//! last commit it saw (its log says so, and says it never read the whole database
//! again), and what it serves must then be exactly what a server reading the whole
//! database serves (every id, every property of every layer). An edit through the
//! API between the two commands interleaves the server's own commits with theirs.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use waystation::geodata::snapshot;
use waystation::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_waystation");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata");
const LAYERS: [&str; 4] = ["driver_home", "courier_station", "fitness_station", "park"];

/// How soon after the command exits its change must be served: the watcher looks
/// every 200 ms, the replay of a few thousand changes takes milliseconds (a debug
/// build on a shared machine is given room).
const BOUND: Duration = Duration::from_secs(3);

/// Written by the publisher when it reads the whole database again.
const WHOLE_READ: &str = "read the whole database again";
/// Written by the publisher when it replays another process's writes.
const REPLAYED: &str = "replaying the changes since the last commit seen";

/// One request on its own connection: status and body.
fn http(port: u16, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        loop {
            let (size, after) = rest.split_once("\r\n").unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    (status, body)
}

fn get(port: u16, path: &str) -> Value {
    let (status, body) = http(port, "GET", path, "", None);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn start(db: &Path) -> Server {
    let port = common::free_port();
    let log = PathBuf::from(format!("{}.{port}.log", db.display()));
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .args(["--data", DATA])
        .args(["--web", concat!(env!("CARGO_MANIFEST_DIR"), "/web")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn waystation");
    let server = Server { child, port, log };
    let started = Instant::now();
    loop {
        let ready = TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/readyz", "", None).0 == 200;
        if ready {
            return server;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server not ready: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the CLI; its standard output, after asserting it succeeded.
fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "waystation {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Every feature served, by id, as served.
fn served(port: u16) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for layer in LAYERS {
        let v = get(port, &format!("/api/v1/layers/{layer}?limit=200000"));
        for f in v["features"].as_array().unwrap() {
            let id = f["properties"]["id"]
                .as_str()
                .or(f["id"].as_str())
                .unwrap()
                .to_owned();
            assert!(out.insert(id, f.clone()).is_none(), "served twice");
        }
    }
    out
}

/// What a server reading the whole database serves: one on a copy of it without
/// the snapshot. Its ids are the database's.
fn truth(db: &Path, dir: &Path, round: &str) -> BTreeMap<String, Value> {
    let copy = dir.join(format!("truth-{round}.db"));
    Store::open(db).unwrap().backup(&copy).unwrap();
    assert!(!snapshot::database_snapshot(&copy).exists());
    let server = start(&copy);
    let out = served(server.port);
    let ids: BTreeSet<String> = Store::open(db)
        .unwrap()
        .features(None)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(out.keys().cloned().collect::<BTreeSet<_>>(), ids);
    out
}

/// Polls `check` until it holds; how long that took, failing past [`BOUND`].
fn within_bound(what: &str, server: &Server, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < BOUND,
            "{what}: not served within {BOUND:?}: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_same(served: &BTreeMap<String, Value>, expected: &BTreeMap<String, Value>, round: &str) {
    assert_eq!(served.len(), expected.len(), "{round}");
    for (id, feature) in expected {
        assert_eq!(served.get(id), Some(feature), "{round}: {id}");
    }
}

/// The server follows the CLI's import (new features) and purge (deletes) by
/// replaying their changes: served within the bound, equal to a whole read, and
/// never by reading the whole database again.
#[test]
fn cli_writes_are_followed_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("follow.db");
    let db_arg = db.to_str().unwrap();
    let server = start(&db);
    let nearest = "/api/v1/nearest?lon=95.12&lat=40.21&k=5&layers=driver_home";
    let names = |v: &Value| -> Vec<String> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert!(
        !names(&get(server.port, nearest))
            .iter()
            .any(|n| n.starts_with("跟随")),
    );

    // 1. Import: 60 new driver homes around Guazhou.
    let mut csv = String::from("名称,地址,经度,纬度,服务时间,设施\n");
    for i in 0..60 {
        csv.push_str(&format!(
            "跟随测试司机之家{i},瓜州县,{},{},24小时,淋浴、停车\n",
            95.10 + (i % 10) as f64 * 0.01,
            40.20 + (i / 10) as f64 * 0.01
        ));
    }
    let file = dir.path().join("homes.csv");
    std::fs::write(&file, csv).unwrap();
    let file_arg = file.to_str().unwrap();
    let out = cli(&[
        "import",
        "--db",
        db_arg,
        "--data",
        DATA,
        "--layer",
        "driver_home",
        "--crs",
        "wgs84",
        file_arg,
    ]);
    assert!(out.contains("60 accepted"), "{out}");
    let took = within_bound("import", &server, || {
        let n = names(&get(server.port, nearest));
        n.len() == 5 && n.iter().all(|n| n.starts_with("跟随测试司机之家"))
    });
    eprintln!("import of 60 rows served {took:?} after the CLI exited");
    assert_same(
        &served(server.port),
        &truth(&db, dir.path(), "import"),
        "import",
    );

    // 2. An edit through the API: this process's own commit after theirs.
    let token = cli(&[
        "token", "create", "--name", "follow", "--role", "admin", "--db", db_arg,
    ]);
    let token = token.lines().last().unwrap().trim().to_owned();
    let body = json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [95.3, 40.3]},
        "properties": {"layer": "courier_station", "name": "跟随测试驿站", "city": "酒泉市",
            "source": "follow test", "position_accuracy": "surveyed", "synthetic": false}})
    .to_string();
    let (status, answer) = http(server.port, "POST", "/api/v1/features", &token, Some(&body));
    assert_eq!(status, 201, "{answer}");

    // 3. Purge: every generated feature deleted, in every layer.
    let synthetic = |s: &BTreeMap<String, Value>| {
        s.values()
            .filter(|f| f["properties"]["synthetic"] == json!(true))
            .count()
    };
    let before = served(server.port);
    assert!(synthetic(&before) > 1000, "{}", synthetic(&before));
    let out = cli(&["purge", "--synthetic", "--db", db_arg]);
    assert!(out.contains("removed"), "{out}");
    let took = within_bound("purge", &server, || synthetic(&served(server.port)) == 0);
    eprintln!("purge served {took:?} after the CLI exited");
    let after = served(server.port);
    assert!(after.contains_key(answer_id(&answer).as_str()));
    assert_same(&after, &truth(&db, dir.path(), "purge"), "purge");

    let log = server.log();
    assert!(log.matches(REPLAYED).count() >= 2, "{log}");
    // `/metrics` counts the same: replays, and no whole read.
    let (status, metrics) = http(server.port, "GET", "/metrics", "", None);
    assert_eq!(status, 200);
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    assert!(counter("waystation_follow_replays_total") >= 2, "{metrics}");
    assert_eq!(counter("waystation_follow_reloads_total"), 0, "{metrics}");
    assert!(
        !log.contains(WHOLE_READ),
        "the whole database was read: {log}"
    );
}

fn answer_id(answer: &str) -> String {
    let v: Value = serde_json::from_str(answer).unwrap();
    v["id"].as_str().unwrap().to_owned()
}
