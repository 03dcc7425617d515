//! The index against brute force: random datasets (poles and the antimeridian
//! included) and random queries must give exactly the brute-force geodesic answer.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::model::Amenity;
use crate::model::hours::{Calendar, HoursId, Schedules};

const HOURS: [&str; 3] = ["24/7", "Mo-Fr 08:00-20:00; PH off", "Sa,Su 10:00-16:00"];

/// A test facility (see `coverage::test_data`) with the given amenities and hours.
fn facility(
    i: usize,
    layer: Layer,
    p: LonLat,
    amenities: AmenitySet,
    hours: Option<HoursId>,
) -> Facility {
    Facility {
        amenities,
        hours,
        ..crate::coverage::test_data::facility(i, layer, p)
    }
}

/// Positions that stress the geometry: anywhere, near the poles, near ±180°.
fn position() -> impl Strategy<Value = LonLat> {
    prop_oneof![
        (-180.0..=180.0f64, -90.0..=90.0f64),
        (-180.0..=180.0f64, 85.0..=90.0f64),
        (-180.0..=180.0f64, -90.0..=-85.0f64),
        (
            prop_oneof![175.0..=180.0f64, -180.0..=-175.0f64],
            -60.0..=60.0f64
        ),
        (73.0..=135.0f64, 18.0..=54.0f64),
    ]
    .prop_map(|(lon, lat)| LonLat::new(lon, lat).unwrap())
}

fn dataset() -> impl Strategy<Value = Atlas> {
    let attributes = || (0..3usize, 0u32..(1 << 5), prop::option::of(0..3usize));
    (
        prop::collection::vec((position(), attributes()), 0..300),
        // Facilities at the place of another one (so at the same distance from
        // anywhere), with their own layer, amenities and hours.
        prop::collection::vec((any::<prop::sample::Index>(), attributes()), 0..40),
    )
        .prop_map(|(mut raw, dups)| {
            if !raw.is_empty() {
                for (at, a) in dups {
                    raw.push((raw[at.index(raw.len())].0, a));
                }
            }
            let mut schedules = Schedules::new(Calendar::bundled());
            let ids: Vec<HoursId> = HOURS.iter().map(|h| schedules.intern(h).unwrap()).collect();
            let facilities = raw
                .into_iter()
                .map(|(p, (layer, bits, hours))| (p, layer, bits, hours))
                .enumerate()
                .map(|(i, (p, layer, bits, hours))| {
                    let amenities = Amenity::ALL[..5]
                        .iter()
                        .enumerate()
                        .filter(|(b, _)| bits & (1 << b) != 0)
                        .map(|(_, a)| *a)
                        .collect();
                    facility(
                        i,
                        Layer::FACILITIES[layer],
                        p,
                        amenities,
                        hours.map(|h| ids[h]),
                    )
                })
                .collect();
            Atlas::new(Dataset::from_parts(facilities, Vec::new(), schedules))
        })
}

fn query() -> impl Strategy<Value = NearestQuery> {
    (
        position(),
        1..25usize,
        1u8..8,
        0u32..(1 << 5),
        any::<bool>(),
        prop::option::of(1.0..5_000_000.0f64),
        0i64..(3 * 365 * 86_400),
    )
        .prop_map(
            |(origin, k, layer_bits, amenity_bits, open_now, max, secs)| NearestQuery {
                origin,
                k,
                layers: Layer::FACILITIES
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| layer_bits & (1 << i) != 0)
                    .map(|(_, l)| l)
                    .collect(),
                amenities: Amenity::ALL[..5]
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| amenity_bits & (1 << b) != 0 && *b < 2)
                    .map(|(_, a)| *a)
                    .collect(),
                at: Utc.timestamp_opt(1_704_067_200 + secs, 0).unwrap(),
                open_now,
                max_distance_m: max,
            },
        )
}

/// `hits` is a correct answer to `q`: the same distances in the same order as
/// `expected` (the brute force), and every hit a distinct facility that passes the
/// query's filters, lies at the distance reported for it and carries its own
/// open-now state. Among facilities at equal distance any of them, in any order,
/// passes; nothing else does.
pub(crate) fn assert_same(atlas: &Atlas, q: &NearestQuery, hits: &[Hit], expected: &[Hit]) {
    let max = q.max_distance_m;
    // A point right at the distance limit may fall either side of it by rounding.
    let near_limit = |d: f64| max.is_some_and(|m| (d - m).abs() < 1e-6 * m.max(1.0));
    // Within a few thousand km of the antipode both formulas (asin of the chord,
    // haversine) lose digits: metres from half a chord near 1 are ill-conditioned.
    let close = |a: f64, b: f64| (a - b).abs() < if a.max(b) > 19_000_000.0 { 1e-2 } else { 1e-6 };
    let pairs = |hits: &[Hit]| -> Vec<(u32, f64)> {
        hits.iter().map(|h| (h.facility, h.distance_m)).collect()
    };
    let (got, want) = (pairs(hits), pairs(expected));
    if got.len() != want.len() {
        let extra = if got.len() > want.len() {
            &got[want.len()..]
        } else {
            &want[got.len()..]
        };
        assert!(
            extra.iter().all(|(_, d)| near_limit(*d)),
            "got {got:?}\nexpected {want:?}"
        );
    }
    for (g, e) in got.iter().zip(&want) {
        assert!(
            close(g.1, e.1),
            "distance {} vs {}\ngot {got:?}\nexpected {want:?}",
            g.1,
            e.1
        );
    }
    let mut seen = std::collections::HashSet::new();
    for h in hits {
        let f = atlas.facility(h.facility);
        let id = f.id();
        assert!(seen.insert(h.facility), "{id} twice\ngot {got:?}");
        assert!(q.layers.contains(f.layer), "{id}: layer {:?}", f.layer);
        assert!(f.amenities.contains_all(q.amenities), "{id}: amenities");
        let open = f.hours.and_then(|h| atlas.schedules().is_open(h, q.at));
        assert_eq!(h.open, open, "{id}: open");
        assert!(!q.open_now || open == Some(true), "{id} is not open");
        let d = sphere::haversine_m(q.origin, f.position);
        assert!(
            close(h.distance_m, d),
            "{id} is at {d} m, not {} m\ngot {got:?}\nexpected {want:?}",
            h.distance_m
        );
        assert!(
            max.is_none_or(|m| d <= m || near_limit(d)),
            "{id} at {d} m is beyond {max:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Nearest equals brute force for random data and queries, all filters included.
    #[test]
    fn nearest_equals_brute_force(atlas in dataset(), queries in prop::collection::vec(query(), 1..8)) {
        for q in &queries {
            assert_same(&atlas, q, &atlas.nearest(q), &atlas.nearest_by_scan(q));
        }
    }

    /// Bbox queries return exactly the points inside the box, antimeridian boxes included.
    #[test]
    fn bbox_equals_brute_force(
        atlas in dataset(),
        lons in (-180.0..=180.0f64, -180.0..=180.0f64),
        lats in (-90.0..=90.0f64, -90.0..=90.0f64),
    ) {
        let bbox = BBox { min_lon: lons.0, max_lon: lons.1, min_lat: lats.0.min(lats.1), max_lat: lats.0.max(lats.1) };
        for layer in Layer::FACILITIES {
            let expected: Vec<u32> = atlas.data().facilities.iter().enumerate()
                .filter(|(_, f)| f.layer == layer && bbox.contains(f.position))
                .map(|(i, _)| i as u32)
                .collect();
            prop_assert_eq!(atlas.in_bbox(layer, &bbox), expected);
        }
    }
}

/// Planar nearest on lon/lat is wrong at 40°N; ours is not.
#[test]
fn longitude_is_not_latitude() {
    let mut s = Schedules::new(Calendar::bundled());
    let _ = s.intern("24/7");
    let origin = LonLat::new(116.0, 40.0).unwrap();
    // 0.9° east is ~76.7 km; 0.8° north is ~89 km. Planar distance picks the north one.
    let east = facility(
        0,
        Layer::DriverHome,
        LonLat::new(116.9, 40.0).unwrap(),
        AmenitySet::default(),
        None,
    );
    let north = facility(
        1,
        Layer::DriverHome,
        LonLat::new(116.0, 40.8).unwrap(),
        AmenitySet::default(),
        None,
    );
    let atlas = Atlas::new(Dataset::from_parts(vec![north, east], vec![], s));
    let hits = atlas.nearest(&NearestQuery {
        origin,
        k: 1,
        layers: LayerSet::facilities(),
        amenities: AmenitySet::default(),
        at: Utc::now(),
        open_now: false,
        max_distance_m: None,
    });
    assert_eq!(atlas.facility(hits[0].facility).id(), "f0");
    assert!(
        (hits[0].distance_m - 76_700.0).abs() < 500.0,
        "{}",
        hits[0].distance_m
    );
}

/// Across the antimeridian the nearest is a few km away, not 360° away.
#[test]
fn antimeridian_neighbour() {
    let s = Schedules::new(Calendar::bundled());
    let west = facility(
        0,
        Layer::CourierStation,
        LonLat::new(-179.99, 0.0).unwrap(),
        AmenitySet::default(),
        None,
    );
    let far = facility(
        1,
        Layer::CourierStation,
        LonLat::new(179.0, 0.0).unwrap(),
        AmenitySet::default(),
        None,
    );
    let atlas = Atlas::new(Dataset::from_parts(vec![far, west], vec![], s));
    let hits = atlas.nearest(&NearestQuery {
        origin: LonLat::new(179.99, 0.0).unwrap(),
        k: 2,
        layers: LayerSet::facilities(),
        amenities: AmenitySet::default(),
        at: Utc::now(),
        open_now: false,
        max_distance_m: None,
    });
    assert_eq!(hits[0].facility, 1);
    assert!(hits[0].distance_m < 2_300.0);
}

/// One edit in a delta test.
#[derive(Clone, Debug)]
enum Op {
    /// Writes facility `f{n}` (created, or replacing the one with that id).
    PutFacility(usize, LonLat, usize, u32, Option<usize>),
    /// Writes park `p{n}`.
    PutPark(usize, LonLat),
    /// Deletes `f{n}`, or `p{n}` when the flag is set (an unknown id included).
    Delete(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..120usize, position(), 0..3usize, 0u32..(1 << 5), prop::option::of(0..3usize))
            .prop_map(|(n, p, l, a, h)| Op::PutFacility(n, p, l, a, h)),
        1 => (0..30usize, position()).prop_map(|(n, p)| Op::PutPark(n, p)),
        3 => (0..120usize, any::<bool>()).prop_map(|(n, park)| Op::Delete(n, park)),
    ]
}

/// A generation over a random base with random batches of edits in its delta (some
/// folded into rebuilt bases on the way), and the same data indexed from scratch:
/// what the fold of the edits must give.
fn edited() -> impl Strategy<Value = (Atlas, Atlas)> {
    let facility_raw = (
        position(),
        0..3usize,
        0u32..(1 << 5),
        prop::option::of(0..3usize),
    );
    (
        prop::collection::vec(facility_raw, 0..100),
        prop::collection::vec(position(), 0..20),
        prop::collection::vec((prop::collection::vec(op(), 0..25), any::<bool>()), 1..5),
    )
        .prop_map(|(base_f, base_p, batches)| {
            let mut schedules = Schedules::new(Calendar::bundled());
            let hours: Vec<HoursId> = HOURS.iter().map(|h| schedules.intern(h).unwrap()).collect();
            let make = |n: usize, p: LonLat, l: usize, bits: u32, h: Option<usize>| {
                let amenities = Amenity::ALL[..5]
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| bits & (1 << b) != 0)
                    .map(|(_, a)| *a)
                    .collect();
                facility(n, Layer::FACILITIES[l], p, amenities, h.map(|h| hours[h]))
            };
            let park =
                |n: usize, p: LonLat| crate::coverage::test_data::park(n, p, Some(100), None);
            let mut all_f: Vec<Facility> = (base_f.into_iter().enumerate())
                .map(|(n, (p, l, bits, h))| make(n, p, l, bits, h))
                .collect();
            let mut all_p: Vec<Park> = base_p
                .into_iter()
                .enumerate()
                .map(|(n, p)| park(n, p))
                .collect();
            let mut atlas = Atlas::new(Dataset::from_parts(
                all_f.clone(),
                all_p.clone(),
                schedules.clone(),
            ));
            let (mut delta_f, mut delta_p) = (Vec::<Facility>::new(), Vec::<Park>::new());
            for (batch, rebuild) in batches {
                let mut touched = Vec::new();
                for op in batch {
                    let id = match &op {
                        Op::PutFacility(n, ..) | Op::Delete(n, false) => format!("f{n}"),
                        Op::PutPark(n, _) | Op::Delete(n, true) => format!("p{n}"),
                    };
                    all_f.retain(|f| f.id() != id);
                    delta_f.retain(|f| f.id() != id);
                    all_p.retain(|p| *p.id != *id);
                    delta_p.retain(|p| *p.id != *id);
                    match op {
                        Op::PutFacility(n, p, l, bits, h) => {
                            let f = make(n, p, l, bits, h);
                            all_f.push(f.clone());
                            delta_f.push(f);
                        }
                        Op::PutPark(n, p) => {
                            all_p.push(park(n, p));
                            delta_p.push(park(n, p));
                        }
                        Op::Delete(..) => {}
                    }
                    touched.push(id);
                }
                let data = Dataset::from_parts(delta_f.clone(), delta_p.clone(), schedules.clone());
                atlas = atlas.with_delta(data, touched.iter().map(String::as_str));
                if rebuild {
                    // New trees over the same records: the delta starts again empty.
                    atlas = atlas.rebuilt();
                    delta_f.clear();
                    delta_p.clear();
                }
            }
            let fresh = Atlas::new(Dataset::from_parts(all_f, all_p, schedules));
            (atlas, fresh)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A base with a delta of random creates, replaces and deletes answers every
    /// query as the same data indexed from scratch: the same features at the same
    /// indexes, nearest with all filters, bbox, whole layers, by id, layer counts,
    /// the coverage walks and counts, and the folded and rebuilt datasets.
    #[test]
    fn delta_equals_fresh_index(
        (atlas, fresh) in edited(),
        queries in prop::collection::vec(query(), 1..6),
        lons in (-180.0..=180.0f64, -180.0..=180.0f64),
        lats in (-90.0..=90.0f64, -90.0..=90.0f64),
        radius in 0.0..0.5f64,
    ) {
        let ids = |a: &Atlas| -> (Vec<String>, Vec<String>) {
            (
                (0..a.facility_count() as u32).map(|i| a.facility(i).id().to_owned()).collect(),
                (0..a.park_count() as u32).map(|i| a.park(i).id.to_string()).collect(),
            )
        };
        prop_assert_eq!(ids(&atlas), ids(&fresh));
        let folded = atlas.data();
        prop_assert_eq!(
            folded.facilities.iter().map(|f| f.id()).collect::<Vec<_>>(),
            fresh.data().facilities.iter().map(|f| f.id()).collect::<Vec<_>>()
        );
        prop_assert_eq!(ids(&atlas.rebuilt()), ids(&fresh));
        for n in 0..120 {
            for id in [format!("f{n}"), format!("p{n}")] {
                prop_assert_eq!(atlas.get(&id), fresh.get(&id), "{}", id);
            }
        }
        for q in &queries {
            assert_same(&atlas, q, &atlas.nearest(q), &fresh.nearest_by_scan(q));
            assert_same(&atlas, q, &atlas.nearest_by_scan(q), &fresh.nearest_by_scan(q));
        }
        let bbox = BBox { min_lon: lons.0, max_lon: lons.1, min_lat: lats.0.min(lats.1), max_lat: lats.0.max(lats.1) };
        let xyz = sphere::unit_vector(queries[0].origin);
        for layer in Layer::ALL {
            prop_assert_eq!(atlas.in_bbox(layer, &bbox), fresh.in_bbox(layer, &bbox));
            prop_assert_eq!(atlas.all_in_layer(layer), fresh.all_in_layer(layer));
            prop_assert_eq!(atlas.layer_stats()[layer as usize].count, fresh.layer_stats()[layer as usize].count);
            if layer == Layer::Park {
                continue;
            }
            let d = |a: &Atlas| a.layer_nearest(layer, xyz).map(|(_, d2)| d2);
            prop_assert_eq!(d(&atlas), d(&fresh));
            prop_assert_eq!(
                atlas.layer_count_within(layer, xyz, radius),
                fresh.layer_count_within(layer, xyz, radius)
            );
            let walked = |a: &Atlas| {
                let mut out = Vec::new();
                a.layer_nearest_walk(layer, xyz, |i, d2| {
                    out.push((a.facility(i).id().to_owned(), d2));
                    Walk::Continue
                });
                out.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
                out
            };
            prop_assert_eq!(walked(&atlas), walked(&fresh));
            let inside = |a: &Atlas| {
                let mut out = Vec::new();
                a.within(xyz, LayerSet::facilities(), queries[0].amenities, radius, |i| out.push(i));
                out.sort_unstable();
                out
            };
            prop_assert_eq!(inside(&atlas), inside(&fresh));
        }
    }
}
