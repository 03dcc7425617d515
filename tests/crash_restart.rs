//! Start-up after a crash: the real server is killed with SIGKILL after edits made
//! since its last snapshot; the next start reads that older snapshot and replays
//! the changes committed since. What it serves must be exactly what a start that
//! reads the whole database serves (every id, every property of every layer), and
//! its ids must be the database's. Three rounds: the first snapshot, one written
//! in the background after a rebuild, and edits after each.
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
const LAYERS: [&str; 4] = ["driver_home", "courier_station", "fitness_station", "park"];

/// One request on its own connection: status and body.
fn http(port: u16, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    let ctype = if method == "PATCH" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: {ctype}\r\n\
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
    /// SIGKILL: no shutdown, no snapshot.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn start(db: &Path, env: &[(&str, &str)]) -> Server {
    let port = common::free_port();
    let log = PathBuf::from(format!("{}.{port}.log", db.display()));
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .args(["--data", concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")])
        .args(["--web", concat!(env!("CARGO_MANIFEST_DIR"), "/web")])
        .envs(env.iter().copied())
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

fn token(db: &Path, name: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--name", name, "--role", "admin", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = String::from_utf8(out.stdout).unwrap();
    out.lines().last().unwrap().trim().to_owned()
}

/// Every feature served, by id, as served.
fn served(server: &Server) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for layer in LAYERS {
        let (status, body) = http(
            server.port,
            "GET",
            &format!("/api/v1/layers/{layer}?limit=200000"),
            "",
            None,
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
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

/// Creates, patches and deletes, of new and of seeded features: `round` tells
/// them apart. Returns how many were answered 2xx.
fn edit(server: &Server, db: &Path, round: usize) -> usize {
    let token = token(db, &format!("crash-{round}"));
    let seeded: Vec<String> = Store::open(db)
        .unwrap()
        .features(None)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| !id.contains("crash"))
        .collect();
    let mut ok = 0;
    let mut created = Vec::new();
    for i in 0..12 {
        let body = json!({"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [100.0 + i as f64, 30.0 + round as f64]},
            "properties": {"layer": "courier_station", "name": format!("崩溃测试 {round} {i}"),
                "city": "测试市", "source": "crash test", "position_accuracy": "surveyed",
                "synthetic": false}})
        .to_string();
        let (status, answer) = http(server.port, "POST", "/api/v1/features", &token, Some(&body));
        assert_eq!(status, 201, "{answer}");
        let v: Value = serde_json::from_str(&answer).unwrap();
        created.push(v["id"].as_str().unwrap().to_owned());
        ok += 1;
    }
    // Patch new and seeded features; delete some of each.
    let patch = |id: &str, phone: String| {
        let body = json!({"properties": {"phone": phone, "opening_hours": "Mo-Fr 08:00-18:00"}});
        let (status, answer) = http(
            server.port,
            "PATCH",
            &format!("/api/v1/features/{id}"),
            &token,
            Some(&body.to_string()),
        );
        assert_eq!(status, 200, "{id}: {answer}");
    };
    for (k, id) in created.iter().step_by(3).enumerate() {
        patch(id, format!("0539-{round}{k}"));
        ok += 1;
    }
    let stations: Vec<&String> = seeded
        .iter()
        .filter(|id| !id.starts_with("pk"))
        .skip(round * 7)
        .take(6)
        .collect();
    for (k, id) in stations.iter().take(3).enumerate() {
        patch(id, format!("0531-{round}{k}"));
        ok += 1;
    }
    for id in stations
        .iter()
        .skip(3)
        .chain(created.iter().skip(1).step_by(4).collect::<Vec<_>>().iter())
    {
        let (status, answer) = http(
            server.port,
            "DELETE",
            &format!("/api/v1/features/{id}"),
            &token,
            None,
        );
        assert_eq!(status, 204, "{id}: {answer}");
        ok += 1;
    }
    ok
}

/// The generation of the snapshot beside `db`, once there is one.
fn snapshot_generation(db: &Path, above: i64) -> i64 {
    let file = snapshot::database_snapshot(db);
    let started = Instant::now();
    loop {
        if let Ok(stamp) = snapshot::stamp_of(&file)
            && stamp.generation > above
        {
            return stamp.generation;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no snapshot above generation {above} was written"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a start reading the whole database serves: a server on a copy of it
/// without the snapshot.
fn truth(db: &Path, dir: &Path, round: usize) -> BTreeMap<String, Value> {
    let copy = dir.join(format!("truth-{round}.db"));
    Store::open(db).unwrap().backup(&copy).unwrap();
    assert!(!snapshot::database_snapshot(&copy).exists());
    let server = start(&copy, &[]);
    let log = server.log();
    assert!(!log.contains("features read from the snapshot"), "{log}");
    let out = served(&server);
    server.kill_9();
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

/// Three rounds of edits after the snapshot on disk, SIGKILL, restart: the restart
/// uses the older snapshot, replays what came after it, and serves the database.
#[test]
fn restart_after_kill_9_replays_onto_an_older_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let budget = Instant::now();
    let mut server = start(&db, &[]);
    // The first start read the seed and writes the first snapshot in the background.
    snapshot_generation(&db, 0);
    for round in 0..3 {
        // Round 1 rebuilds the base every 4 changes, and each rebuild (or the one
        // after 10 quiet seconds) writes a snapshot in the background (no pause
        // between them): the kill comes after edits made since the last.
        if round == 1 {
            drop(server);
            server = start(
                &db,
                &[
                    ("WAYSTATION_DELTA_MAX", "4"),
                    ("WAYSTATION_SNAPSHOT_EVERY", "0"),
                ],
            );
            assert!(edit(&server, &db, 10 + round) > 0);
            let written = Store::open(&db).unwrap().generation().unwrap();
            snapshot_generation(&db, written - 1);
        }
        assert!(edit(&server, &db, round) > 0);
        server.kill_9();
        let generation = Store::open(&db).unwrap().generation().unwrap();
        let stamp = snapshot::stamp_of(&snapshot::database_snapshot(&db)).unwrap();
        assert!(
            stamp.generation < generation,
            "round {round}: the snapshot ({}) is not older than the last write ({generation})",
            stamp.generation
        );
        server = start(&db, &[]);
        let log = server.log();
        assert!(
            log.contains(&format!("(generation {})", stamp.generation))
                && log.contains(&format!("changes since (generation {generation})")),
            "round {round}: the restart did not replay onto the snapshot: {log}"
        );
        let replayed = served(&server);
        let expected = truth(&db, dir.path(), round);
        assert_eq!(replayed.len(), expected.len(), "round {round}");
        for (id, feature) in &expected {
            assert_eq!(replayed.get(id), Some(feature), "round {round}: {id}");
        }
        assert!(budget.elapsed() < Duration::from_secs(240), "too slow");
    }
}
