//! Search benchmarks over 1,000,000 generated facilities: building the index, and
//! typical queries (two and four Chinese characters, pinyin, initials, English,
//! no match), each without a point (id order) and from random points in China
//! (distance order).
//!
//! The data is `waystation gen --facilities 1000000 --seed 42`, in the same
//! temporary directory as `benches/nearest.rs` (generated once, shared).
//!
//! Then the same queries on a generation with 1,000 edits in its delta (500
//! facilities created, 500 replaced: moved and renamed), which shares the base's
//! index and adds an overlay: what the first search after an edit costs, and what
//! the delta costs every query.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::load;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use waystation::geodata::Dataset;
use waystation::index::Atlas;
use waystation::model::{LayerSet, LonLat};
use waystation::search::{SearchIndex, SearchQuery};

/// Random query points around where the facilities are (China's bbox).
fn points(n: usize) -> Vec<LonLat> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..n)
        .map(|_| {
            LonLat::new(rng.random_range(100.0..122.0), rng.random_range(22.0..42.0))
                .expect("in range")
        })
        .collect()
}

/// (label, query): what people type.
const QUERIES: &[(&str, &str)] = &[
    ("zh2_linyi", "临沂"),
    ("zh2_yizhan", "驿站"),
    ("zh4_gonghuiyizhan", "工会驿站"),
    ("zh4_linyiyizhan_scattered", "临沂驿站"),
    ("pinyin_linyi", "linyi"),
    ("pinyin_yizhan", "yizhan"),
    ("initials_ly", "ly"),
    ("initials_gh", "gh"),
    ("english_driver_home", "driver home"),
    ("nomatch_zh", "火星基地"),
    ("nomatch_latin", "xyzzy"),
];

fn benches(c: &mut Criterion) {
    let data = load();
    let facilities = data.facilities.clone();
    let schedules = data.schedules.clone();
    let atlas = Atlas::new(data);

    let started = Instant::now();
    let index = atlas.search_index();
    let first_build = started.elapsed();
    let stats = index.stats();
    println!(
        "search index over {} facilities: first build {:.0} ms; {} postings, {} bigrams, \
         {} English words, {} places, about {} MB",
        atlas.data().facilities.len(),
        first_build.as_secs_f64() * 1e3,
        stats.postings,
        stats.bigrams,
        stats.words,
        stats.places,
        stats.heap_bytes >> 20,
    );
    // How many each query finds at most, for the record.
    for (label, text) in QUERIES {
        let q = SearchQuery {
            text,
            origin: None,
            layers: LayerSet::facilities(),
            limit: 100,
        };
        let r = index.search(&atlas, &q);
        println!(
            "{label}: {} hits (first kind {:?}), {} places",
            r.hits.len(),
            r.hits.first().map(|h| h.kind),
            r.places.len()
        );
    }

    let mut g = c.benchmark_group("search_build");
    g.sample_size(10);
    let dataset = Dataset::from_parts(facilities, Vec::new(), schedules);
    g.bench_function("index_1M", |b| {
        b.iter_batched(
            || (),
            |()| black_box(SearchIndex::new(&dataset)),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let pts = points(4096);
    let mut g = c.benchmark_group("search_1M");
    queries(&mut g, index, &atlas, &pts);
    g.finish();

    // A generation with 1,000 edits: the first search builds its overlay only.
    let edited = atlas
        .with_changes(
            &common::edits(
                &atlas,
                &common::Edits {
                    seed: 3,
                    lon: 100.0..122.0,
                    lat: 22.0..42.0,
                    names: &[
                        "临沂工会驿站",
                        "兰山司机之家",
                        "上海健身驿站",
                        "物流园司机之家",
                        "驿站",
                    ],
                    place: Some(("临沂市", "兰山区")),
                },
            ),
            std::path::Path::new("bench"),
        )
        .expect("valid edits");
    let started = Instant::now();
    let delta_index = edited.search_index();
    println!(
        "a generation with {} changes in its delta: first search builds its overlay in {:.2} ms",
        edited.delta_size(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let mut g = c.benchmark_group("search_1M_delta1000");
    g.warm_up_time(std::time::Duration::from_secs(1));
    g.measurement_time(std::time::Duration::from_secs(3));
    queries(&mut g, delta_index, &edited, &pts);
    g.finish();
}

/// Every query of [`QUERIES`] on `index` of `atlas`: without a point (id order), and
/// from the points `pts` in turn (distance order).
fn queries(g: &mut BenchmarkGroup<WallTime>, index: &SearchIndex, atlas: &Atlas, pts: &[LonLat]) {
    for (label, text) in QUERIES {
        g.bench_function(format!("{label}/by_id"), |b| {
            let q = SearchQuery {
                text,
                origin: None,
                layers: LayerSet::facilities(),
                limit: 20,
            };
            b.iter(|| black_box(index.search(atlas, &q)))
        });
        let mut i = 0;
        g.bench_function(format!("{label}/nearest"), |b| {
            b.iter(|| {
                i = (i + 1) % pts.len();
                let q = SearchQuery {
                    text,
                    origin: Some(pts[i]),
                    layers: LayerSet::facilities(),
                    limit: 20,
                };
                black_box(index.search(atlas, &q))
            })
        });
    }
}

criterion_group!(all, benches);
criterion_main!(all);
