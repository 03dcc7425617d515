//! `waystation import` as a union's staff run it: exit 0 when every row was
//! accepted, 3 when some were rejected (the others applied), 2 on a usage or file
//! error; a dry run writes nothing; the same file twice changes nothing.

use std::path::Path;
use std::process::{Command, Output};

use waystation::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_waystation");

fn import(db: &Path, args: &[&str], file: &Path) -> Output {
    Command::new(BIN)
        .arg("import")
        .arg("--db")
        .arg(db)
        .args(["--data", concat!(env!("CARGO_MANIFEST_DIR"), "/geodata")])
        .args(args)
        .arg(file)
        .output()
        .expect("run waystation import")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Exit statuses, the dry run, and idempotence, on a CSV with Baidu coordinates.
#[test]
fn exit_statuses_dry_run_and_idempotence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let good = dir.path().join("good.csv");
    let (b1, b2) = (
        coordtransform::wgs84_to_bd09(95.10, 40.20),
        coordtransform::wgs84_to_bd09(95.20, 40.25),
    );
    std::fs::write(
        &good,
        format!(
            "名称,地址,经度,纬度,服务时间,设施\n\
             瓜州司机之家甲,瓜州县,{},{},24小时,淋浴、洗衣、停车\n\
             瓜州司机之家乙,瓜州县,{},{},每天 8:00-20:00,热水\n",
            b1.0, b1.1, b2.0, b2.1
        ),
    )
    .unwrap();
    let mut bad = std::fs::read_to_string(&good).unwrap();
    bad.push_str("没有坐标的站,瓜州县,,,24小时,热水\n");
    let bad_path = dir.path().join("bad.csv");
    std::fs::write(&bad_path, bad).unwrap();
    let args = [
        "--layer",
        "driver_home",
        "--crs",
        "bd09",
        "--source",
        "瓜州台账",
    ];

    let dry = import(&db, &[&args[..], &["--dry-run"]].concat(), &bad_path);
    assert_eq!(dry.status.code(), Some(3), "{}", text(&dry));
    assert!(text(&dry).contains("row 4: rejected"), "{}", text(&dry));
    let count = |db: &Path| Store::open(db).unwrap().feature_count().unwrap();
    let seeded = count(&db);

    let first = import(&db, &args, &bad_path);
    assert_eq!(first.status.code(), Some(3), "{}", text(&first));
    assert!(text(&first).contains("2 accepted"), "{}", text(&first));
    assert_eq!(count(&db), seeded + 2);

    let again = import(&db, &args, &good);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("2 unchanged"), "{}", text(&again));
    assert_eq!(count(&db), seeded + 2);

    let missing = import(&db, &args, &dir.path().join("nope.csv"));
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    let wrong_crs = import(&db, &["--layer", "driver_home", "--crs", "mars"], &good);
    assert_eq!(wrong_crs.status.code(), Some(2), "{}", text(&wrong_crs));
    let no_layer = Command::new(BIN)
        .args(["import", "--crs", "wgs84"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(no_layer.status.code(), Some(2));
}

/// The commands find the database as `serve` does: `--db`, else `WAYSTATION_DB`, else
/// `db` of the settings file (here `waystation.toml` in the working directory).
#[test]
fn commands_take_the_database_from_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata");
    std::fs::write(
        dir.path().join("waystation.toml"),
        format!("db = \"from-file.db\"\ndata = \"{seed}\"\n"),
    )
    .unwrap();
    let csv = dir.path().join("one.csv");
    std::fs::write(&csv, "名称,经度,纬度\n设置文件驿站,118.35,35.10\n").unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .current_dir(dir.path())
            .env_remove("WAYSTATION_DB")
            .env_remove("WAYSTATION_DATA")
            .args(args)
            .output()
            .expect("run waystation")
    };
    let out = run(&[
        "import",
        "--layer",
        "courier_station",
        "--crs",
        "wgs84",
        "one.csv",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("from-file.db").exists(), "{}", text(&out));
    assert!(!dir.path().join("waystation.db").exists());
    let out = run(&["token", "create", "--name", "a", "--role", "admin"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = run(&["token", "list"]);
    assert!(text(&listed).contains("a\tAdmin"), "{}", text(&listed));
    // --db still wins over the file.
    let other = run(&["token", "list", "--db", "other.db"]);
    assert!(
        !other.status.success(),
        "other.db does not exist: {}",
        text(&other)
    );
    let store = Store::open(&dir.path().join("from-file.db")).unwrap();
    assert_eq!(store.tokens().unwrap().len(), 1);
}
