//! Library benchmarks over 1,000,000 generated facilities: bulk load, nearest
//! (k = 1 / 5 / 20, and with a selective amenity filter), bbox, and GeoJSON
//! serialisation of a 5-feature answer.
//!
//! The data is `waystation gen --facilities 1000000 --seed 42`, written to a
//! temporary directory and loaded the way the server loads it.

use std::hint::black_box;

use chrono::Utc;
mod common;

use common::load;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use waystation::geodata::Dataset;
use waystation::http::geojson;
use waystation::index::{Atlas, BBox, NearestQuery};
use waystation::model::{Amenity, AmenitySet, LayerSet, LonLat};

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

fn query(origin: LonLat, k: usize, amenities: AmenitySet) -> NearestQuery {
    NearestQuery {
        origin,
        k,
        layers: LayerSet::facilities(),
        amenities,
        at: Utc::now(),
        open_now: false,
        max_distance_m: None,
    }
}

/// The amenity offered by the fewest facilities (the most selective filter).
fn rarest(data: &Dataset) -> (Amenity, f64) {
    let mut counts = [0usize; 32];
    for f in &data.facilities {
        for a in f.amenities.iter() {
            counts[a as usize] += 1;
        }
    }
    let (a, n) = Amenity::ALL
        .iter()
        .map(|a| (*a, counts[*a as usize]))
        .filter(|(_, n)| *n > 0)
        .min_by_key(|(_, n)| *n)
        .expect("some amenity");
    (a, n as f64 / data.facilities.len() as f64)
}

fn benches(c: &mut Criterion) {
    let data = load();
    let facilities = data.facilities.clone();
    let schedules = data.schedules.clone();
    let (rare, share) = rarest(&data);
    let atlas = Atlas::new(data);
    let pts = points(4096);

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("bulk_load_1M", |b| {
        b.iter_batched(
            || Dataset::from_parts(facilities.clone(), Vec::new(), schedules.clone()),
            |d| black_box(Atlas::new(d)),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("nearest_1M");
    for k in [1, 5, 20] {
        let mut i = 0;
        g.bench_function(format!("k{k}"), |b| {
            b.iter(|| {
                i = (i + 1) % pts.len();
                black_box(atlas.nearest(&query(pts[i], k, AmenitySet::default())))
            })
        });
    }
    let wanted: AmenitySet = [rare].into_iter().collect();
    let mut i = 0;
    g.bench_function(format!("k5_amenity_{rare}_{:.1}pct", share * 100.0), |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            black_box(atlas.nearest(&query(pts[i], 5, wanted)))
        })
    });
    let mut i = 0;
    g.bench_function("k5_shower_truck_parking", |b| {
        let wanted: AmenitySet = [Amenity::Shower, Amenity::TruckParking]
            .into_iter()
            .collect();
        b.iter(|| {
            i = (i + 1) % pts.len();
            black_box(atlas.nearest(&query(pts[i], 5, wanted)))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("bbox_1M");
    let mut i = 0;
    g.bench_function("courier_station_0.2deg", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            let p = pts[i];
            let bbox = BBox {
                min_lon: p.lon(),
                min_lat: p.lat(),
                max_lon: p.lon() + 0.2,
                max_lat: p.lat() + 0.2,
            };
            black_box(atlas.in_bbox(waystation::model::Layer::CourierStation, &bbox))
        })
    });
    g.finish();

    let shanghai = LonLat::new(121.47, 31.23).expect("Shanghai");
    let hits = atlas.nearest(&query(shanghai, 5, AmenitySet::default()));
    c.bench_function("geojson_5_features", |b| {
        b.iter(|| {
            let features: Vec<_> = hits
                .iter()
                .map(|h| geojson::hit(&atlas, shanghai, h))
                .collect();
            black_box(geojson::collection(&features, features.len()).expect("serialise"))
        })
    });
}

criterion_group!(all, benches);
criterion_main!(all);
