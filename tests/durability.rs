//! Nothing lost: the real server on a temp database takes edits from 8 concurrent
//! clients and is killed with SIGKILL at a random moment, five times. After each
//! kill, every edit that was answered 2xx is in the database with its exact
//! content, no write is half-applied (each stored feature is the `after` of its
//! last audit entry), and `PRAGMA integrity_check` is ok. Plus: export round-trips
//! and the online backup copies a database the server is writing.
mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{BIN, DATA, serve, token, try_http};
use rand::Rng;
use serde_json::{Value, json};
use waystation::store::Store;

fn station(name: &str, lon: f64, lat: f64) -> String {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"layer": "courier_station", "name": name, "city": "测试市",
        "source": "durability test", "position_accuracy": "surveyed", "synthetic": false}})
    .to_string()
}

/// Five rounds of 8 writers and a SIGKILL; every acknowledged write survives intact.
#[test]
fn acknowledged_edits_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let mut acknowledged: HashMap<String, Option<String>> = HashMap::new();
    let mut rng = rand::rng();
    let budget = Instant::now();
    for round in 0..5 {
        let server = serve(DATA).db(&db).ready();
        let port = server.port;
        let token = Arc::new(token(&db, &format!("writer-{round}")));
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(Mutex::new(Vec::<(String, Option<String>)>::new()));
        // Writes sent but not answered (the kill cut them): they may or may not be in.
        let unanswered = Arc::new(Mutex::new(Vec::<(String, Option<String>)>::new()));
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let (token, stop, acks) = (token.clone(), stop.clone(), acks.clone());
                let unanswered = unanswered.clone();
                std::thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let name = format!("站 r{round} w{w} #{i}");
                        let lon = 100.0 + w as f64 + i as f64 * 1e-4;
                        let body = station(&name, lon, 30.0 + round as f64);
                        let Some((status, answer)) =
                            try_http(port, "POST", "/api/v1/features", &token, Some(&body))
                        else {
                            continue;
                        };
                        if status != 201 {
                            continue;
                        }
                        let v: Value = serde_json::from_str(&answer).unwrap();
                        let id = v["id"].as_str().unwrap().to_owned();
                        acks.lock().unwrap().push((id.clone(), Some(answer)));
                        // Every third feature is patched, every fifth deleted.
                        let path = format!("/api/v1/features/{id}");
                        if i % 3 == 0 {
                            let phone = format!("0539-{i}");
                            let patch = json!({"properties": {"phone": phone}}).to_string();
                            match try_http(port, "PATCH", &path, &token, Some(&patch)) {
                                Some((200, answer)) => {
                                    acks.lock().unwrap().push((id.clone(), Some(answer)))
                                }
                                Some(_) => {}
                                None => unanswered.lock().unwrap().push((id.clone(), Some(phone))),
                            }
                        } else if i % 5 == 0 {
                            match try_http(port, "DELETE", &path, &token, None) {
                                Some((204, _)) => acks.lock().unwrap().push((id, None)),
                                Some(_) => {}
                                None => unanswered.lock().unwrap().push((id, None)),
                            }
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
        // SIGKILL: no shutdown, no flush.
        server.kill_9();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        let acks = std::mem::take(&mut *acks.lock().unwrap());
        assert!(!acks.is_empty(), "round {round}: no write was acknowledged");
        for (id, state) in acks {
            acknowledged.insert(id, state);
        }
        let unanswered = std::mem::take(&mut *unanswered.lock().unwrap());

        let store = Store::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        for (id, want) in acknowledged.iter_mut() {
            let got = store.get(id).unwrap().map(|s| s.body);
            if &got == want {
                continue;
            }
            // Else the write after the last acknowledged one was committed though its
            // answer was cut: then the stored state is exactly that write's.
            let later = unanswered.iter().find(|(u, _)| u == id).map(|(_, s)| s);
            let explained = match (later, &got) {
                (Some(None), None) => true,
                (Some(Some(phone)), Some(body)) => {
                    let v: Value = serde_json::from_str(body).unwrap();
                    let mut before: Value =
                        serde_json::from_str(want.as_deref().unwrap_or("null")).unwrap();
                    before["properties"]["phone"] = json!(phone);
                    v["properties"] == before["properties"]
                }
                _ => false,
            };
            assert!(
                explained,
                "round {round}: feature {id}: stored {got:?}, acknowledged {want:?}"
            );
            *want = got;
        }
        // Nothing half-applied: every stored feature is what its last audit entry wrote.
        for (id, body) in store.features(None).unwrap() {
            let history = store.history(&id).unwrap();
            if let Some(last) = history.last() {
                assert_eq!(
                    last.after.as_ref(),
                    Some(&serde_json::from_str::<Value>(&body).unwrap()),
                    "{id}"
                );
            }
        }
        drop(store);
        // The restarted server serves what was stored.
        let server = serve(DATA).db(&db).ready();
        let (id, body) = acknowledged
            .iter()
            .find_map(|(id, b)| b.as_ref().map(|b| (id, b)))
            .unwrap();
        let (status, answer) = try_http(
            server.port,
            "GET",
            &format!("/api/v1/features/{id}"),
            "",
            None,
        )
        .unwrap();
        assert_eq!(status, 200);
        let served: Value = serde_json::from_str(&answer).unwrap();
        let stored: Value = serde_json::from_str(body).unwrap();
        assert_eq!(served["properties"]["name"], stored["properties"]["name"]);
        assert!(
            budget.elapsed() < Duration::from_secs(240),
            "durability test over its time bound"
        );
    }
}

/// `export` writes the geodata layout; a database seeded from it has the same features.
/// `backup` copies a database while the server writes to it.
#[test]
fn export_round_trips_and_backup_runs_live() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let server = serve(DATA).db(&db).ready();
    let port = server.port;
    let token = token(&db, "exporter");
    for i in 0..20 {
        let body = station(&format!("导出站 {i}"), 110.0 + i as f64 * 0.01, 30.0);
        assert_eq!(
            try_http(port, "POST", "/api/v1/features", &token, Some(&body))
                .unwrap()
                .0,
            201
        );
    }
    let out = dir.path().join("export");
    let status = Command::new(BIN)
        .args(["export", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let copy = dir.path().join("b.db");
    // Seeded from the export: the server is ready once it created the database.
    drop(serve(out.to_str().unwrap()).db(&copy).ready());
    let a = Store::open(&db).unwrap().features(None).unwrap();
    let b = Store::open(&copy).unwrap().features(None).unwrap();
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(a.clone()), sorted(b));

    // Backup while writes go on.
    let writer = {
        let token = token.clone();
        std::thread::spawn(move || {
            for i in 0..30 {
                let body = station(&format!("备份中 {i}"), 111.0 + i as f64 * 0.01, 31.0);
                try_http(port, "POST", "/api/v1/features", &token, Some(&body));
            }
        })
    };
    let backup = dir.path().join("backup.db");
    let out = Command::new(BIN)
        .args(["backup", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.join().unwrap();
    let copied = Store::open(&backup).unwrap();
    assert_eq!(copied.integrity_check().unwrap(), "ok");
    assert!(copied.feature_count().unwrap() >= a.len() as i64);
}

/// After edits, a graceful stop (SIGTERM) writes the snapshot of the served data,
/// so the next start reads it instead of the whole database.
#[test]
fn graceful_stop_leaves_a_fresh_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut server = serve(DATA).db(&db).log_beside(&db).ready();
    let token = token(&db, "stopper");
    let body = station("停机前的站", 90.0, 35.0);
    assert_eq!(
        try_http(server.port, "POST", "/api/v1/features", &token, Some(&body))
            .unwrap()
            .0,
        201
    );
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", server.log());
    let again = serve(DATA).db(&db).log_beside(&db).ready();
    let text = again.log();
    assert!(text.contains("features read from the snapshot"), "{text}");
    let port = again.port;
    let (status, near) =
        try_http(port, "GET", "/api/v1/nearest?lon=90&lat=35&k=1", "", None).unwrap();
    assert_eq!(status, 200);
    assert!(near.contains("停机前的站"), "{near}");
}
