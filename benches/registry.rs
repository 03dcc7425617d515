//! Registry benchmarks, each run once and printed (they take seconds, not
//! microseconds, so Criterion's repetitions would add nothing but time):
//!
//! 1. import: a generated 100,000-row xlsx as unions keep it (Chinese headers, GCJ-02
//!    coordinates, Chinese hours and amenities) into a new database: read, convert,
//!    match, validate, apply in one transaction. Then the same file again (all
//!    `unchanged`).
//! 2. publish: over 1,000,000 generated facilities, the time from a committed edit to
//!    the new generation being ready (`Atlas::with_changes`: a new delta over the
//!    shared base), and the background rebuild that folds a delta into a new base
//!    (`Atlas::rebuilt`).
//!
//! `cargo bench --bench registry`; `WS_IMPORT_ROWS` and `WS_FACILITIES` change the sizes.

use std::sync::Arc;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use waystation::geodata::{self, Change, generate::GenOptions};
use waystation::import::{Format, InputCrs, Options};
use waystation::index::Atlas;
use waystation::model::Layer;
use waystation::registry::{self, ImportRequest, Published, Registry};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ledger(rows: usize) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let headers = [
        "站点名称",
        "地址",
        "城市",
        "经度",
        "纬度",
        "开放时间",
        "服务项目",
        "联系电话",
    ];
    let hours = [
        "24小时",
        "每天 8:00-20:00",
        "周一至周五 9:00-18:00",
        "8:00-12:00 14:00-18:00",
    ];
    let amenities = [
        "热水、微波炉、充电",
        "饮水，卫生间，空调",
        "淋浴 洗衣 停车",
        "药箱、座椅",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..rows {
        let r = i as u32 + 1;
        let (lon, lat) = (rng.random_range(100.0..122.0), rng.random_range(22.0..42.0));
        let (glon, glat) = coordtransform::wgs84_to_gcj02(lon, lat);
        sheet.write_string(r, 0, format!("职工驿站{i:06}")).unwrap();
        sheet
            .write_string(r, 1, format!("某区某路{}号", i % 997))
            .unwrap();
        sheet.write_string(r, 2, "测试市").unwrap();
        sheet.write_number(r, 3, glon).unwrap();
        sheet.write_number(r, 4, glat).unwrap();
        sheet.write_string(r, 5, hours[i % hours.len()]).unwrap();
        sheet
            .write_string(r, 6, amenities[i % amenities.len()])
            .unwrap();
        sheet.write_string(r, 7, format!("0539-{:07}", i)).unwrap();
    }
    book.save_to_buffer().unwrap()
}

fn import_bench() {
    let rows = size("WS_IMPORT_ROWS", 100_000);
    let started = Instant::now();
    let bytes = ledger(rows);
    println!(
        "import: wrote a {rows}-row xlsx ({:.1} MB) in {:.1} s",
        bytes.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    let (store, data, _, generation) = registry::open(&dir.path().join("bench.db"), &seed).unwrap();
    let published = Published::default();
    published.store(Some(Arc::new(Atlas::new(data))));
    let registry = Registry::new(store, published, generation, &seed);
    for round in ["first", "again"] {
        let started = Instant::now();
        let request = ImportRequest {
            who: "bench",
            bytes: &bytes,
            format: Format::Xlsx,
            file_name: Some("bench.xlsx"),
            options: Options {
                layer: Layer::CourierStation,
                crs: InputCrs::Gcj02,
                source: Some("bench".into()),
                sheet: None,
                map: Vec::new(),
                today: registry::today(),
            },
            crs_label: "gcj02",
            dry_run: false,
            city: None,
        };
        let (summary, _) = registry.import(&request, &mut |_, _| {}).unwrap();
        println!(
            "import ({round}): {rows} rows in {:.2} s: {} accepted, {} unchanged, {} rejected",
            started.elapsed().as_secs_f64(),
            summary.accepted,
            summary.unchanged,
            summary.rejected
        );
        // The second round matches rows against the published generation.
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        while registry.atlas().unwrap().facility_count() < rows && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn publish_bench() {
    let n = size("WS_FACILITIES", 1_000_000);
    let dir = std::env::temp_dir().join(format!("waystation-bench-{n}"));
    if !dir.join("courier_station.synthetic.geojson").exists() {
        geodata::generate::generate(
            &GenOptions {
                facilities: n,
                parks: 1_000,
                seed: 42,
            },
            &dir,
        )
        .unwrap();
    }
    let data = geodata::load_dir(&dir).unwrap();
    let atlas = Atlas::new(data);
    let feature = serde_json::json!({"type":"Feature","id":"cs-bench","geometry":{"type":"Point","coordinates":[116.4,39.9]},
        "properties":{"id":"cs-bench","layer":"courier_station","name":"基准驿站","source":"bench","position_accuracy":"surveyed","synthetic":false}});
    let change = [Change::Put {
        layer: Layer::CourierStation,
        id: "cs-bench".into(),
        feature: feature.to_string().into_bytes(),
    }];
    for round in 0..3 {
        // What the publisher does for each batch of edits: a new delta over the base.
        let started = Instant::now();
        let next = atlas
            .with_changes(&change, std::path::Path::new("bench"))
            .unwrap();
        let published = started.elapsed().as_secs_f64();
        // What the background rebuild does once the delta is large or the writes
        // pause: fold the delta into a new base (one core).
        let started = Instant::now();
        let rebuilt = next.rebuilt();
        println!(
            "publish ({round}): {n} facilities: a new delta {:.2} ms; folding it into a new base {:.2} s",
            published * 1e3,
            started.elapsed().as_secs_f64()
        );
        drop((next, rebuilt));
    }
    // What a delta costs the readers: nearest (k = 5, uniform points over China)
    // on the bare base and on a generation with 1,200 written features (a minute
    // of 20 edits/s) beside it.
    let puts: Vec<Change> = (0..1_200)
        .map(|i| {
            let id = format!("cs-bench-{i}");
            let (lon, lat) = (100.0 + (i % 40) as f64 * 0.5, 25.0 + (i / 40) as f64 * 0.5);
            let feature = serde_json::json!({"type":"Feature","id":id,"geometry":{"type":"Point","coordinates":[lon,lat]},
                "properties":{"id":id,"layer":"courier_station","name":"基准驿站","source":"bench","position_accuracy":"surveyed","synthetic":false}});
            Change::Put {
                layer: Layer::CourierStation,
                id,
                feature: feature.to_string().into_bytes(),
            }
        })
        .collect();
    let edited = atlas
        .with_changes(&puts, std::path::Path::new("bench"))
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let queries: Vec<waystation::index::NearestQuery> = (0..200_000)
        .map(|_| waystation::index::NearestQuery {
            origin: waystation::model::LonLat::new(
                rng.random_range(75.0..130.0),
                rng.random_range(20.0..50.0),
            )
            .unwrap(),
            k: 5,
            layers: waystation::model::LayerSet::facilities(),
            amenities: Default::default(),
            at: chrono::Utc::now(),
            open_now: false,
            max_distance_m: None,
        })
        .collect();
    for (label, a) in [("base", &atlas), ("base + 1,200 in a delta", &edited)] {
        let started = Instant::now();
        let found: usize = queries.iter().map(|q| a.nearest(q).len()).sum();
        println!(
            "nearest on the {label}: {:.2} µs a query ({found} hits)",
            started.elapsed().as_secs_f64() * 1e6 / queries.len() as f64
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing useful.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| "import".contains(o)) {
        import_bench();
    }
    if only.as_deref().is_none_or(|o| "publish".contains(o)) {
        publish_bench();
    }
}
