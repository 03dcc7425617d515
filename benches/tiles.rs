//! Vector-tile benchmarks over 1,000,000 generated facilities: a z=10 tile in a
//! dense city (clustered cells and single points) and a z=6 tile (mostly clusters),
//! all four layers composited, as the web map asks for them.
//!
//! The data is `waystation gen --facilities 1000000 --parks 1000 --seed 42`, in the
//! same temporary directory as the other benchmarks (generated once, shared).

mod common;

use std::hint::black_box;

use common::load;
use criterion::{Criterion, criterion_group, criterion_main};
use waystation::index::Atlas;
use waystation::model::{Layer, LayerSet, LonLat};
use waystation::tiles::{self, TileIndex, tile_of};

fn benches(c: &mut Criterion) {
    let atlas = Atlas::new(load());
    let started = std::time::Instant::now();
    let index = TileIndex::new(&atlas);
    println!(
        "tile index over {} facilities: built in {:.0} ms",
        atlas.data().facilities.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let all: LayerSet = Layer::ALL.into_iter().collect();
    // Shanghai's centre (the densest generated city) and the z=6 tile around it.
    let shanghai = LonLat::new(121.47, 31.23).expect("in range");
    for z in [10u8, 6, 14] {
        let tile = tile_of(shanghai, z);
        let r = tiles::render(&atlas, &index, all, tile);
        println!(
            "tile {}/{}/{}: {} bytes, {} points, {} clusters, {} features represented",
            tile.z,
            tile.x,
            tile.y,
            r.bytes.len(),
            r.points,
            r.clusters,
            r.represented
        );
        c.bench_function(&format!("tile_z{z}_all_layers_1m"), |b| {
            b.iter(|| black_box(tiles::render(&atlas, &index, all, black_box(tile))))
        });
    }
}

criterion_group! {
    name = tiles_benches;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(tiles_benches);
