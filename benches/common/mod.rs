//! What the benchmarks share: the 1,000,000 generated facilities they run over.

#![allow(dead_code)]

use waystation::geodata::{self, Dataset, generate::GenOptions};

/// Facilities in the benchmarks' data set.
pub const FACILITIES: usize = 1_000_000;

/// `waystation gen --facilities 1000000 --parks 1000 --seed 42`, written once to a
/// temporary directory shared by every benchmark, loaded the way the server loads it.
pub fn load() -> Dataset {
    let dir = std::env::temp_dir().join(format!("waystation-bench-{FACILITIES}"));
    if !dir.join("courier_station.synthetic.geojson").exists() {
        geodata::generate::generate(
            &GenOptions {
                facilities: FACILITIES,
                parks: 1_000,
                seed: 42,
            },
            &dir,
        )
        .expect("generate");
    }
    geodata::load_dir(&dir).expect("load")
}
