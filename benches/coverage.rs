//! Coverage benchmarks on generated data the size of a national deployment:
//! 1,000,000 facilities (15 % driver homes, 70 % rest stations, 15 % fitness stations)
//! and 100,000 parks, from `waystation gen --facilities 1000000 --parks 100000 --seed 42`,
//! written to a temporary directory and loaded the way the server loads it.
//!
//! - `park_coverage_100k_vs_1M`: nearest and radius count per park and layer, the gap
//!   score, and the sort (target ≤ 2 s);
//! - `grid_res7_all`: the H3 grid at resolution 7 over all the data (target ≤ 1 s), and
//!   its GeoJSON;
//! - `siting_p50_100k_x_100k`: 50 sites for the fitness-station layer (5 km), the 100,000
//!   parks as demand weighted by workers and as candidates, existing stations included
//!   (target ≤ 5 s); and the same with no existing station, so every park is open.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use waystation::coverage::grid::{self, GridResolution};
use waystation::coverage::siting::{self, Weight};
use waystation::coverage::{self, FacilityLayer, Order, ParkFilter, Radii, SortKey};
use waystation::geodata::{self, generate::GenOptions};
use waystation::index::{Atlas, sphere};
use waystation::model::Layer;

const FACILITIES: usize = 1_000_000;
const PARKS: usize = 100_000;

fn load() -> Atlas {
    let dir = std::env::temp_dir().join(format!("waystation-coverage-bench-{FACILITIES}-{PARKS}"));
    if !dir.join("park.synthetic.geojson").exists() {
        let opts = GenOptions {
            facilities: FACILITIES,
            parks: PARKS,
            seed: 42,
        };
        geodata::generate::generate(&opts, &dir).expect("generate");
    }
    let t = Instant::now();
    let atlas = Atlas::new(geodata::load_dir(&dir).expect("load"));
    eprintln!(
        "loaded {} facilities and {} parks in {:.1} s",
        atlas.data().facilities.len(),
        atlas.data().parks.len(),
        t.elapsed().as_secs_f64()
    );
    atlas
}

fn benches(c: &mut Criterion) {
    let atlas = load();
    let radii = Radii::defaults();

    let mut g = c.benchmark_group("coverage");
    g.sample_size(10);

    g.bench_function("park_coverage_100k_vs_1M", |b| {
        b.iter(|| {
            let mut rows = coverage::parks(&atlas, &ParkFilter::default(), &radii);
            coverage::sort(&mut rows, &atlas, SortKey::GapScore, Order::Desc);
            black_box(rows)
        })
    });

    let res7 = GridResolution::new(7).expect("7 is offered");
    let courier = FacilityLayer::new(Layer::CourierStation).expect("a facility layer");
    let cells = grid::grid(&atlas, res7, None, courier, usize::MAX).expect("within the limit");
    eprintln!("grid res 7: {} non-empty cells", cells.len());
    g.bench_function("grid_res7_all", |b| {
        b.iter(|| black_box(grid::grid(&atlas, res7, None, courier, usize::MAX)))
    });
    g.bench_function("grid_res7_all_rings", |b| {
        b.iter(|| black_box(cells.iter().map(|c| c.ring().len()).sum::<usize>()))
    });

    let fitness = FacilityLayer::new(Layer::FitnessStation).expect("a facility layer");
    let radius = fitness.default_radius();
    let parks: Vec<u32> = (0..atlas.data().parks.len() as u32).collect();
    let demand = siting::park_demand(&atlas, &parks, Weight::Workers);
    let candidates: Vec<[f64; 3]> = demand.iter().map(|d| d.xyz).collect();
    {
        let covered = siting::covered_by_existing(&atlas, fitness, &demand, radius);
        let sets = siting::CoverSets::build(&demand, &covered, &candidates, radius, u64::MAX)
            .expect("no cap");
        let pairs: usize = sets.sets.iter().map(Vec::len).sum();
        let s = siting::site(&demand, &covered, &candidates, radius, 50, u64::MAX).expect("no cap");
        eprintln!(
            "siting: {} demand, {} candidates, {pairs} open pairs; covered {} → {} of {}",
            demand.len(),
            candidates.len(),
            s.covered_before,
            s.covered_after,
            s.demand_total
        );
        let none =
            siting::CoverSets::build(&demand, &[], &candidates, radius, u64::MAX).expect("no cap");
        let pairs: usize = none.sets.iter().map(Vec::len).sum();
        eprintln!("siting with nothing built: {pairs} pairs");
    }
    g.bench_function("siting_p50_100k_x_100k", |b| {
        b.iter(|| {
            let covered = siting::covered_by_existing(&atlas, fitness, &demand, radius);
            black_box(siting::site(
                &demand,
                &covered,
                &candidates,
                radius,
                50,
                u64::MAX,
            ))
        })
    });
    g.bench_function("siting_p50_100k_x_100k_nothing_built", |b| {
        b.iter(|| {
            black_box(siting::site(
                &demand,
                &[],
                &candidates,
                radius,
                50,
                u64::MAX,
            ))
        })
    });
    g.finish();

    // Sanity: one distance from the bench data, so the figures above mean what they say.
    let p = atlas.park(0);
    let d = atlas
        .layer_nearest(Layer::CourierStation, sphere::unit_vector(p.position))
        .map(|(_, d2)| sphere::chord2_to_metres(d2));
    eprintln!("park 0 ({}) is {d:?} m from a rest station", p.name);
}

criterion_group!(all, benches);
criterion_main!(all);
