//! The search on a small hand-made dataset (ranking order, each kind of match,
//! places), and the index against a scan of every facility on generated data.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::geodata::generate::{GenOptions, generate};
use crate::geodata::load_dir;
use crate::model::hours::{Calendar, Schedules};
use crate::model::{AmenitySet, FacilityText, PositionAccuracy, Provenance, Shared, TextFields};

struct Spec<'a> {
    id: &'a str,
    name: &'a str,
    en: Option<&'a str>,
    layer: Layer,
    city: Option<&'a str>,
    district: Option<&'a str>,
    address: Option<&'a str>,
    at: (f64, f64),
}

fn facility(s: &Spec) -> Facility {
    Facility {
        text: FacilityText::new(TextFields {
            id: s.id,
            name: s.name,
            name_en: s.en,
            address: s.address,
            phone: None,
        }),
        layer: s.layer,
        position: LonLat::new(s.at.0, s.at.1).expect("in range"),
        city: s.city.map(Shared::new),
        district: s.district.map(Shared::new),
        amenities: AmenitySet::default(),
        hours: None,
        operator: s.city.map(|c| Shared::new(&format!("{c}总工会"))),
        grade: None,
        provenance: Provenance {
            source: Shared::new("test"),
            position_accuracy: PositionAccuracy::Approximate,
            synthetic: true,
            updated: None,
            notes: None,
        },
    }
}

/// Six facilities, listed out of id order (the index sorts them).
fn small() -> &'static Atlas {
    static ATLAS: OnceLock<Atlas> = OnceLock::new();
    ATLAS.get_or_init(|| {
        let specs = [
            Spec {
                id: "f6",
                name: "临沂北郊物流园司机之家（1号）",
                en: Some("Linyi Driver Home No. 1"),
                layer: Layer::DriverHome,
                city: Some("临沂市"),
                district: Some("北郊"),
                address: None,
                at: (118.36, 35.20),
            },
            Spec {
                id: "a1",
                name: "临沂市第1号工会驿站",
                en: Some("Linyi Union Rest Station No. 1"),
                layer: Layer::CourierStation,
                city: Some("临沂市"),
                district: Some("兰山区"),
                address: Some("临沂市兰山区解放路1号"),
                at: (118.35, 35.10),
            },
            Spec {
                id: "b2",
                name: "财源物流园区司机之家",
                en: Some("Caiyuan Logistics Park Driver Home"),
                layer: Layer::DriverHome,
                city: Some("临沂市"),
                district: Some("兰山区"),
                address: Some("山东省临沂市兰山区财源物流园区"),
                at: (118.30, 35.12),
            },
            Spec {
                id: "c3",
                name: "临沂",
                en: None,
                layer: Layer::FitnessStation,
                city: Some("临沂市"),
                district: None,
                address: None,
                at: (118.40, 35.00),
            },
            Spec {
                id: "d4",
                name: "上海市第2号工会驿站",
                en: Some("Shanghai Union Rest Station No. 2"),
                layer: Layer::CourierStation,
                city: Some("上海市"),
                district: Some("浦东新区"),
                address: Some("上海市浦东新区世纪大道2号"),
                at: (121.50, 31.20),
            },
            Spec {
                id: "e5",
                name: "重庆司机之家",
                en: Some("Chongqing Driver Home"),
                layer: Layer::DriverHome,
                city: Some("重庆市"),
                district: None,
                address: None,
                at: (106.50, 29.50),
            },
        ];
        let facilities = specs.iter().map(facility).collect();
        let data = Dataset::from_parts(facilities, Vec::new(), Schedules::new(Calendar::default()));
        Atlas::new(data)
    })
}

fn query(text: &str, origin: Option<(f64, f64)>) -> SearchQuery<'_> {
    SearchQuery {
        text,
        origin: origin.map(|(lon, lat)| LonLat::new(lon, lat).expect("in range")),
        layers: LayerSet::facilities(),
        limit: 20,
    }
}

/// (id, kind) of each hit, in order.
fn found(atlas: &Atlas, q: &SearchQuery<'_>) -> Vec<(String, MatchKind)> {
    let results = atlas.search_index().search(atlas, q);
    let got: Vec<_> = results
        .hits
        .iter()
        .map(|h| (atlas.facility(h.facility).id().to_owned(), h.kind))
        .collect();
    let scan: Vec<_> = atlas
        .search_index()
        .search_by_scan(atlas, q)
        .iter()
        .map(|h| (atlas.facility(h.facility).id().to_owned(), h.kind))
        .collect();
    assert_eq!(got, scan, "index and scan disagree on {q:?}");
    got
}

fn ids(found: &[(String, MatchKind)]) -> Vec<&str> {
    found.iter().map(|(id, _)| id.as_str()).collect()
}

use MatchKind::*;

#[test]
fn exact_then_prefix_then_fields_then_by_id() {
    let atlas = small();
    let got = found(atlas, &query("临沂", None));
    assert_eq!(
        got,
        [
            ("c3".into(), Exact),
            ("a1".into(), NamePrefix),
            ("f6".into(), NamePrefix),
            ("b2".into(), Field),
        ]
    );
    // Name substring ranks above another field; a full-width query is the same.
    let got = found(atlas, &query("物流园", None));
    assert_eq!(
        got,
        [("b2".into(), NameSubstring), ("f6".into(), NameSubstring)]
    );
    assert_eq!(
        found(atlas, &query("物流园", None)),
        found(atlas, &query(" 物流 园 ", None))
    );
}

#[test]
fn bigrams_found_apart_rank_below_contiguous() {
    let atlas = small();
    // 兰山 in the district and the address, 驿站 in the name.
    assert_eq!(
        found(atlas, &query("兰山驿站", None)),
        [("a1".into(), Scattered)]
    );
    // Typing on: the last character alone still matches.
    assert_eq!(
        found(atlas, &query("兰山驿", None)),
        [("a1".into(), Scattered)]
    );
    // 兰山区 contiguous (address/district) first, then 司机之家 apart.
    let got = found(atlas, &query("兰山", None));
    assert_eq!(got, [("a1".into(), Field), ("b2".into(), Field)]);
    assert_eq!(
        found(atlas, &query("临沂司机之家", None)),
        [("b2".into(), Scattered), ("f6".into(), Scattered)]
    );
    assert!(found(atlas, &query("兰驿站", None)).is_empty());
    assert!(found(atlas, &query("火星基地", None)).is_empty());
    // One character.
    assert_eq!(
        ids(&found(atlas, &query("沂", None))),
        ["a1", "c3", "f6", "b2"]
    );
}

#[test]
fn pinyin_initials_and_english_names() {
    let atlas = small();
    assert_eq!(
        found(atlas, &query("linyi", None)),
        [
            ("a1".into(), NamePrefix),
            ("f6".into(), NamePrefix),
            ("c3".into(), Pinyin),
            ("b2".into(), Field),
        ]
    );
    // 物流园 reads wu liu yuan: "ly" is its initials too.
    assert_eq!(
        found(atlas, &query("ly", None)),
        [
            ("a1".into(), Pinyin),
            ("b2".into(), Pinyin),
            ("c3".into(), Pinyin),
            ("f6".into(), Pinyin),
        ]
    );
    assert_eq!(
        found(atlas, &query("LinYi", None)),
        found(atlas, &query("linyi", None))
    );
    assert_eq!(found(atlas, &query("cq", None)), [("e5".into(), Pinyin)]);
    assert_eq!(
        found(atlas, &query("zhongqing", None)),
        [("e5".into(), Pinyin)]
    );
    assert_eq!(
        found(atlas, &query("chongqing", None)),
        [("e5".into(), NamePrefix)]
    );
    assert_eq!(
        found(atlas, &query("Chongqing Driver Home", None)),
        [("e5".into(), Exact)]
    );
    assert_eq!(
        found(atlas, &query("station union", None)),
        [("a1".into(), NameSubstring), ("d4".into(), NameSubstring)]
    );
    assert!(found(atlas, &query("xyzzy", None)).is_empty());
}

#[test]
fn nearest_first_within_a_kind_and_layers_filter() {
    let atlas = small();
    let near_shanghai = Some((121.4, 31.2));
    assert_eq!(ids(&found(atlas, &query("工会驿站", None))), ["a1", "d4"]);
    assert_eq!(
        ids(&found(atlas, &query("工会驿站", near_shanghai))),
        ["d4", "a1"]
    );
    let results = atlas
        .search_index()
        .search(atlas, &query("工会驿站", near_shanghai));
    let d = results
        .hits
        .iter()
        .map(|h| h.distance_m.unwrap_or(f64::NAN));
    assert!(d.clone().all(|d| d.is_finite()));
    assert!(results.hits[0].distance_m < Some(20_000.0));
    // The kind comes first: exact 临沂 far away before nearer prefixes.
    assert_eq!(
        ids(&found(atlas, &query("临沂", Some((118.36, 35.2))))),
        ["c3", "f6", "a1", "b2"]
    );
    let mut q = query("临沂", None);
    q.layers = [Layer::DriverHome].into_iter().collect();
    assert_eq!(ids(&found(atlas, &q)), ["f6", "b2"]);
    q.limit = 1;
    assert_eq!(ids(&found(atlas, &q)), ["f6"]);
    q.layers = [Layer::Park].into_iter().collect();
    assert!(found(atlas, &q).is_empty());
}

#[test]
fn places_from_our_own_data() {
    let atlas = small();
    let index = atlas.search_index();
    let names = |text: &str| -> Vec<String> {
        let r = index.search(atlas, &query(text, None));
        r.places.iter().map(|p| p.name.clone()).collect()
    };
    assert_eq!(names("临沂"), ["临沂市"]);
    assert_eq!(names("linyi"), ["临沂市"]);
    assert_eq!(names("ly"), ["临沂市"]);
    assert_eq!(names("兰山驿站"), ["兰山区"]);
    assert_eq!(names("上海"), ["上海市"]);
    let r = index.search(atlas, &query("临沂市", None));
    let p = r.places[0];
    assert_eq!((p.kind, p.count), (PlaceKind::City, 4));
    // A known city's centre; the extent of its facilities.
    assert_eq!((p.centre.lon(), p.centre.lat()), (118.356, 35.104));
    assert_eq!(
        [
            p.bbox.min_lon,
            p.bbox.min_lat,
            p.bbox.max_lon,
            p.bbox.max_lat
        ],
        [118.30, 35.00, 118.40, 35.20]
    );
    let r = index.search(atlas, &query("兰山区", None));
    assert_eq!(r.places[0].city.as_deref(), Some("临沂市"));
    assert_eq!(r.places[0].count, 2);
}

/// Generated facilities, enough for candidate sets past [`CHECK_WHOLE`] (walks
/// from the query point, and their fallback).
fn generated() -> &'static Atlas {
    static ATLAS: OnceLock<Atlas> = OnceLock::new();
    ATLAS.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("waystation-search-test-{}", std::process::id()));
        let opts = GenOptions {
            facilities: 12_000,
            parks: 10,
            seed: 7,
        };
        generate(&opts, &dir).expect("generate");
        let data = load_dir(&dir).expect("load");
        let _ = std::fs::remove_dir_all(&dir);
        Atlas::new(data)
    })
}

#[test]
fn index_answers_what_a_scan_answers() {
    let atlas = generated();
    let origins = [
        None,
        Some((118.35, 35.1)),
        Some((87.6, 43.8)),
        Some((121.47, 31.23)),
    ];
    let queries = [
        "临沂",
        "驿站",
        "工会驿站",
        "临沂驿站",
        "上海司机之家",
        "号",
        "市",
        "12号",
        "（3号）",
        "linyi",
        "ly",
        "yizhan",
        "gh",
        "shanghai driver",
        "driver",
        "no 12",
        "xyzzy",
        "火星基地",
        "城北片区",
        "cbpq",
        "wuliu",
        "总工会",
        "乌鲁木齐",
    ];
    for origin in origins {
        for text in queries {
            for limit in [1, 30] {
                let mut q = query(text, origin);
                q.limit = limit;
                found(atlas, &q);
            }
            let mut q = query(text, origin);
            q.layers = [Layer::FitnessStation, Layer::DriverHome]
                .into_iter()
                .collect();
            found(atlas, &q);
        }
    }
    // Every way of answering from a point was taken: walks, walks given up, scans.
    let ways = WAYS
        .each_ref()
        .map(|w| w.load(std::sync::atomic::Ordering::Relaxed));
    assert!(
        ways.iter().all(|n| *n > 0),
        "walked, gave up, measured: {ways:?}"
    );
}

/// Names, English names, cities, districts and addresses that the queries below
/// hit in many ways (exact, prefix, substring, pinyin, field, scattered).
const NAMES: [&str; 8] = [
    "临沂工会驿站",
    "兰山司机之家",
    "上海健身驿站",
    "物流园司机之家",
    "临沂",
    "驿站",
    "浦东工会驿站（2号）",
    "重庆 司机之家",
];
const NAMES_EN: [Option<&str>; 5] = [
    None,
    Some("Linyi Union Station"),
    Some("Driver Home"),
    Some("Shanghai Rest Station No 2"),
    Some("Station"),
];
const PLACES: [(Option<&str>, Option<&str>); 6] = [
    (Some("临沂市"), Some("兰山区")),
    (Some("临沂市"), Some("北郊")),
    (Some("上海市"), Some("浦东新区")),
    (Some("重庆市"), None),
    (None, Some("兰山区")),
    (None, None),
];
const ADDRESSES: [Option<&str>; 3] = [None, Some("临沂市兰山区解放路1号"), Some("世纪大道")];
/// A few fixed points (facilities at the same place tie on distance) and a box.
const SPOTS: [(f64, f64); 3] = [(118.35, 35.10), (121.50, 31.20), (106.50, 29.50)];

/// What a generated facility is made of: id number, name, English name, place,
/// address, layer, position (a spot, or a point of the box).
type Raw = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    Result<usize, (f64, f64)>,
);

fn raw_facility(n_ids: usize) -> impl Strategy<Value = Raw> {
    (
        0..n_ids,
        0..NAMES.len(),
        0..NAMES_EN.len(),
        0..PLACES.len(),
        0..ADDRESSES.len(),
        // Mostly courier stations: enough of one layer to walk from a point.
        prop_oneof![6 => Just(1usize), 1 => Just(0), 1 => Just(2)],
        prop_oneof![
            (0..SPOTS.len()).prop_map(Ok),
            (105.0..122.0f64, 28.0..36.0f64).prop_map(Err),
        ],
    )
}

fn made(raw: &Raw) -> Facility {
    let (n, name, en, place, address, layer, at) = *raw;
    let id = format!("f{n}");
    let (city, district) = PLACES[place];
    facility(&Spec {
        id: &id,
        name: NAMES[name],
        en: NAMES_EN[en],
        layer: Layer::FACILITIES[layer],
        city,
        district,
        address: ADDRESSES[address],
        at: at.map_or_else(|p| p, |s| SPOTS[s]),
    })
}

/// One edit: write a facility (created, or replacing the one with its id), or
/// delete `f{n}` (an unknown id included).
#[derive(Clone, Debug)]
enum Op {
    Put(Raw),
    Delete(usize),
}

const IDS: usize = 1600;

/// A generation over a random base (up to 1,500 facilities, `f0`, `f1`, …: enough
/// for the walks from a point) with random batches of edits in its delta, some batches folded
/// into a rebuilt base on the way (searched before, or not).
fn edited() -> impl Strategy<Value = Atlas> {
    let op = prop_oneof![
        3 => raw_facility(IDS).prop_map(Op::Put),
        2 => (0..IDS).prop_map(Op::Delete),
    ];
    (
        prop::collection::vec(raw_facility(1), 0..1500),
        prop::collection::vec(
            (
                prop::collection::vec(op, 0..40),
                any::<bool>(),
                any::<bool>(),
            ),
            1..4,
        ),
    )
        .prop_map(|(base, batches)| {
            let schedules = Schedules::new(Calendar::default());
            let base: Vec<Facility> = (base.into_iter().enumerate())
                .map(|(n, mut raw)| {
                    raw.0 = n;
                    made(&raw)
                })
                .collect();
            let mut atlas = Atlas::new(Dataset::from_parts(base, Vec::new(), schedules.clone()));
            let mut delta: Vec<Facility> = Vec::new();
            for (batch, searched, rebuild) in batches {
                let mut touched = Vec::new();
                for op in batch {
                    let id = match &op {
                        Op::Put(raw) => format!("f{}", raw.0),
                        Op::Delete(n) => format!("f{n}"),
                    };
                    delta.retain(|f| f.id() != id);
                    if let Op::Put(raw) = &op {
                        delta.push(made(raw));
                    }
                    touched.push(id);
                }
                let data = Dataset::from_parts(delta.clone(), Vec::new(), schedules.clone());
                atlas = atlas.with_delta(data, touched.iter().map(String::as_str));
                if searched {
                    atlas.search_index();
                }
                if rebuild {
                    atlas = atlas.rebuilt();
                    delta.clear();
                }
            }
            atlas
        })
}

const TEXTS: [&str; 16] = [
    "临沂",
    "驿站",
    "工会驿站",
    "兰山驿站",
    "司机之家",
    "临沂司机之家",
    "物流园",
    "浦东",
    "linyi",
    "ly",
    "yizhan",
    "driver",
    "station union",
    "sh",
    "Linyi Union Station",
    "重庆司机之家",
];

/// (id, kind, distance) of each hit, in order.
fn answer(atlas: &Atlas, hits: &[SearchHit]) -> Vec<(String, MatchKind, Option<f64>)> {
    hits.iter()
        .map(|h| {
            (
                atlas.facility(h.facility).id().to_owned(),
                h.kind,
                h.distance_m,
            )
        })
        .collect()
}

/// Every field of each place, in order.
fn places_of(results: &SearchResults<'_>) -> Vec<String> {
    results.places.iter().map(|p| format!("{p:?}")).collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// A generation with a delta of random creates, replaces and deletes answers
    /// every search as its data indexed afresh (`rebuilt`): the same hits at the
    /// same indexes, kinds and distances, in the same order, with every limit, from
    /// a point or not, and the same places (counts, centres, extents).
    #[test]
    fn delta_generation_answers_as_a_fresh_index(
        atlas in edited(),
        origins in prop::collection::vec(
            prop::option::of(prop_oneof![
                (0..SPOTS.len()).prop_map(|s| SPOTS[s]),
                (105.0..122.0f64, 28.0..36.0f64),
            ]),
            2,
        ),
    ) {
        let fresh = atlas.rebuilt();
        let (index, fresh_index) = (atlas.search_index(), fresh.search_index());
        for text in TEXTS {
            for origin in &origins {
                for (limit, layers) in [
                    (1, LayerSet::facilities()),
                    (4, LayerSet::facilities()),
                    (40, LayerSet::facilities()),
                    (40, [Layer::CourierStation].into_iter().collect()),
                ] {
                    let mut q = query(text, *origin);
                    q.limit = limit;
                    q.layers = layers;
                    let got = index.search(&atlas, &q);
                    let want = fresh_index.search(&fresh, &q);
                    prop_assert_eq!(answer(&atlas, &got.hits), answer(&fresh, &want.hits), "{:?}", q);
                    prop_assert_eq!(places_of(&got), places_of(&want), "{:?}", q);
                    let scan = index.search_by_scan(&atlas, &q);
                    prop_assert_eq!(answer(&atlas, &got.hits), answer(&atlas, &scan), "{:?}", q);
                }
            }
        }
    }
}
