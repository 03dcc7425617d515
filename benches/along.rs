//! Facilities along a route over 1,000,000 generated facilities (the data of
//! `benches/nearest.rs`): a 3,500 km route of 50,000 vertices (Beijing → Shanghai →
//! Guangzhou → Chengdu), corridor 5 km, the first 500 facilities along it (the
//! answer's largest page) and all 38,000 of them; and the route's preparation.

use std::hint::black_box;

mod common;

use common::load;
use criterion::{Criterion, criterion_group, criterion_main};
use waystation::index::Atlas;
use waystation::model::{LayerSet, LonLat};
use waystation::route::{self, AlongQuery, Route};

/// 50,000 vertices evenly along three legs between four cities.
fn vertices() -> Vec<LonLat> {
    let stops = [
        (116.40, 39.90),
        (121.47, 31.23),
        (113.26, 23.13),
        (104.07, 30.57),
    ];
    let per_leg = 50_000 / (stops.len() - 1);
    let mut out = Vec::with_capacity(50_000);
    for w in stops.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        for i in 0..per_leg {
            let t = i as f64 / per_leg as f64;
            out.push(LonLat::new(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t).expect("in range"));
        }
    }
    out.push(LonLat::new(104.07, 30.57).expect("in range"));
    out
}

fn bench(c: &mut Criterion) {
    let atlas = Atlas::new(load());
    let parts = vec![vertices()];
    let route = Route::new(&parts).expect("route");
    let q = AlongQuery {
        corridor_m: 5_000.0,
        layers: LayerSet::facilities(),
        amenities: Default::default(),
        depart: None,
        open_on_arrival: false,
        limit: 500,
    };
    eprintln!(
        "route: {} vertices, {:.0} km; {} facilities within 5 km",
        parts[0].len(),
        route.length_m() / 1000.0,
        route::along(
            &atlas,
            &route,
            &AlongQuery {
                limit: usize::MAX,
                ..q.clone()
            }
        )
        .len()
    );
    let mut group = c.benchmark_group("along");
    group.sample_size(20);
    group.bench_function("3500km_50k_vertices_5km", |b| {
        b.iter(|| black_box(route::along(&atlas, &route, &q)))
    });
    let all = AlongQuery {
        limit: usize::MAX,
        ..q.clone()
    };
    group.bench_function("3500km_50k_vertices_5km_all", |b| {
        b.iter(|| black_box(route::along(&atlas, &route, &all)))
    });
    group.bench_function("prepare_50k_vertices", |b| {
        b.iter(|| black_box(Route::new(&parts).expect("route")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
