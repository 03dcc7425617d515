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
