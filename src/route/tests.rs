use proptest::prelude::*;

use super::*;
use crate::coverage::test_data;
use crate::model::Layer;

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

fn query(corridor_m: f64) -> AlongQuery {
    AlongQuery {
        corridor_m,
        layers: LayerSet::facilities(),
        amenities: AmenitySet::default(),
        depart: None,
        open_on_arrival: false,
        limit: 10_000,
    }
}

/// The distance to an arc, checked against a dense sampling of the arc itself
/// (an independent measurement: points along the great circle by slerp).
#[test]
fn distance_to_an_arc_matches_sampling() {
    let cases = [
        (ll(116.0, 39.9), ll(116.5, 40.1), ll(116.2, 40.3)),
        (ll(179.9, 0.0), ll(-179.9, 0.5), ll(180.0, 0.4)),
        (ll(0.0, 89.9), ll(180.0, 89.9), ll(90.0, 89.95)),
        (ll(10.0, 10.0), ll(11.0, 10.0), ll(12.5, 10.2)), // beyond the end
        (ll(10.0, 10.0), ll(10.0, 10.0), ll(10.1, 10.1)), // zero length
    ];
    for (a, b, p) in cases {
        let (av, bv, pv) = (
            sphere::unit_vector(a),
            sphere::unit_vector(b),
            sphere::unit_vector(p),
        );
        let (off, along, _) = to_segment(&pv, &av, &bv);
        let theta = angle(&av, &bv);
        let mut best = (f64::INFINITY, 0.0);
        for k in 0..=100_000 {
            let t = k as f64 / 100_000.0;
            // slerp
            let (wa, wb) = if theta < 1e-12 {
                (1.0, 0.0)
            } else {
                (
                    ((1.0 - t) * theta).sin() / theta.sin(),
                    (t * theta).sin() / theta.sin(),
                )
            };
            let q = [
                wa * av[0] + wb * bv[0],
                wa * av[1] + wb * bv[1],
                wa * av[2] + wb * bv[2],
            ];
            let d = angle(&pv, &q);
            if d < best.0 {
                best = (d, t * theta);
            }
        }
        let r = sphere::EARTH_RADIUS_M;
        assert!(
            (off - best.0).abs() * r < 0.5,
            "{a:?} {b:?} {p:?}: {} vs {}",
            off * r,
            best.0 * r
        );
        assert!(
            (along - best.1).abs() * r < theta * r / 100_000.0 + 1.0,
            "along {} vs {}",
            along * r,
            best.1 * r
        );
    }
}

#[test]
fn sides_and_order_along_a_road() {
    // Eastward along the equator: north is left.
    let route = Route::new(&[vec![ll(0.0, 0.0), ll(1.0, 0.0), ll(2.0, 0.0)]]).unwrap();
    let facilities = vec![
        test_data::facility(0, Layer::DriverHome, ll(1.5, 0.01)),
        test_data::facility(1, Layer::DriverHome, ll(0.5, -0.01)),
        test_data::facility(2, Layer::DriverHome, ll(0.5, 0.5)),
    ];
    let atlas = Atlas::new(crate::geodata::Dataset::from_parts(
        facilities,
        Vec::new(),
        crate::model::hours::Schedules::new(crate::model::hours::Calendar::bundled()),
    ));
    let hits = along(&atlas, &route, &query(5_000.0));
    let ids: Vec<u32> = hits.iter().map(|h| h.facility).collect();
    assert_eq!(ids, [1, 0], "the one 55 km off is out, the others in order");
    assert_eq!(hits[0].side, Some(Side::Right));
    assert_eq!(hits[1].side, Some(Side::Left));
    assert!(
        (hits[0].offset_m - 1112.0).abs() < 2.0,
        "{}",
        hits[0].offset_m
    );
    assert!(
        (hits[0].along_m - 55_597.5).abs() < 5.0,
        "{}",
        hits[0].along_m
    );
    // Arrival times and the limit.
    let depart = "2026-10-03T09:00:00+08:00"
        .parse::<DateTime<Utc>>()
        .unwrap();
    let q = AlongQuery {
        depart: Some((depart, 60.0)),
        limit: 1,
        ..query(5_000.0)
    };
    let hits = along(&atlas, &route, &q);
    assert_eq!(hits.len(), 1);
    let minutes = (hits[0].eta.unwrap() - depart).num_seconds() as f64 / 60.0;
    assert!((minutes - 55.6).abs() < 0.1, "{minutes}");
    // Limits.
    assert!(Route::new(&[vec![ll(0.0, 0.0)]]).is_err());
    assert!(Route::new(&[vec![ll(0.0, 0.0), ll(179.0, 0.0), ll(0.0, 1.0)]]).is_err());
    let many = vec![ll(0.0, 0.0); MAX_VERTICES + 1];
    assert!(Route::new(&[many]).is_err());
}

/// Routes: a few vertices through the test data's cluster, or near a pole, or
/// across the antimeridian; sometimes two parts.
fn routes() -> impl Strategy<Value = Vec<Vec<LonLat>>> {
    let cluster = (115.9..116.4f64, 39.7..40.1f64);
    let pole = (-180.0..=180.0f64, 87.0..=90.0f64);
    let dateline = (
        prop_oneof![179.5..=180.0f64, -180.0..=-179.5f64],
        -1.0..=1.0f64,
    );
    let anywhere = (-180.0..=180.0f64, -60.0..=60.0f64);
    let vertex = prop_oneof![6 => cluster, 1 => pole, 1 => dateline, 1 => anywhere];
    let part = prop::collection::vec(vertex, 2..12).prop_map(|v| {
        v.into_iter()
            .map(|(lon, lat)| LonLat::new(lon, lat).unwrap())
            .collect::<Vec<_>>()
    });
    // Or a road through the cluster with many short segments (many runs).
    let road = (20usize..200, any::<u64>()).prop_map(|(n, seed)| {
        let mut x = seed;
        let mut jitter = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 1000) as f64 / 1000.0 - 0.5
        };
        vec![
            (0..n)
                .map(|i| {
                    let t = i as f64 / (n - 1) as f64;
                    LonLat::new(
                        115.9 + 0.5 * t + 0.01 * jitter(),
                        39.7 + 0.4 * t + 0.01 * jitter(),
                    )
                    .unwrap()
                })
                .collect::<Vec<_>>(),
        ]
    });
    prop_oneof![2 => prop::collection::vec(part, 1..3), 1 => road]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The corridor search finds exactly what measuring every facility against every
    /// segment finds, in the same order, at the same distances.
    #[test]
    fn along_equals_brute_force(
        atlas in test_data::atlas(),
        parts in routes(),
        corridor in prop_oneof![100.0..3_000.0f64, 3_000.0..50_000.0f64],
        limit in prop_oneof![1usize..8, Just(10_000usize)],
    ) {
        // Any length: the limits are the API's, not the geometry's.
        let route = Route::build(&parts);
        let q = AlongQuery { limit, ..query(corridor) };
        let got = along(&atlas, &route, &q);
        let want = along_by_scan(&atlas, &route, &q);
        prop_assert_eq!(got.len(), want.len(), "{:?}\n{:?}", got, want);
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(g.facility, w.facility);
            prop_assert!((g.offset_m - w.offset_m).abs() < 1e-6);
            prop_assert!((g.along_m - w.along_m).abs() < 1e-6);
            prop_assert_eq!(g.side, w.side);
        }
        // And the brute force agrees with haversine at the vertices: a facility
        // within the corridor of a vertex is found.
        let want = along_by_scan(&atlas, &route, &query(corridor));
        for (i, f) in atlas.data().facilities.iter().enumerate() {
            let near_vertex = parts.iter().flatten().any(|v| sphere::haversine_m(*v, f.position) < corridor * 0.999);
            if near_vertex {
                prop_assert!(want.iter().any(|h| h.facility == i as u32));
            }
        }
    }
}
