//! `GET /api/v1/search` through the router (`oneshot`), on the bundled data: Chinese
//! text found apart and together, pinyin and initials, places, bad parameters, and
//! the answers against a brute-force scan of every facility.

mod common;

use std::collections::HashSet;
use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use common::{get, get_json};
use proptest::prelude::*;
use serde_json::Value;

/// The bundled facilities, as the data files hold them.
fn facilities() -> &'static [Value] {
    static ALL: OnceLock<Vec<Value>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for layer in ["driver_home", "courier_station", "fitness_station"] {
            for kind in ["reported", "synthetic"] {
                let path = common::repo_path(&format!("geodata/{layer}.{kind}.geojson"));
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let v: Value = serde_json::from_str(&text).expect("GeoJSON");
                all.extend(v["features"].as_array().cloned().unwrap_or_default());
            }
        }
        assert!(all.len() > 1000, "the bundled facilities");
        all
    })
}

fn url(q: &str, rest: &str) -> String {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    format!("/api/v1/search?q={q}{rest}")
}

async fn search(q: &str, rest: &str) -> Value {
    let (status, v) = get_json(&url(q, rest)).await;
    assert_eq!(status, StatusCode::OK, "{q}{rest}: {}", v["detail"]);
    v
}

fn features(v: &Value) -> &[Value] {
    v["features"].as_array().map_or(&[], Vec::as_slice)
}

fn prop<'a>(f: &'a Value, key: &str) -> &'a str {
    f["properties"][key].as_str().unwrap_or("")
}

fn ids(v: &Value) -> Vec<&str> {
    features(v)
        .iter()
        .map(|f| f["id"].as_str().unwrap_or(""))
        .collect()
}

/// The fields a Chinese query is matched against.
const FIELDS: [&str; 5] = ["name", "address", "city", "district", "operator"];

/// Whether the query is found whole in one field.
fn contiguous(f: &Value, q: &str) -> bool {
    FIELDS.iter().any(|k| prop(f, k).contains(q))
}

/// Whether the query splits into pieces each found in some field: pieces of two
/// characters or more, the last may be one (written apart from the library's, by
/// trying every split).
fn scattered(f: &Value, q: &str) -> bool {
    let chars: Vec<char> = q.chars().collect();
    let found = |piece: &[char]| {
        let s: String = piece.iter().collect();
        contiguous(f, &s)
    };
    fn split(chars: &[char], found: &dyn Fn(&[char]) -> bool) -> bool {
        if chars.len() == 1 {
            return found(chars);
        }
        (2..=chars.len())
            .any(|len| found(&chars[..len]) && (len == chars.len() || split(&chars[len..], found)))
    }
    !chars.is_empty() && split(&chars, &found)
}

/// "兰山司机之家": 兰山 is the district (兰山区), 司机之家 the name: found apart.
#[tokio::test]
async fn chinese_found_apart_and_together() {
    let v = search("兰山司机之家", "").await;
    assert_eq!(ids(&v), ["dh-linyi-caiyuan"]);
    // The real station's name, whole and by its start.
    let v = search("财源物流园区司机之家", "").await;
    assert_eq!(ids(&v)[0], "dh-linyi-caiyuan");
    let v = search("财源", "").await;
    assert_eq!(ids(&v)[0], "dh-linyi-caiyuan");
    // 临沂 + 驿站: Linyi's stations, with 驿站 in the name.
    let v = search("临沂驿站", "&limit=100").await;
    assert!(features(&v).len() >= 10, "{:?}", ids(&v));
    for f in features(&v) {
        assert!(prop(f, "name").contains("驿站"), "{f}");
        assert!(
            ["name", "address", "city", "operator"]
                .iter()
                .any(|k| prop(f, k).contains("临沂")),
            "{f}"
        );
    }
    assert_eq!(
        search("火星基地", "").await["features"],
        serde_json::json!([])
    );
}

/// Pinyin and initials find 临沂's facilities; the places list 临沂市 with its extent.
#[tokio::test]
async fn pinyin_initials_and_places() {
    let linyi: Vec<&Value> = facilities()
        .iter()
        .filter(|f| prop(f, "city") == "临沂市")
        .collect();
    assert!(linyi.len() > 5);
    for q in ["linyi", "LinYi", "lin yi", "ly", "临沂"] {
        let v = search(q, "&limit=100").await;
        let found: HashSet<&str> = ids(&v).into_iter().collect();
        let in_linyi = linyi
            .iter()
            .filter(|f| found.contains(f["id"].as_str().unwrap_or("")))
            .count();
        assert!(in_linyi >= linyi.len().min(5), "{q}: {in_linyi} of Linyi's");
        // "ly" is Luoyang's initials too: 临沂市 is among the places.
        let places = v["places"].as_array().map_or(&[][..], Vec::as_slice);
        let place = places
            .iter()
            .find(|p| p["name"] == "临沂市")
            .unwrap_or_else(|| panic!("{q}: no 临沂市 in {places:?}"));
        assert_eq!(place["kind"], "city");
        if q != "ly" {
            assert_eq!(places[0]["name"], "临沂市", "{q}: {places:?}");
        }
        assert_eq!(place["count"].as_u64(), Some(linyi.len() as u64));
        let b: Vec<f64> = place["bbox"]
            .as_array()
            .expect("bbox")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert_eq!(b.len(), 4);
        for f in &linyi {
            let c = &f["geometry"]["coordinates"];
            let (lon, lat) = (c[0].as_f64().unwrap_or(0.0), c[1].as_f64().unwrap_or(0.0));
            assert!((b[0]..=b[2]).contains(&lon) && (b[1]..=b[3]).contains(&lat));
        }
        let centre = &place["centre"];
        assert!((b[0] - 0.5..=b[2] + 0.5).contains(&centre[0].as_f64().unwrap_or(0.0)));
    }
    // linyi: every answer is 临沂's (English name, pinyin of the name or the city).
    for f in features(&search("linyi", "&limit=100").await) {
        assert!(
            prop(f, "city") == "临沂市" || prop(f, "name").contains("临沂"),
            "{f}"
        );
    }
    // From a point in Linyi, the initials find Linyi's nearest first.
    let v = search("ly", "&lon=118.35&lat=35.10&limit=5").await;
    for f in features(&v) {
        assert!(f["properties"]["distance_m"].as_u64().unwrap_or(u64::MAX) < 50_000);
    }
    // English names, by word prefix.
    let v = search("Caiyuan Logistics", "").await;
    assert_eq!(ids(&v)[0], "dh-linyi-caiyuan");
}

/// With a point, matches of one kind come nearest first, with their distance.
#[tokio::test]
async fn nearest_first_with_a_point() {
    let v = search("工会驿站", "&lon=116.40&lat=39.90&limit=20").await;
    let d: Vec<u64> = features(&v)
        .iter()
        .map(|f| f["properties"]["distance_m"].as_u64().unwrap_or(u64::MAX))
        .collect();
    assert_eq!(d.len(), 20);
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    for f in features(&v) {
        assert!(prop(f, "name").contains("工会驿站"));
        assert!(f["properties"]["links"]["amap"].is_string());
    }
    // Without one: no distance, same matches by id.
    let v = search("工会驿站", "&limit=20").await;
    assert!(
        features(&v)
            .iter()
            .all(|f| f["properties"]["distance_m"].is_null())
    );
    let ids = ids(&v);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    // Layers filter.
    let v = search("驿站", "&layers=fitness_station&limit=100").await;
    assert!(!features(&v).is_empty());
    assert!(
        features(&v)
            .iter()
            .all(|f| prop(f, "layer") == "fitness_station")
    );
}

/// Bad parameters: 400 problem+json naming each one.
#[tokio::test]
async fn bad_parameters_are_named() {
    let long = "驿".repeat(65);
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("/api/v1/search".into(), vec!["q"]),
        ("/api/v1/search?q=".into(), vec!["q"]),
        (url(&long, ""), vec!["q"]),
        (url("驿站", "&limit=0"), vec!["limit"]),
        (url("驿站", "&limit=101"), vec!["limit"]),
        (url("驿站", "&lon=116.4"), vec!["lat"]),
        (url("驿站", "&lat=39.9"), vec!["lon"]),
        (url("驿站", "&lon=200&lat=39.9"), vec!["lon"]),
        (url("驿站", "&lon=abc&lat=39.9"), vec!["lon"]),
        (url("驿站", "&layers=park"), vec!["layers"]),
        (url("驿站", "&layers=stations"), vec!["layers"]),
        (url("驿站", "&lng=116.4"), vec!["lng"]),
        (url("驿站", "&q=x"), vec!["q"]),
        (
            "/api/v1/search?limit=0&lon=1&k=3".into(),
            vec!["q", "limit", "lat", "k"],
        ),
    ];
    for (uri, names) in cases {
        let (status, response, body) = get(&uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{uri}"
        );
        let v: Value = serde_json::from_slice(&body).expect("JSON");
        let got: Vec<&str> = v["invalid-params"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for name in names {
            assert!(got.contains(&name), "{uri}: {got:?}");
        }
    }
    // 64 characters is allowed.
    let ok = "驿".repeat(64);
    assert_eq!(get(&url(&ok, "")).await.0, StatusCode::OK);
}

/// A query taken from a facility's own text: 1 to 5 characters of one of its
/// fields, Chinese or digits (a latin query is matched another way).
fn from_a_field() -> impl Strategy<Value = String> {
    let n = facilities().len();
    (
        0..n,
        0..FIELDS.len(),
        any::<prop::sample::Index>(),
        1..=5usize,
    )
        .prop_filter_map("a Chinese piece of a field", |(i, k, start, len)| {
            let chars: Vec<char> = prop(&facilities()[i], FIELDS[k]).chars().collect();
            if chars.is_empty() {
                return None;
            }
            let start = start.index(chars.len());
            let piece: String = chars[start..(start + len).min(chars.len())]
                .iter()
                .collect();
            (!piece.is_ascii()).then_some(piece)
        })
}

/// Two pieces of text from two facilities' fields, run together (found apart, if
/// at all).
fn two_pieces() -> impl Strategy<Value = String> {
    (from_a_field(), from_a_field()).prop_map(|(a, b)| format!("{a}{b}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]
    /// Every facility answered matches by a brute-force check, and every facility
    /// holding the query whole is answered (or the answer is full of them).
    #[test]
    fn answers_match_and_whole_matches_are_all_answered(
        q in prop_oneof![from_a_field(), two_pieces()],
        limit in prop_oneof![Just(100usize), 1..=20usize],
        near in proptest::option::of((73.0..135.0f64, 18.0..53.0f64)),
    ) {
        let q: String = q.chars().filter(|c| !c.is_whitespace()).collect();
        prop_assume!(!q.is_empty() && q.chars().count() <= 64);
        let rest = match near {
            Some((lon, lat)) => format!("&limit={limit}&lon={lon}&lat={lat}"),
            None => format!("&limit={limit}"),
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let v = rt.block_on(search(&q, &rest));
        let answered = features(&v);
        prop_assert!(answered.len() <= limit);
        let mut seen = HashSet::new();
        for f in answered {
            prop_assert!(seen.insert(f["id"].as_str().unwrap_or("")), "{} twice", f["id"]);
            prop_assert!(scattered(f, &q), "{q}: {} does not match", f["id"]);
        }
        let whole: HashSet<&str> = facilities()
            .iter()
            .filter(|f| contiguous(f, &q))
            .map(|f| f["id"].as_str().unwrap_or(""))
            .collect();
        if whole.len() <= limit {
            for id in &whole {
                prop_assert!(seen.contains(id), "{q}: {id} holds it whole but is not answered");
            }
            // Whole matches come before matches found apart.
            let first_apart = answered.iter().position(|f| !whole.contains(f["id"].as_str().unwrap_or("")));
            if let Some(i) = first_apart {
                prop_assert_eq!(i, whole.len());
            }
        } else {
            for f in answered {
                prop_assert!(whole.contains(f["id"].as_str().unwrap_or("")), "{q}: {} found apart before whole matches", f["id"]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// No query string, however malformed, reaches a 5xx.
    #[test]
    fn no_query_reaches_a_5xx(
        params in prop::collection::vec((
            prop_oneof![
                prop::sample::select(vec!["q", "lon", "lat", "layers", "limit"]).prop_map(str::to_owned),
                "[a-z_]{1,6}",
            ],
            prop_oneof![
                Just("临沂".to_owned()), Just("ly".to_owned()), Just("118.3".to_owned()),
                Just("NaN".to_owned()), Just("1e400".to_owned()), Just("driver_home,park".to_owned()),
                "\\PC{0,70}", "-?[0-9]{1,4}(\\.[0-9]{1,3})?",
            ],
        ), 0..6),
    ) {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        let uri = format!("/api/v1/search?{query}");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let status = rt.block_on(async { get(&uri).await.0 });
        prop_assert!(status.as_u16() < 500, "{uri} gave {status}");
    }
}
