//! What the benchmarks share: the 1,000,000 generated facilities they run over.

#![allow(dead_code)]

use std::ops::Range;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use waystation::geodata::{self, Change, Dataset, generate::GenOptions};
use waystation::index::Atlas;
use waystation::model::Layer;

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

/// What [`edits`] writes.
pub struct Edits<'a> {
    /// Seed of the draws.
    pub seed: u64,
    /// Where the written points fall (degrees).
    pub lon: Range<f64>,
    pub lat: Range<f64>,
    /// The names given, in turn.
    pub names: &'a [&'a str],
    /// City and district, when the edits carry them.
    pub place: Option<(&'a str, &'a str)>,
}

/// 1,000 writes over `atlas`: even ones create courier stations, odd ones replace
/// (move and rename) a random facility; every point drawn in `spec`'s box.
pub fn edits(atlas: &Atlas, spec: &Edits) -> Vec<Change> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let n = atlas.facility_count() as u32;
    (0..1_000)
        .map(|i| {
            let (id, layer) = if i % 2 == 0 {
                (format!("cs-edit-{i}"), Layer::CourierStation)
            } else {
                let f = atlas.facility(rng.random_range(0..n));
                (f.id().to_owned(), f.layer)
            };
            let (lon, lat) = (
                rng.random_range(spec.lon.clone()),
                rng.random_range(spec.lat.clone()),
            );
            let mut feature = serde_json::json!({"type": "Feature", "id": id,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"id": id, "layer": layer.id(),
                    "name": spec.names[i % spec.names.len()],
                    "source": "bench", "position_accuracy": "surveyed", "synthetic": false}});
            if let Some((city, district)) = spec.place {
                feature["properties"]["city"] = city.into();
                feature["properties"]["district"] = district.into();
            }
            Change::Put {
                layer,
                id,
                feature: feature.to_string().into_bytes(),
            }
        })
        .collect()
}
