//! Another process writes while the server serves: the CLI's `import` and
//! `purge --synthetic` against the served database. The real server must show the
//! change within [`BOUND`] of the command's exit, by replaying the changes since the
//! last commit it saw (its log says so, and says it never read the whole database
//! again), and what it serves must then be exactly what a server reading the whole
//! database serves (every id, every property of every layer). An edit through the
//! API between the two commands interleaves the server's own commits with theirs.
mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::process::{
    BIN, DATA, Server, assert_same, get_json, http, serve, served, token, truth,
};
use serde_json::{Value, json};

/// How soon after the command exits its change must be served: the watcher looks
/// every 200 ms, the replay of a few thousand changes takes milliseconds (a debug
/// build on a shared machine is given room).
const BOUND: Duration = Duration::from_secs(3);

/// Written by the publisher when it reads the whole database again.
const WHOLE_READ: &str = "read the whole database again";
/// Written by the publisher when it replays another process's writes.
const REPLAYED: &str = "replaying the changes since the last commit seen";

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

/// The server follows the CLI's import (new features) and purge (deletes) by
/// replaying their changes: served within the bound, equal to a whole read, and
/// never by reading the whole database again.
#[test]
fn cli_writes_are_followed_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("follow.db");
    let db_arg = db.to_str().unwrap();
    let server = serve(DATA).db(&db).log_beside(&db).ready();
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
        !names(&get_json(server.port, nearest))
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
        let n = names(&get_json(server.port, nearest));
        n.len() == 5 && n.iter().all(|n| n.starts_with("跟随测试司机之家"))
    });
    eprintln!("import of 60 rows served {took:?} after the CLI exited");
    assert_same(
        &served(server.port),
        &truth(&db, dir.path(), "import"),
        "import",
    );

    // 2. An edit through the API: this process's own commit after theirs.
    let token = token(&db, "follow");
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
