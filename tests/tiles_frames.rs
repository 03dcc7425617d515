//! Vector tiles in the GCJ-02 frame (`?crs=gcj02`, for Amap and Tencent basemaps)
//! and the park outlines (`park_area`), decoded with an independent MVT decoder
//! (`mvt-reader`) and checked against positions and polygons computed here with
//! `coordtransform`, the Mercator formulas and `geo`'s boolean operations.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use geo::{Area, BooleanOps, Coord, Euclidean, Length, LineString, MultiPolygon, Polygon, Rect};
use mvt_reader::Reader;
use mvt_reader::feature::Value;
use serde_json::{Value as Json, json};
use waystation::geodata::{self, Dataset};
use waystation::http::{AppState, Basemap, router};
use waystation::index::Atlas;
use waystation::model::LonLat;
use waystation::tiles::{MAX_ZOOM, TileId};

use common::{get, send};

/// The two frames, as the test computes them (independently of the crate).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Frame {
    Wgs84,
    Gcj02,
}

impl Frame {
    fn query(self) -> &'static str {
        match self {
            Frame::Wgs84 => "",
            Frame::Gcj02 => "?crs=gcj02",
        }
    }
    fn shift(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Frame::Wgs84 => (lon, lat),
            Frame::Gcj02 => coordtransform::wgs84_to_gcj02(lon, lat),
        }
    }
}

/// A position in tile units (4096 a tile) of zoom `z`, from the world's corner.
fn world_units(lon: f64, lat: f64, z: u8) -> (f64, f64) {
    let n = f64::from(1u32 << z) * 4096.0;
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    (x, y)
}

/// The tile of zoom `z` holding (lon, lat).
fn tile_at(lon: f64, lat: f64, z: u8) -> TileId {
    let (x, y) = world_units(lon, lat, z);
    TileId::new(z, (x / 4096.0) as u32, (y / 4096.0) as u32).unwrap()
}

async fn tile_bytes(app: Router, path: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::get(path).body(Body::empty()).unwrap();
    let (status, _, body) = send(app, req).await;
    (status, body)
}

/// A decoded feature: layer, id, geometry (tile units), properties.
type Decoded = Vec<(String, String, geo::Geometry<f32>, BTreeMap<String, Value>)>;

fn decode(bytes: Vec<u8>) -> Decoded {
    let reader = Reader::new(bytes).expect("a valid tile");
    let mut out = Vec::new();
    for meta in reader.get_layer_metadata().expect("layers") {
        assert_eq!((meta.version, meta.extent), (2, 4096));
        for f in reader.get_features(meta.layer_index).expect("features") {
            let props: BTreeMap<String, Value> =
                f.properties.unwrap_or_default().into_iter().collect();
            let id = match props.get("id") {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            out.push((meta.name.clone(), id, f.geometry, props));
        }
    }
    out
}

fn point(g: &geo::Geometry<f32>) -> (u32, u32) {
    match g {
        geo::Geometry::Point(p) => (p.x() as u32, p.y() as u32),
        geo::Geometry::MultiPoint(m) if m.0.len() == 1 => (m.0[0].x() as u32, m.0[0].y() as u32),
        other => panic!("not a point: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// GCJ-02 points

/// At the last zoom every facility is drawn singly, at the pixel of its GCJ-02
/// position, in the tile that position falls in (the WGS-84 tile beside it does
/// not hold it when the shift crosses an edge).
#[tokio::test]
async fn gcj02_tiles_draw_each_point_where_the_basemap_has_it() {
    let data = geodata::load_dir(&common::repo_path("geodata")).unwrap();
    let z = MAX_ZOOM;
    let mut checked = 0;
    let mut crossed = 0;
    for f in data.facilities.iter().step_by(97).take(40) {
        let (glon, glat) = Frame::Gcj02.shift(f.position.lon(), f.position.lat());
        let (gx, gy) = world_units(glon, glat, z);
        let t = tile_at(glon, glat, z);
        let px = (
            (gx - f64::from(t.x) * 4096.0).floor() as u32,
            (gy - f64::from(t.y) * 4096.0).floor() as u32,
        );
        let path = format!(
            "/tiles/{}/{}/{}/{}.mvt?crs=gcj02",
            f.layer.id(),
            t.z,
            t.x,
            t.y
        );
        let (status, body) = tile_bytes(common::app(), &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let found: Vec<(u32, u32)> = decode(body)
            .iter()
            .filter(|(l, id, _, _)| l == f.layer.id() && id == f.id())
            .map(|(_, _, g, _)| point(g))
            .collect();
        assert_eq!(found, vec![px], "{} in {path}", f.id());
        // The unshifted tile: the point is not where the WGS-84 tiles put it.
        let w = tile_at(f.position.lon(), f.position.lat(), z);
        if w != t {
            crossed += 1;
            let path = format!(
                "/tiles/{}/{}/{}/{}.mvt?crs=gcj02",
                f.layer.id(),
                w.z,
                w.x,
                w.y
            );
            let (status, body) = tile_bytes(common::app(), &path).await;
            if status == StatusCode::OK {
                assert!(
                    !decode(body).iter().any(|(_, id, _, _)| id == f.id()),
                    "{} drawn in its WGS-84 tile {path}",
                    f.id()
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
    // The shift (some hundreds of metres) crosses z16 tiles (about 500 m) often.
    assert!(crossed > 0, "no point changed tile");
}

/// A low-zoom tile in GCJ-02 represents exactly the features whose shifted
/// position falls in it (single points plus the clusters' point_count), and
/// differs from the WGS-84 tile.
#[tokio::test]
async fn gcj02_clusters_count_the_shifted_positions() {
    let data = geodata::load_dir(&common::repo_path("geodata")).unwrap();
    for (lon, lat, z) in [
        (116.40, 39.91, 11u8),
        (121.47, 31.23, 12),
        (113.26, 23.13, 9),
    ] {
        let (glon, glat) = Frame::Gcj02.shift(lon, lat);
        let t = tile_at(glon, glat, z);
        let inside = |p: LonLat| {
            let (x, y) = Frame::Gcj02.shift(p.lon(), p.lat());
            tile_at(x, y, z) == t
        };
        let truth = data
            .facilities
            .iter()
            .filter(|f| inside(f.position))
            .count()
            + data.parks.iter().filter(|p| inside(p.position)).count();
        let path = format!(
            "/tiles/driver_home,courier_station,fitness_station,park/{}/{}/{}.mvt?crs=gcj02",
            t.z, t.x, t.y
        );
        let (status, body) = tile_bytes(common::app(), &path).await;
        if truth == 0 {
            assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{path}");
        let represented: u64 = decode(body)
            .iter()
            .map(|(l, _, _, p)| match (l.as_str(), p.get("point_count")) {
                ("clusters", Some(Value::UInt(n))) => *n,
                ("park_area", _) => 0,
                _ => 1,
            })
            .sum();
        assert_eq!(represented, truth as u64, "{path}");
    }
}

/// The two frames have different ETags for the same address; each revalidates.
#[tokio::test]
async fn gcj02_tiles_have_their_own_etag() {
    let t = tile_at(116.40, 39.91, 8);
    let base = format!(
        "/tiles/driver_home,courier_station,fitness_station,park/8/{}/{}.mvt",
        t.x, t.y
    );
    let (s1, r1, _) = get(&base).await;
    let (s2, r2, _) = get(&format!("{base}?crs=gcj02")).await;
    let (s3, r3, _) = get(&format!("{base}?crs=wgs84")).await;
    assert_eq!(
        (s1, s2, s3),
        (StatusCode::OK, StatusCode::OK, StatusCode::OK)
    );
    let (e1, e2) = (&r1.headers()[header::ETAG], &r2.headers()[header::ETAG]);
    assert_ne!(e1, e2);
    assert_eq!(e1, &r3.headers()[header::ETAG]);
    let req = Request::get(format!("{base}?crs=gcj02"))
        .header(header::IF_NONE_MATCH, e2)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(common::app(), req).await.0, StatusCode::NOT_MODIFIED);
    let req = Request::get(&base)
        .header(header::IF_NONE_MATCH, e2)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(common::app(), req).await.0, StatusCode::OK);
}

/// An unknown, empty or Baidu `crs` is a 400 naming `crs`, on tiles and TileJSON.
#[tokio::test]
async fn bad_crs_is_a_problem_naming_crs() {
    for path in [
        "/tiles/park/2/0/0.mvt?crs=bd09",
        "/tiles/park/2/0/0.mvt?crs=mars",
        "/tiles/park/2/0/0.mvt?crs=",
        "/tiles/park.json?crs=epsg:3857",
        "/tiles/park/2/0/0.mvt?crs=gcj02&crs=wgs84",
    ] {
        let (status, response, body) = get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let v: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["invalid-params"][0]["name"], "crs", "{path}: {v}");
    }
}

/// The GCJ-02 TileJSON keeps the parameter in its tile URL and says its frame;
/// the park set lists the outline layer.
#[tokio::test]
async fn gcj02_tilejson_keeps_the_parameter() {
    let req = Request::get("/tiles/park,driver_home.json?crs=gcj02")
        .header(header::HOST, "maps.example.org")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(common::app(), req).await;
    assert_eq!(status, StatusCode::OK);
    let v: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["tiles"][0],
        "http://maps.example.org/tiles/driver_home,park/{z}/{x}/{y}.mvt?crs=gcj02"
    );
    assert_eq!(v["crs"], "gcj02");
    let ids: Vec<&str> = v["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["driver_home", "park", "park_area", "clusters"]);
    let req = Request::get("/tiles/park,driver_home.json")
        .header(header::HOST, "maps.example.org")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(common::app(), req).await;
    let w: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(w["crs"], "wgs84");
    // Bounds are the WGS-84 corners, shifted (here both corners are in the sea,
    // where coordtransform leaves positions as they are).
    let b = |d: &Json, i: usize| d["bounds"][i].as_f64().unwrap();
    let sw = Frame::Gcj02.shift(b(&w, 0), b(&w, 1));
    let ne = Frame::Gcj02.shift(b(&w, 2), b(&w, 3));
    for (got, want) in [
        (b(&v, 0), sw.0),
        (b(&v, 1), sw.1),
        (b(&v, 2), ne.0),
        (b(&v, 3), ne.1),
    ] {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
}

// ---------------------------------------------------------------------------
// Park outlines

/// A park's id and polygons (each its rings, closed; WGS-84).
type Shape = (String, Vec<Vec<Vec<[f64; 2]>>>);

/// A set of parks with polygons: the bundled synthetic parks' first 60, each
/// given an irregular polygon around its point (some with a hole, some in two
/// parts), and one square across the east edge of a z12 tile with a hole on its
/// west side. Returns the state and each park's rings (WGS-84, closed).
fn outlined() -> &'static (Arc<AppState>, Vec<Shape>) {
    static SET: OnceLock<(Arc<AppState>, Vec<Shape>)> = OnceLock::new();
    SET.get_or_init(|| {
        let text =
            std::fs::read_to_string(common::repo_path("geodata/park.synthetic.geojson")).unwrap();
        let mut fc: Json = serde_json::from_str(&text).unwrap();
        let features = fc["features"].as_array_mut().unwrap();
        features.truncate(60);
        let mut shapes = Vec::new();
        let ngon = |c: [f64; 2], r_km: f64, n: usize, phase: f64, wobble: bool| {
            let mut ring: Vec<[f64; 2]> = (0..n)
                .map(|k| {
                    let a = phase + k as f64 / n as f64 * std::f64::consts::TAU;
                    let r = r_km * if wobble && k % 2 == 1 { 0.6 } else { 1.0 };
                    let dlat = r / 111.0 * a.sin();
                    let dlon = r / (111.0 * c[1].to_radians().cos()) * a.cos();
                    [c[0] + dlon, c[1] + dlat]
                })
                .collect();
            ring.push(ring[0]);
            ring
        };
        for (i, f) in features.iter_mut().enumerate() {
            let c = [
                f["geometry"]["coordinates"][0].as_f64().unwrap(),
                f["geometry"]["coordinates"][1].as_f64().unwrap(),
            ];
            // 0.2 km to 12 km across: below and above a few pixels at each zoom.
            let r = 0.1 * 1.6f64.powi((i % 11) as i32);
            let outer = ngon(c, r, 5 + i % 8, i as f64, i % 3 == 0);
            let mut polys = vec![vec![outer]];
            if i % 4 == 1 {
                let mut hole = ngon(c, r * 0.3, 6, 0.5, false);
                hole.reverse();
                polys[0].push(hole);
            }
            if i % 5 == 2 {
                polys.push(vec![ngon(
                    [c[0] + r / 40.0, c[1] + r / 50.0],
                    r * 0.25,
                    4,
                    0.0,
                    false,
                )]);
            }
            let geometry = if polys.len() == 1 {
                json!({"type": "Polygon", "coordinates": polys[0]})
            } else {
                json!({"type": "MultiPolygon", "coordinates": polys})
            };
            f["geometry"] = geometry;
            shapes.push((f["id"].as_str().unwrap().to_owned(), polys));
        }
        // The square across a tile edge.
        let t = tile_at(116.40, 39.91, 12);
        let east = f64::from(t.x + 1) / 4096.0 * 360.0 - 180.0;
        // The tile's middle row (a square inside one row of tiles).
        let mid = (std::f64::consts::PI * (1.0 - 2.0 * (f64::from(t.y) + 0.5) / 4096.0))
            .sinh()
            .atan()
            .to_degrees();
        let (lat0, lat1) = (mid - 0.005, mid + 0.005);
        let outer = vec![
            [east - 0.01, lat0],
            [east + 0.01, lat0],
            [east + 0.01, lat1],
            [east - 0.01, lat1],
            [east - 0.01, lat0],
        ];
        let hole = vec![
            [east - 0.008, lat0 + 0.002],
            [east - 0.008, lat1 - 0.002],
            [east - 0.004, lat1 - 0.002],
            [east - 0.004, lat0 + 0.002],
            [east - 0.008, lat0 + 0.002],
        ];
        let mut edge = features[0].clone();
        edge["id"] = json!("syn-pk-edge");
        edge["properties"]["id"] = json!("syn-pk-edge");
        edge["properties"]["name"] = json!("跨图块边界的园区");
        edge["geometry"] = json!({"type": "Polygon", "coordinates": [outer.clone(), hole.clone()]});
        features.push(edge);
        shapes.push(("syn-pk-edge".into(), vec![vec![outer, hole]]));

        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            common::repo_path("geodata/holidays_cn.json"),
            dir.path().join("holidays_cn.json"),
        )
        .unwrap();
        std::fs::write(dir.path().join("park.synthetic.geojson"), fc.to_string()).unwrap();
        let data: Dataset = geodata::load_dir(dir.path()).expect("load the outlined parks");
        (AppState::ready(Atlas::new(data), Basemap::None), shapes)
    })
}

fn outlined_app() -> Router {
    router(outlined().0.clone(), common::repo_path("web"))
}

/// A park's polygons in tile units of `t`, in `frame`.
fn in_tile(polys: &[Vec<Vec<[f64; 2]>>], t: TileId, frame: Frame) -> MultiPolygon<f64> {
    let ring = |r: &Vec<[f64; 2]>| -> LineString<f64> {
        r.iter()
            .map(|c| {
                let (lon, lat) = frame.shift(c[0], c[1]);
                let (x, y) = world_units(lon, lat, t.z);
                Coord {
                    x: x - f64::from(t.x) * 4096.0,
                    y: y - f64::from(t.y) * 4096.0,
                }
            })
            .collect()
    };
    MultiPolygon::new(
        polys
            .iter()
            .map(|p| Polygon::new(ring(&p[0]), p[1..].iter().map(ring).collect()))
            .collect(),
    )
}

fn rings(m: &MultiPolygon<f64>) -> usize {
    m.0.iter().map(|p| 1 + p.interiors().len()).sum()
}

fn to_f64(g: &geo::Geometry<f32>) -> MultiPolygon<f64> {
    let ring = |l: &LineString<f32>| -> LineString<f64> {
        l.coords()
            .map(|c| Coord {
                x: f64::from(c.x),
                y: f64::from(c.y),
            })
            .collect()
    };
    let poly = |p: &Polygon<f32>| {
        Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
    };
    match g {
        geo::Geometry::Polygon(p) => MultiPolygon::new(vec![poly(p)]),
        geo::Geometry::MultiPolygon(m) => MultiPolygon::new(m.0.iter().map(poly).collect()),
        other => panic!("not a polygon: {other:?}"),
    }
}

/// Each park with a polygon is in `park_area` from the zoom where it spans a few
/// pixels: clipped to the tile plus its buffer, its area and its ring count those
/// of the polygon cut by the same square (computed with `geo`), holes and parts
/// kept, rings wound as MVT says (a hole wound as an outer ring would be decoded
/// as another part and add its area). In both frames; the park's point stays in
/// `park` (or a cluster).
#[tokio::test]
async fn park_outlines_decode_to_the_clipped_polygons() {
    let (_, shapes) = outlined();
    let (mut drawn, mut holes, mut skipped, mut cut) = (0, 0, 0, 0);
    for frame in [Frame::Wgs84, Frame::Gcj02] {
        for (id, polys) in shapes {
            let c = polys[0][0][0];
            for z in [5u8, 8, 10, 12, 14, 16] {
                let (clon, clat) = frame.shift(c[0], c[1]);
                let t = tile_at(clon, clat, z);
                let whole = in_tile(polys, t, frame);
                let bbox = geo::BoundingRect::bounding_rect(&whole).unwrap();
                let size_px = bbox.width().max(bbox.height()) / 8.0; // 4096 units = 512 px
                let path = format!("/tiles/park/{}/{}/{}.mvt{}", t.z, t.x, t.y, frame.query());
                let (status, body) = tile_bytes(outlined_app(), &path).await;
                let found: Vec<_> = if status == StatusCode::OK {
                    decode(body)
                        .into_iter()
                        .filter(|(l, i, _, _)| l == "park_area" && i == id)
                        .collect()
                } else {
                    Vec::new()
                };
                if size_px < 3.5 {
                    assert!(
                        found.is_empty(),
                        "{id} ({size_px:.1} px) outlined in {path}"
                    );
                    skipped += 1;
                    continue;
                }
                if size_px < 4.5 {
                    continue;
                }
                let clip = Rect::new(
                    Coord { x: -64.0, y: -64.0 },
                    Coord {
                        x: 4160.0,
                        y: 4160.0,
                    },
                )
                .to_polygon();
                let expected = whole.intersection(&MultiPolygon::new(vec![clip]));
                assert_eq!(found.len(), 1, "{id} ({size_px:.1} px) in {path}");
                let (_, _, g, props) = &found[0];
                assert_eq!(props["layer"], Value::String("park".into()));
                let got = to_f64(g);
                let perimeter: f64 = expected
                    .0
                    .iter()
                    .map(|p| {
                        Euclidean.length(p.exterior())
                            + p.interiors()
                                .iter()
                                .map(|r| Euclidean.length(r))
                                .sum::<f64>()
                    })
                    .sum();
                let (a, e) = (got.unsigned_area(), expected.unsigned_area());
                assert!(
                    (a - e).abs() <= 0.75 * perimeter + 4.0,
                    "{id} in {path}: area {a} vs {e} (perimeter {perimeter})"
                );
                // Holes: compare where no hole is cut by the square (a cut hole
                // becomes a notch for geo and a ring along the edge for us). A
                // concave ring cut by the square may be several parts for geo and
                // one ring with zero-width bridges along the edge for us; uncut,
                // every ring is there.
                let hole_cut = whole.0.iter().flat_map(|p| p.interiors()).any(|h| {
                    let b = geo::BoundingRect::bounding_rect(h).unwrap();
                    let inside = b.min().x > -64.0
                        && b.min().y > -64.0
                        && b.max().x < 4160.0
                        && b.max().y < 4160.0;
                    let outside = b.max().x < -64.0
                        || b.max().y < -64.0
                        || b.min().x > 4160.0
                        || b.min().y > 4160.0;
                    !inside && !outside
                });
                let interiors = |m: &MultiPolygon<f64>| -> usize {
                    m.0.iter().map(|p| p.interiors().len()).sum()
                };
                if !hole_cut {
                    assert_eq!(interiors(&got), interiors(&expected), "{id} in {path}");
                }
                assert!(got.0.len() <= expected.0.len(), "{id} in {path}");
                if e < whole.unsigned_area() - 1.0 {
                    cut += 1;
                } else {
                    assert_eq!(rings(&got), rings(&whole), "{id} in {path}");
                }
                holes += got.0.iter().map(|p| p.interiors().len()).sum::<usize>();
                drawn += 1;
            }
        }
    }
    assert!(
        drawn > 100 && holes > 10 && skipped > 20 && cut > 10,
        "{drawn} {holes} {skipped} {cut}"
    );
}

/// The square across the tile edge: in the west tile the outer ring (cut at the
/// edge plus the buffer) and its hole, in the east tile the rest without the hole;
/// the two halves together hold the square's area once, plus the overlap of the
/// buffers.
#[tokio::test]
async fn an_outline_across_a_tile_edge_is_in_both_tiles() {
    let (_, shapes) = outlined();
    let polys = &shapes.iter().find(|(id, _)| id == "syn-pk-edge").unwrap().1;
    let west = tile_at(116.40, 39.91, 12);
    let east = TileId::new(12, west.x + 1, west.y).unwrap();
    let mut parts = BTreeMap::new();
    for t in [west, east] {
        let (status, body) = tile_bytes(
            outlined_app(),
            &format!("/tiles/park/12/{}/{}.mvt", t.x, t.y),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let f = decode(body)
            .into_iter()
            .find(|(l, id, _, _)| l == "park_area" && id == "syn-pk-edge")
            .expect("the outline is in both tiles");
        parts.insert(t.x, to_f64(&f.2));
    }
    let (w, e) = (&parts[&west.x], &parts[&east.x]);
    assert_eq!((rings(w), rings(e)), (2, 1));
    // West: x runs to the edge plus the buffer; east: from the buffer before it.
    let wb = geo::BoundingRect::bounding_rect(w).unwrap();
    let eb = geo::BoundingRect::bounding_rect(e).unwrap();
    assert_eq!((wb.max().x, eb.min().x), (4096.0 + 64.0, -64.0));
    let whole_w = in_tile(polys, west, Frame::Wgs84);
    let buffer_strip = 128.0 * (wb.max().y - wb.min().y);
    let sum = w.unsigned_area() + e.unsigned_area();
    let truth = whole_w.unsigned_area() + buffer_strip;
    assert!((sum - truth).abs() < 0.01 * truth, "{sum} vs {truth}");
}

/// Without polygons nothing changes: the bundled data has none, and its tiles
/// have no `park_area` layer.
#[tokio::test]
async fn bundled_parks_have_no_outlines() {
    let t = tile_at(116.40, 39.91, 10);
    let (status, body) = tile_bytes(
        common::app(),
        &format!("/tiles/park/10/{}/{}.mvt", t.x, t.y),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let layers: BTreeSet<String> = decode(body).into_iter().map(|(l, ..)| l).collect();
    assert!(!layers.contains("park_area"), "{layers:?}");
}
