//! Vector tiles through the router (`oneshot`), decoded with an independent MVT
//! decoder (`mvt-reader`) and checked against a brute-force selection of the data.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mvt_reader::Reader;
use mvt_reader::feature::Value;
use proptest::prelude::*;
use waystation::geodata::{self, Dataset, generate::GenOptions};
use waystation::http::{AppState, Basemap, router};
use waystation::index::Atlas;
use waystation::model::{Layer, LonLat, UnionStatus};
use waystation::tiles::{CELL_MAX, GRID, MAX_ZOOM, TileId, tile_of};

/// A generated set dense enough to cluster, loaded once for the binary.
fn generated() -> &'static (Arc<AppState>, Dataset) {
    static SET: OnceLock<(Arc<AppState>, Dataset)> = OnceLock::new();
    SET.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("waystation-tiles-test-{}", std::process::id()));
        let opts = GenOptions {
            facilities: 20_000,
            parks: 400,
            seed: 11,
        };
        geodata::generate::generate(&opts, &dir).expect("generate");
        let data = geodata::load_dir(&dir).expect("load");
        let copy = geodata::load_dir(&dir).expect("load again");
        let _ = std::fs::remove_dir_all(&dir);
        (AppState::ready(Atlas::new(data), Basemap::None), copy)
    })
}

fn generated_app() -> Router {
    router(generated().0.clone(), common::repo_path("web"))
}

/// One feature of the data set, as the brute force sees it.
#[derive(Clone, Debug)]
struct Truth {
    id: String,
    layer: Layer,
    px: (u32, u32),
    /// A park without a union.
    no_union: bool,
}

/// Where a point falls in a tile, computed here from the Mercator formulas (not
/// with the crate's own tile maths), or `None` when it is in another tile.
fn pixel(p: LonLat, t: TileId) -> Option<(u32, u32)> {
    let n = f64::from(1u32 << t.z);
    let x = (p.lon() + 180.0) / 360.0 * n;
    let lat = p.lat().to_radians();
    let y = (1.0 - lat.tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    if x.floor() as u32 != t.x || y.floor() as u32 != t.y {
        return None;
    }
    let px = ((x - f64::from(t.x)) * 4096.0).floor() as u32;
    let py = ((y - f64::from(t.y)) * 4096.0).floor() as u32;
    Some((px, py))
}

/// Every feature of `layers` in tile `t`, by scanning the whole data set.
fn brute_force(data: &Dataset, layers: &[Layer], t: TileId) -> Vec<Truth> {
    let mut out = Vec::new();
    for f in &data.facilities {
        if layers.contains(&f.layer)
            && let Some(px) = pixel(f.position, t)
        {
            out.push(Truth {
                id: f.id().to_owned(),
                layer: f.layer,
                px,
                no_union: false,
            });
        }
    }
    if layers.contains(&Layer::Park) {
        for p in &data.parks {
            if let Some(px) = pixel(p.position, t) {
                out.push(Truth {
                    id: p.id.to_string(),
                    layer: Layer::Park,
                    px,
                    no_union: p.union_status == Some(UnionStatus::None),
                });
            }
        }
    }
    out
}

/// A feature drawn singly: id, pixel, properties.
type SingleFeature = (String, (u32, u32), BTreeMap<String, Value>);
/// A cluster: pixel, point_count, count per layer.
type ClusterFeature = ((u32, u32), u64, BTreeMap<String, u64>);

/// A decoded tile: single features per layer and the clusters.
#[derive(Debug, Default)]
struct Decoded {
    /// layer → its single features
    singles: BTreeMap<String, Vec<SingleFeature>>,
    clusters: Vec<ClusterFeature>,
}

impl Decoded {
    fn represented(&self) -> u64 {
        self.singles.values().map(|v| v.len() as u64).sum::<u64>()
            + self.clusters.iter().map(|c| c.1).sum::<u64>()
    }
}

fn point_of(g: &geo::Geometry<f32>) -> (u32, u32) {
    match g {
        geo::Geometry::Point(p) => (p.x() as u32, p.y() as u32),
        geo::Geometry::MultiPoint(m) if m.0.len() == 1 => (m.0[0].x() as u32, m.0[0].y() as u32),
        other => panic!("not a point: {other:?}"),
    }
}

fn decode(bytes: Vec<u8>) -> Decoded {
    let reader = Reader::new(bytes).expect("a valid tile");
    let mut out = Decoded::default();
    for meta in reader.get_layer_metadata().expect("layers") {
        assert_eq!(meta.version, 2);
        assert_eq!(meta.extent, 4096);
        for f in reader.get_features(meta.layer_index).expect("features") {
            let props: BTreeMap<String, Value> =
                f.properties.unwrap_or_default().into_iter().collect();
            let at = point_of(&f.geometry);
            assert!(at.0 < 4096 && at.1 < 4096, "{at:?} outside the tile");
            if meta.name == "clusters" {
                let uint = |v: &Value| match v {
                    Value::UInt(n) => *n,
                    other => panic!("count is {other:?}"),
                };
                let count = uint(&props["point_count"]);
                let per_layer = props
                    .iter()
                    .filter(|(k, _)| *k != "point_count")
                    .map(|(k, v)| (k.clone(), uint(v)))
                    .collect();
                out.clusters.push((at, count, per_layer));
            } else {
                let Value::String(id) = &props["id"] else {
                    panic!("id is {:?}", props["id"]);
                };
                assert_eq!(props["layer"], Value::String(meta.name.clone()));
                out.singles.entry(meta.name.clone()).or_default().push((
                    id.clone(),
                    at,
                    props.clone(),
                ));
            }
        }
    }
    out
}

// Every answer goes through `common::send`, which holds it to the OpenAPI document
// (status documented; a JSON body matches its schema; tiles are binary).
use common::{get, get_json, send};

async fn tile_bytes(app: Router, path: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::get(path).body(Body::empty()).unwrap();
    let (status, _, body) = send(app, req).await;
    (status, body)
}

fn cell(px: (u32, u32)) -> usize {
    let size = 4096 / GRID;
    ((px.1 / size) * GRID + px.0 / size) as usize
}

/// Where the cluster of cell `c` is expected, by a scan of its members: the cell
/// halved four times into its most populous quarter (the first in Z order — x,
/// then y — on a tie), and the mean pixel of what that 64-unit square holds.
fn anchor(c: usize, members: &[&Truth]) -> (u32, u32) {
    let size = 4096 / GRID;
    let (mut x0, mut y0, mut size) = ((c as u32 % GRID) * size, (c as u32 / GRID) * size, size);
    let mut inside: Vec<&Truth> = members.to_vec();
    for _ in 0..4 {
        size /= 2;
        let mut best: Option<(usize, u32, u32)> = None;
        for q in 0..4u32 {
            let (qx, qy) = (x0 + (q & 1) * size, y0 + (q >> 1) * size);
            let n = inside
                .iter()
                .filter(|t| (qx..qx + size).contains(&t.px.0) && (qy..qy + size).contains(&t.px.1))
                .count();
            if best.is_none_or(|b| n > b.0) {
                best = Some((n, qx, qy));
            }
        }
        let (_, qx, qy) = best.unwrap();
        (x0, y0) = (qx, qy);
        inside.retain(|t| (x0..x0 + size).contains(&t.px.0) && (y0..y0 + size).contains(&t.px.1));
    }
    let n = inside.len().max(1) as u64;
    let sx: u64 = inside.iter().map(|t| u64::from(t.px.0)).sum();
    let sy: u64 = inside.iter().map(|t| u64::from(t.px.1)).sum();
    ((sx / n) as u32, (sy / n) as u32)
}

/// Checks a decoded tile against the brute force: at the last zoom every feature
/// is there singly at its pixel; below it, the cells holding more than CELL_MAX
/// features are clusters with their counts, and every other feature is there singly.
fn check(decoded: &Decoded, truth: &[Truth], z: u8) {
    let mut per_cell: BTreeMap<usize, Vec<&Truth>> = BTreeMap::new();
    for t in truth {
        per_cell.entry(cell(t.px)).or_default().push(t);
    }
    let clustered = |c: usize| z < MAX_ZOOM && per_cell[&c].len() > CELL_MAX;
    let expected_singles: BTreeSet<(String, String, (u32, u32))> = truth
        .iter()
        .filter(|t| !clustered(cell(t.px)))
        .map(|t| (t.layer.id().to_owned(), t.id.clone(), t.px))
        .collect();
    let got_singles: BTreeSet<(String, String, (u32, u32))> = decoded
        .singles
        .iter()
        .flat_map(|(l, v)| {
            v.iter()
                .map(move |(id, at, _)| (l.clone(), id.clone(), *at))
        })
        .collect();
    assert_eq!(got_singles, expected_singles);
    let mut expected_clusters: Vec<(u64, BTreeMap<String, u64>)> = per_cell
        .iter()
        .filter(|(c, _)| clustered(**c))
        .map(|(_, ts)| {
            let mut per_layer = BTreeMap::new();
            for t in ts {
                *per_layer.entry(t.layer.id().to_owned()).or_insert(0) += 1;
                if t.no_union {
                    *per_layer.entry("no_union".to_owned()).or_insert(0) += 1;
                }
            }
            (ts.len() as u64, per_layer)
        })
        .collect();
    let mut got_clusters: Vec<(u64, BTreeMap<String, u64>)> = decoded
        .clusters
        .iter()
        .map(|(at, n, per)| {
            // A cluster is drawn inside its cell, where most of it is.
            let members = per_cell
                .get(&cell(*at))
                .unwrap_or_else(|| panic!("cluster at {at:?} outside its cells"));
            let (ax, ay) = anchor(cell(*at), members);
            assert!(
                at.0.abs_diff(ax) <= 1 && at.1.abs_diff(ay) <= 1,
                "cluster at {at:?}, its most populous part's mean at {:?}",
                (ax, ay)
            );
            (*n, per.clone())
        })
        .collect();
    expected_clusters.sort();
    got_clusters.sort();
    assert_eq!(got_clusters, expected_clusters);
    assert_eq!(decoded.represented(), truth.len() as u64);
}

/// Tiles of the bundled data hold exactly the features a scan finds, with their
/// attributes, at their pixels.
#[tokio::test]
async fn bundled_tiles_match_a_scan() {
    let data = geodata::load_dir(&common::repo_path("geodata")).unwrap();
    let beijing = LonLat::new(116.40, 39.91).unwrap();
    let mut seen = 0;
    for z in [3u8, 8, 12, 16] {
        let t = tile_of(beijing, z);
        let truth = brute_force(&data, &Layer::ALL, t);
        let path = format!(
            "/tiles/driver_home,courier_station,fitness_station,park/{}/{}/{}.mvt",
            t.z, t.x, t.y
        );
        let (status, body) = tile_bytes(common::app(), &path).await;
        if truth.is_empty() {
            assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{path}");
        let decoded = decode(body);
        check(&decoded, &truth, z);
        seen += truth.len();
        // The attributes of a facility, as the API has them.
        if let Some((_, v)) = decoded.singles.iter().find(|(l, _)| *l != "park") {
            let (id, _, props) = &v[0];
            let (_, api) = get_json(&format!("/api/v1/features/{id}")).await;
            assert_eq!(
                props["name"],
                Value::String(api["properties"]["name"].as_str().unwrap().into())
            );
            assert_eq!(
                props["synthetic"],
                Value::Bool(api["properties"]["synthetic"].as_bool().unwrap())
            );
            assert_eq!(
                props["position_accuracy"],
                Value::String(
                    api["properties"]["position_accuracy"]
                        .as_str()
                        .unwrap()
                        .into()
                )
            );
            assert!(matches!(props["amenities"], Value::UInt(_)));
        }
        if let Some(parks) = decoded.singles.get("park") {
            for (id, _, props) in parks {
                let (_, api) = get_json(&format!("/api/v1/features/{id}")).await;
                match api["properties"]["union_status"].as_str() {
                    Some(s) => assert_eq!(props["union_status"], Value::String(s.into())),
                    None => assert!(!props.contains_key("union_status")),
                }
            }
        }
    }
    assert!(seen > 0, "Beijing's tiles hold bundled features");
}

/// A generated city's tiles cluster dense cells and keep the counts right, for
/// one layer and for composites, at every zoom.
#[tokio::test]
async fn generated_tiles_cluster_exactly() {
    let data = &generated().1;
    let shanghai = LonLat::new(121.47, 31.23).unwrap();
    let mut clustered = 0;
    for layers in [
        vec![Layer::CourierStation],
        vec![Layer::DriverHome, Layer::Park],
        Layer::ALL.to_vec(),
    ] {
        let names: Vec<&str> = layers.iter().map(|l| l.id()).collect();
        for z in [0u8, 4, 7, 10, 13, 16] {
            let t = tile_of(shanghai, z);
            let truth = brute_force(data, &layers, t);
            let path = format!("/tiles/{}/{}/{}/{}.mvt", names.join(","), t.z, t.x, t.y);
            let (status, body) = tile_bytes(generated_app(), &path).await;
            if truth.is_empty() {
                assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{path}");
            let decoded = decode(body);
            check(&decoded, &truth, z);
            clustered += decoded.clusters.len();
            assert!(decoded.singles.keys().all(|l| names.contains(&l.as_str())));
        }
    }
    assert!(
        clustered > 0,
        "the generated set is dense enough to cluster"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Over any tile around the data, single features plus the clusters'
    /// point_count add up to the features in the tile.
    #[test]
    fn cluster_counts_add_up(
        lon in 100.0f64..122.0,
        lat in 21.0f64..42.0,
        z in 0u8..=16,
        mask in 1u8..16,
    ) {
        let data = &generated().1;
        let layers: Vec<Layer> = Layer::ALL.into_iter().filter(|l| mask & (1 << *l as u8) != 0).collect();
        let names: Vec<&str> = layers.iter().map(|l| l.id()).collect();
        let t = tile_of(LonLat::new(lon, lat).unwrap(), z);
        let truth = brute_force(data, &layers, t);
        let path = format!("/tiles/{}/{}/{}/{}.mvt", names.join(","), t.z, t.x, t.y);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, body) = rt.block_on(tile_bytes(generated_app(), &path));
        if truth.is_empty() {
            prop_assert_eq!(status, StatusCode::NO_CONTENT);
        } else {
            prop_assert_eq!(status, StatusCode::OK);
            let decoded = decode(body);
            prop_assert_eq!(decoded.represented(), truth.len() as u64);
            let per_layer_sum: u64 = decoded
                .clusters
                .iter()
                .flat_map(|c| c.2.iter().filter(|(k, _)| *k != "no_union").map(|(_, v)| *v))
                .sum();
            prop_assert_eq!(per_layer_sum, decoded.clusters.iter().map(|c| c.1).sum::<u64>());
        }
    }
}

/// Tiles are MVT with a weak ETag (the gzipped and plain bytes share it) and a
/// cache policy; a matching If-None-Match is a 304, the tag's strong spelling too; an empty tile is a 204; gzip when asked.
#[tokio::test]
async fn headers_etag_304_204_and_gzip() {
    let beijing = tile_of(LonLat::new(116.40, 39.91).unwrap(), 8);
    let path_full = format!(
        "/tiles/driver_home,courier_station,fitness_station,park/8/{}/{}.mvt",
        beijing.x, beijing.y
    );
    let (status, response, body) = get(&path_full).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/vnd.mapbox-vector-tile"
    );
    let etag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
    assert!(
        response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(!body.is_empty());

    let req = Request::get(&path_full)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let (status, response, body) = send(common::app(), req).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()[header::ETAG], etag.as_str());
    assert!(body.is_empty());

    // Weak comparison: the same tag without its weakness mark matches too.
    let req = Request::get(&path_full)
        .header(header::IF_NONE_MATCH, format!("\"x\", {}", &etag[2..]))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(common::app(), req).await.0, StatusCode::NOT_MODIFIED);

    // Another tile has another tag.
    let other = format!("/tiles/park/8/{}/{}.mvt", beijing.x, beijing.y);
    let req = Request::get(&other)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_ne!(send(common::app(), req).await.0, StatusCode::NOT_MODIFIED);

    let req = Request::get(&path_full)
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let (status, response, _) = send(common::app(), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(response.headers()[header::ETAG], etag.as_str());

    // The middle of the Pacific holds nothing.
    let (status, response, body) = get("/tiles/courier_station/10/0/500.mvt").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
    assert!(response.headers().contains_key(header::ETAG));
}

/// Bad tile addresses are 400 with each fault named; unknown layers are 404; both
/// in problem+json.
#[tokio::test]
async fn bad_addresses_and_unknown_layers() {
    for (path, status, param) in [
        ("/tiles/park/17/0/0.mvt", StatusCode::BAD_REQUEST, Some("z")),
        ("/tiles/park/x/0/0.mvt", StatusCode::BAD_REQUEST, Some("z")),
        ("/tiles/park/2/4/0.mvt", StatusCode::BAD_REQUEST, Some("x")),
        ("/tiles/park/2/0/-1.mvt", StatusCode::BAD_REQUEST, Some("y")),
        ("/tiles/park/2/0/0.png", StatusCode::BAD_REQUEST, Some("y")),
        ("/tiles/park/2/0/0", StatusCode::BAD_REQUEST, Some("y")),
        ("/tiles/mosque/2/0/0.mvt", StatusCode::NOT_FOUND, None),
        (
            "/tiles/park,,driver_home/2/0/0.mvt",
            StatusCode::NOT_FOUND,
            None,
        ),
        ("/tiles/mosque.json", StatusCode::NOT_FOUND, None),
        ("/tiles/park.xml", StatusCode::NOT_FOUND, None),
    ] {
        let (got, response, body) = get(path).await;
        assert_eq!(got, status, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if let Some(p) = param {
            let names: Vec<&str> = v["invalid-params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["name"].as_str().unwrap())
                .collect();
            assert!(names.contains(&p), "{path}: {v}");
        }
    }
}

/// TileJSON 3.0: absolute tile URL from the Host, the vector layers and their
/// fields, bounds and zooms.
#[tokio::test]
async fn tilejson_describes_the_set() {
    let req = Request::get("/tiles/park,driver_home.json")
        .header(header::HOST, "maps.example.org:8080")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(common::app(), req).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["tilejson"], "3.0.0");
    assert_eq!(
        v["tiles"][0],
        "http://maps.example.org:8080/tiles/driver_home,park/{z}/{x}/{y}.mvt"
    );
    assert_eq!(
        (v["minzoom"].as_u64(), v["maxzoom"].as_u64()),
        (Some(0), Some(16))
    );
    let ids: Vec<&str> = v["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["driver_home", "park", "park_area", "clusters"]);
    assert_eq!(v["vector_layers"][1]["fields"]["union_status"], "String");
    assert_eq!(v["vector_layers"][2]["fields"]["union_status"], "String");
    assert_eq!(v["vector_layers"][0]["fields"]["amenities"], "Number");
    assert_eq!(v["vector_layers"][3]["fields"]["point_count"], "Number");
    let b: Vec<f64> = v["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(
        b[0] > 70.0 && b[2] < 140.0 && b[1] > 15.0 && b[3] < 55.0,
        "{b:?}"
    );
    assert_eq!(v["amenity_bits"][0], "toilet");
    // Behind a TLS proxy the URL says https.
    let req = Request::get("/tiles/park.json")
        .header(header::HOST, "maps.example.org")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(common::app(), req).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["tiles"][0],
        "https://maps.example.org/tiles/park/{z}/{x}/{y}.mvt"
    );
}
