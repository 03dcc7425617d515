//! Start-up after a crash: the real server is killed with SIGKILL after edits made
//! since its last snapshot; the next start reads that older snapshot and replays
//! the changes committed since. What it serves must be exactly what a start that
//! reads the whole database serves (every id, every property of every layer), and
//! its ids must be the database's. Three rounds: the first snapshot, one written
//! in the background after a rebuild, and edits after each.
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::process::{DATA, Server, assert_same, http, serve, served, token, truth};
use serde_json::{Value, json};
use waystation::geodata::snapshot;
use waystation::store::Store;

/// A server on `db` with `env`, logging beside it, once ready.
fn start(db: &Path, env: &[(&str, &str)]) -> Server {
    serve(DATA).db(db).envs(env).log_beside(db).ready()
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
        let replayed = served(server.port);
        let expected = truth(&db, dir.path(), &round.to_string());
        assert_same(&replayed, &expected, &format!("round {round}"));
        assert!(budget.elapsed() < Duration::from_secs(240), "too slow");
    }
}
