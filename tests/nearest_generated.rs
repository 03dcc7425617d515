//! Nearest over the bundled data and over a generated 100,000-facility national
//! set equals a brute-force geodesic scan, for random points and filters.

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use waystation::geodata::{self, generate::GenOptions};
use waystation::index::sphere::haversine_m;
use waystation::index::{Atlas, NearestQuery};
use waystation::model::{Amenity, AmenitySet, Layer, LayerSet, LonLat};

/// The bundled `geodata/`: reported places and the synthetic demo set.
#[test]
fn nearest_equals_brute_force_on_bundled_data() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata");
    let atlas = Atlas::new(geodata::load_dir(std::path::Path::new(dir)).unwrap());
    agrees_with_brute_force(&atlas, 300);
}

/// A generated national set of 100,000 facilities.
#[test]
fn nearest_equals_brute_force_on_100k() {
    let dir = tempfile::tempdir().unwrap();
    geodata::generate::generate(
        &GenOptions {
            facilities: 100_000,
            parks: 1_000,
            seed: 7,
        },
        dir.path(),
    )
    .unwrap();
    let atlas = Atlas::new(geodata::load_dir(dir.path()).unwrap());
    assert_eq!(atlas.data().facilities.len(), 100_000);
    agrees_with_brute_force(&atlas, 150);
}

fn agrees_with_brute_force(atlas: &Atlas, rounds: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for round in 0..rounds {
        let origin =
            LonLat::new(rng.random_range(73.0..135.0), rng.random_range(18.0..54.0)).unwrap();
        let layers: LayerSet = Layer::FACILITIES
            .into_iter()
            .filter(|_| rng.random_bool(0.6))
            .collect();
        let layers = if layers.is_empty() {
            LayerSet::facilities()
        } else {
            layers
        };
        let amenities: AmenitySet = (0..rng.random_range(0..3))
            .map(|_| Amenity::ALL[rng.random_range(0..Amenity::ALL.len())])
            .collect();
        let q = NearestQuery {
            origin,
            k: rng.random_range(1..=20),
            layers,
            amenities,
            at: Utc
                .timestamp_opt(1_780_000_000 + rng.random_range(0..10_000_000), 0)
                .unwrap(),
            open_now: rng.random_bool(0.3),
            max_distance_m: rng
                .random_bool(0.3)
                .then(|| rng.random_range(1_000.0..300_000.0)),
        };
        let expected = atlas.nearest_by_scan(&q);
        let got = atlas.nearest(&q);
        assert_eq!(got.len(), expected.len(), "round {round}: {q:?}");
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                (g.distance_m - e.distance_m).abs() < 1e-6,
                "round {round}: {} vs {}",
                g.distance_m,
                e.distance_m
            );
        }
        // The ids: distinct facilities that pass the filters, each at the distance
        // given for it (so tied facilities may come in either order).
        let mut seen = HashSet::new();
        for g in &got {
            let f = atlas.facility(g.facility);
            let id = f.id();
            assert!(seen.insert(g.facility), "round {round}: {id} twice");
            assert!(q.layers.contains(f.layer), "round {round}: {id} layer");
            assert!(
                f.amenities.contains_all(q.amenities),
                "round {round}: {id} amenities"
            );
            let open = f
                .hours
                .and_then(|h| atlas.data().schedules.is_open(h, q.at));
            assert_eq!(g.open, open, "round {round}: {id} open");
            assert!(
                !q.open_now || open == Some(true),
                "round {round}: {id} closed"
            );
            let d = haversine_m(q.origin, f.position);
            assert!(
                (g.distance_m - d).abs() < 1e-6,
                "round {round}: {id} is at {d} m, not {} m",
                g.distance_m
            );
            assert!(
                q.max_distance_m.is_none_or(|m| d <= m),
                "round {round}: {id} beyond the limit"
            );
        }
    }
}
