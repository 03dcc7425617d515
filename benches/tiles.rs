//! Vector-tile benchmarks over 1,000,000 generated facilities: a z=10 tile in a
//! dense city (clustered cells and single points) and a z=6 tile (mostly clusters),
//! all four layers composited, as the web map asks for them; then the same tiles of
//! a generation 1,000 edits past its base (its index: the base's runs plus the
//! overlay of its delta), and what that overlay costs to build.
//!
//! The data is `waystation gen --facilities 1000000 --parks 1000 --seed 42`, in the
//! same temporary directory as the other benchmarks (generated once, shared).

mod common;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use common::load;
use criterion::{Criterion, criterion_group, criterion_main};
use waystation::index::Atlas;
use waystation::model::{Layer, LayerSet, LonLat};
use waystation::tiles::{self, Frame, TileIndex, tile_of};

fn benches(c: &mut Criterion) {
    let atlas = Arc::new(Atlas::new(load()));
    let started = std::time::Instant::now();
    let index = TileIndex::of(&atlas, Frame::Wgs84);
    println!(
        "tile index over {} facilities: built in {:.0} ms",
        atlas.facility_count(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let edited = Arc::new(
        atlas
            .with_changes(
                // Over Shanghai's and Linyi's part of the country.
                &common::edits(
                    &atlas,
                    &common::Edits {
                        seed: 9,
                        lon: 117.0..122.0,
                        lat: 30.0..36.0,
                        names: &["驿站"],
                        place: None,
                    },
                ),
                Path::new("bench"),
            )
            .expect("valid edits"),
    );
    let started = std::time::Instant::now();
    let overlaid = TileIndex::of(&edited, Frame::Wgs84);
    println!(
        "tile index of a generation {} changes past its base: overlay of {} built in {:.2} ms",
        edited.delta_size(),
        overlaid.overlay_len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let all: LayerSet = Layer::ALL.into_iter().collect();
    // Shanghai's centre (the densest generated city) and the z=6 tile around it.
    let shanghai = LonLat::new(121.47, 31.23).expect("in range");
    for z in [10u8, 6, 14] {
        let tile = tile_of(shanghai, z);
        for (name, atlas, index) in [("", &atlas, &index), ("_edited", &edited, &overlaid)] {
            let r = tiles::render(atlas, index, all, tile);
            println!(
                "tile{name} {}/{}/{}: {} bytes, {} points, {} clusters, {} features represented",
                tile.z,
                tile.x,
                tile.y,
                r.bytes.len(),
                r.points,
                r.clusters,
                r.represented
            );
            c.bench_function(&format!("tile_z{z}_all_layers_1m{name}"), |b| {
                b.iter(|| black_box(tiles::render(atlas, index, all, black_box(tile))))
            });
        }
    }
}

criterion_group! {
    name = tiles_benches;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(tiles_benches);
