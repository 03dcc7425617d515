use super::*;

fn feature(id: &str, name: &str) -> String {
    serde_json::json!({"type":"Feature","id":id,"geometry":{"type":"Point","coordinates":[118.3,35.1]},
        "properties":{"id":id,"name":name}})
    .to_string()
}

fn put(id: &str, name: &str, expect: Option<i64>) -> Write {
    Write::Put {
        id: id.into(),
        layer: Layer::CourierStation,
        body: feature(id, name),
        expect,
        op: Op::Create,
    }
}

#[test]
fn writes_are_audited_and_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    assert_eq!(store.generation().unwrap(), 0);
    store
        .apply("alice", None, &[put("cs-1", "一", Some(0))])
        .unwrap();
    let again = store.apply("alice", None, &[put("cs-1", "一", Some(0))]);
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    store
        .apply("bob", None, &[put("cs-1", "二", Some(1))])
        .unwrap();
    let stale = store.apply("bob", None, &[put("cs-1", "三", Some(1))]);
    assert!(matches!(stale, Err(StoreError::Conflict(_))));
    let got = store.get("cs-1").unwrap().unwrap();
    assert_eq!((got.version, got.body), (2, feature("cs-1", "二")));
    store
        .apply(
            "bob",
            None,
            &[Write::Delete {
                id: "cs-1".into(),
                expect: None,
                op: Op::Delete,
            }],
        )
        .unwrap();
    assert_eq!(store.get("cs-1").unwrap(), None);
    let h = store.history("cs-1").unwrap();
    let ops: Vec<_> = h.iter().map(|e| (e.who.as_str(), e.op.as_str())).collect();
    assert_eq!(
        ops,
        [("alice", "create"), ("bob", "create"), ("bob", "delete")]
    );
    assert!(h[2].after.is_none());
    assert_eq!(h[2].before.as_ref().unwrap()["properties"]["name"], "二");
    assert_eq!(store.generation().unwrap(), 3);
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let batch = [put("cs-1", "一", Some(0)), put("cs-1", "一", Some(0))];
    assert!(store.apply("alice", None, &batch).is_err());
    assert_eq!(store.feature_count().unwrap(), 0);
    assert!(store.history("cs-1").unwrap().is_empty());
    assert_eq!(store.generation().unwrap(), 0);
}

#[test]
fn tokens_are_hashed_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut store = Store::open(&path).unwrap();
    let token = store
        .create_token("linyi", Role::Editor, Some("临沂市"))
        .unwrap();
    assert!(token.starts_with("ws_") && token.len() == 67);
    assert!(store.create_token("linyi", Role::Admin, None).is_err());
    let who = store.authenticate(&token).unwrap().unwrap();
    assert_eq!(
        (who.role, who.city.as_deref()),
        (Role::Editor, Some("临沂市"))
    );
    assert_eq!(store.authenticate("ws_00").unwrap(), None);
    // The token itself is nowhere in the file.
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    let wal = std::fs::read(dir.path().join("t.db-wal")).unwrap_or_default();
    let needle = token.as_bytes();
    for b in [&bytes, &wal] {
        assert!(!b.windows(needle.len()).any(|w| w == needle));
    }
    let mut store = Store::open(&path).unwrap();
    store.revoke_token("linyi").unwrap();
    assert_eq!(store.authenticate(&token).unwrap(), None);
    assert!(store.revoke_token("linyi").is_err());
}

#[test]
fn schema_is_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(Store::open(&path).unwrap());
    // Opening again applies nothing twice.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    store.conn.pragma_update(None, "user_version", 99).unwrap();
    drop(store);
    assert!(matches!(Store::open(&path), Err(StoreError::TooNew { .. })));
}

fn delete(id: &str) -> Write {
    Write::Delete {
        id: id.into(),
        expect: None,
        op: Op::Delete,
    }
}

/// The features as of generation `g` (kept by hand) plus `changes_since(g)`, applied
/// in order, are the features now, whatever was created, replaced, deleted and
/// created again after `g`; and each commit has a stamp of its own.
#[test]
fn changes_since_a_generation_bring_it_to_now() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    store
        .seed([
            (
                "cs-1".to_owned(),
                Layer::CourierStation,
                feature("cs-1", "一"),
            ),
            (
                "cs-2".to_owned(),
                Layer::CourierStation,
                feature("cs-2", "二"),
            ),
            (
                "cs-3".to_owned(),
                Layer::CourierStation,
                feature("cs-3", "三"),
            ),
        ])
        .unwrap();
    let g = store.generation().unwrap();
    let then: std::collections::BTreeMap<String, String> =
        store.features(None).unwrap().into_iter().collect();
    assert!(store.changes_since(g).unwrap().is_empty());
    assert_eq!(store.changes_since_count(g).unwrap(), 0);
    assert_eq!(store.changes_since(0).unwrap().len(), 3);
    // Replaced; deleted; created; created and deleted; deleted and created again.
    store
        .apply("a", None, &[put("cs-1", "一改", None)])
        .unwrap();
    store.apply("a", None, &[delete("cs-2")]).unwrap();
    store.apply("a", None, &[put("cs-4", "四", None)]).unwrap();
    store.apply("a", None, &[put("cs-5", "五", None)]).unwrap();
    store.apply("a", None, &[delete("cs-5")]).unwrap();
    store.apply("a", None, &[delete("cs-3")]).unwrap();
    store
        .apply("a", None, &[put("cs-3", "三新", None)])
        .unwrap();
    let mut replayed = then.clone();
    for c in store.changes_since(g).unwrap() {
        match c {
            Changed::Put { id, body, .. } => {
                replayed.insert(id, body);
            }
            Changed::Delete { id } => {
                replayed.remove(&id);
            }
        }
    }
    let now: std::collections::BTreeMap<String, String> =
        store.features(None).unwrap().into_iter().collect();
    assert_eq!(replayed, now);
    assert_eq!(
        store.changes_since_count(g).unwrap(),
        5,
        "cs-1, 2, 3, 4 and 5"
    );
    // One stamp per commit, none for a generation not reached.
    let stamps: Vec<_> = (g..=store.generation().unwrap())
        .map(|n| store.stamp(n).unwrap().unwrap())
        .collect();
    let nonces: std::collections::HashSet<_> = stamps.iter().map(|s| s.nonce).collect();
    assert_eq!(nonces.len(), stamps.len());
    assert_eq!(store.stamp(store.generation().unwrap() + 1).unwrap(), None);
}

/// A database of schema 2 (before generations were marked) opens upgraded: its
/// features are of no later generation than now, its current generation has a
/// stamp, and the next write is marked.
#[test]
fn schema_2_is_upgraded_to_mark_generations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute(
            "INSERT INTO feature (id, layer, body) VALUES ('cs-1', 'courier_station', ?1)",
            [feature("cs-1", "一")],
        )
        .unwrap();
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'generation'", [])
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.generation().unwrap(), 7);
    assert!(store.stamp(7).unwrap().is_some());
    assert!(store.changes_since(7).unwrap().is_empty());
    assert_eq!(store.database_id().unwrap().len(), 32);
    store.apply("a", None, &[put("cs-2", "二", None)]).unwrap();
    assert_eq!(
        store.changes_since(7).unwrap(),
        [Changed::Put {
            id: "cs-2".into(),
            layer: Layer::CourierStation,
            body: feature("cs-2", "二"),
        }]
    );
}

/// A backup is another database: same features, its own id.
#[test]
fn a_backup_has_an_id_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    store.apply("a", None, &[put("cs-1", "一", None)]).unwrap();
    let copy = dir.path().join("copy.db");
    store.backup(&copy).unwrap();
    let copy = Store::open(&copy).unwrap();
    assert_eq!(copy.features(None).unwrap(), store.features(None).unwrap());
    assert_eq!(copy.stamp(1).unwrap(), store.stamp(1).unwrap());
    assert_ne!(copy.database_id().unwrap(), store.database_id().unwrap());
}

/// Pruning keeps every tombstone a reader from the horizon needs, forgets the older
/// ones with their commits' stamps, refuses a replay from before the horizon, and
/// never moves the horizon back; the retention window holds it back from the
/// snapshot's generation.
#[test]
fn pruning_forgets_only_what_no_reader_needs() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("t.db");
    let mut store = Store::open(&store_path).unwrap();
    for id in ["cs-1", "cs-2", "cs-3", "cs-4"] {
        store.apply("t", None, &[put(id, "一", None)]).unwrap();
    }
    store.apply("t", None, &[delete("cs-1")]).unwrap(); // 5
    store.apply("t", None, &[delete("cs-2")]).unwrap(); // 6
    store.apply("t", None, &[delete("cs-3")]).unwrap(); // 7
    store.apply("t", None, &[put("cs-5", "五", None)]).unwrap(); // 8
    assert_eq!(store.generation().unwrap(), 8);
    assert_eq!(store.replay_horizon().unwrap(), 0);
    let before = store.changes_since(5).unwrap();

    // The window (3 commits: the horizon is 5) holds it back from the snapshot (7).
    let p = store.prune(7, 3).unwrap();
    assert_eq!((p.horizon, p.tombstones), (5, 1));
    assert_eq!(store.replay_horizon().unwrap(), 5);
    // From the horizon on, nothing is missing.
    assert_eq!(store.changes_since(5).unwrap(), before);
    assert_eq!(store.changes_since_count(5).unwrap(), 3);
    assert!(store.stamp(5).unwrap().is_some());
    // Before it, the replay is refused (the delete of cs-1 is gone) and the stamp
    // a snapshot of that generation would be checked against is gone too.
    let refused = store.changes_since(4);
    assert!(
        matches!(
            refused,
            Err(StoreError::Pruned {
                generation: 4,
                horizon: 5
            })
        ),
        "{refused:?}"
    );
    assert!(store.changes_since_count(0).is_err());
    assert_eq!(store.stamp(4).unwrap(), None);

    // The snapshot (6) holds it back from the window (8 - 0); it never moves back.
    assert_eq!(store.prune(6, 0).unwrap().horizon, 6);
    assert_eq!(store.prune(2, 0).unwrap().horizon, 6);
    assert_eq!(store.prune(6, 0).unwrap().tombstones, 0);
    assert!(store.changes_since(5).is_err());
    let after = store.changes_since(6).unwrap();
    assert_eq!(
        after,
        vec![
            Changed::Delete { id: "cs-3".into() },
            Changed::Put {
                id: "cs-5".into(),
                layer: Layer::CourierStation,
                body: feature("cs-5", "五"),
            }
        ]
    );
    // Features and their history are untouched; the generation too.
    assert_eq!(store.feature_count().unwrap(), 2);
    assert_eq!(store.history("cs-1").unwrap().len(), 2);
    assert_eq!(store.generation().unwrap(), 8);
    // Kept across a reopen.
    drop(store);
    assert_eq!(
        Store::open(&store_path).unwrap().replay_horizon().unwrap(),
        6
    );
}
