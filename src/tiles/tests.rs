//! The two-level tile index against a fresh one: a generation's tiles (its base's
//! runs, shared, plus the overlay of its delta) must be those of an index built
//! from scratch over the same data ([`Atlas::rebuilt`]), whatever the edits.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::value::RawValue;

use super::index::{Cluster, Single};
use super::*;
use crate::geodata::Dataset;
use crate::model::hours::{Calendar, Schedules};
use crate::model::{Facility, LonLat, Park};

/// Positions in two dense places (so cells cluster and quarters compete) and
/// anywhere in China.
fn position() -> impl Strategy<Value = LonLat> {
    prop_oneof![
        (121.3..121.6f64, 31.1..31.3f64),
        (116.3..116.32f64, 39.9..39.92f64),
        (73.0..135.0f64, 18.0..54.0f64),
    ]
    .prop_map(|(lon, lat)| LonLat::new(lon, lat).expect("in range"))
}

/// An edit: write facility `f{n}` (a create, or a replace of the one with that
/// id), write park `p{n}` (union state, with an outline or not), or delete `f{n}` /
/// `p{n}` (an unknown id included).
#[derive(Clone, Debug)]
enum Op {
    PutFacility(usize, LonLat, usize),
    PutPark(usize, LonLat, u8, bool),
    Delete(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..160usize, position(), 0..3usize).prop_map(|(n, p, l)| Op::PutFacility(n, p, l)),
        (0..30usize, position(), 0..3u8, any::<bool>())
            .prop_map(|(n, p, s, a)| Op::PutPark(n, p, s, a)),
        (0..160usize, any::<bool>()).prop_map(|(n, park)| Op::Delete(n, park)),
    ]
}

fn facility(n: usize, p: LonLat, layer: usize) -> Facility {
    crate::coverage::test_data::facility(n, Layer::FACILITIES[layer], p)
}

/// A park: `status` 0 without a union, 1 partly unionised, 2 unknown; with an
/// outline (a square of about 2 km) when `area`.
fn park(n: usize, p: LonLat, status: u8, area: bool) -> Park {
    let members = match status {
        0 => Some(0),
        1 => Some(50),
        _ => None,
    };
    let mut park = crate::coverage::test_data::park(n, p, Some(100), members);
    if status == 2 {
        park.union_status = None;
    }
    if area {
        let (lon, lat, d) = (p.lon(), p.lat(), 0.01);
        let json = format!(
            r#"{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{e}],[{a},{e}],[{a},{b}]]]}}"#,
            a = lon - d,
            b = lat - d,
            c = lon + d,
            e = lat + d
        );
        park.geometry = RawValue::from_string(json).ok();
    }
    park
}

/// A base of random features, then batches of edits, each published as a new
/// generation over the same base, or folded into a new base after the batch;
/// with every position seen (to pick tiles from).
fn edited() -> impl Strategy<Value = (Arc<Atlas>, Vec<LonLat>)> {
    (
        prop::collection::vec((position(), 0..3usize), 0..120),
        prop::collection::vec((position(), 0..3u8, any::<bool>()), 0..20),
        prop::collection::vec((prop::collection::vec(op(), 0..30), any::<bool>()), 1..4),
    )
        .prop_map(|(base_f, base_p, batches)| {
            let schedules = Schedules::new(Calendar::bundled());
            let mut seen: Vec<LonLat> = base_f.iter().map(|(p, _)| *p).collect();
            seen.extend(base_p.iter().map(|(p, ..)| *p));
            let mut atlas = Atlas::new(Dataset::from_parts(
                (base_f.into_iter().enumerate())
                    .map(|(n, (p, l))| facility(n, p, l))
                    .collect(),
                (base_p.into_iter().enumerate())
                    .map(|(n, (p, s, a))| park(n, p, s, a))
                    .collect(),
                schedules.clone(),
            ));
            let (mut delta_f, mut delta_p) = (Vec::<Facility>::new(), Vec::<Park>::new());
            for (batch, rebuild) in batches {
                let mut touched = Vec::new();
                for op in batch {
                    let id = match &op {
                        Op::PutFacility(n, ..) | Op::Delete(n, false) => format!("f{n}"),
                        Op::PutPark(n, ..) | Op::Delete(n, true) => format!("p{n}"),
                    };
                    delta_f.retain(|f| f.id() != id);
                    delta_p.retain(|p| *p.id != *id);
                    match op {
                        Op::PutFacility(n, p, l) => {
                            seen.push(p);
                            delta_f.push(facility(n, p, l));
                        }
                        Op::PutPark(n, p, s, a) => {
                            seen.push(p);
                            delta_p.push(park(n, p, s, a));
                        }
                        Op::Delete(..) => {}
                    }
                    touched.push(id);
                }
                let data = Dataset::from_parts(delta_f.clone(), delta_p.clone(), schedules.clone());
                atlas = atlas.with_delta(data, touched.iter().map(String::as_str));
                if rebuild {
                    atlas = atlas.rebuilt();
                    delta_f.clear();
                    delta_p.clear();
                }
            }
            (Arc::new(atlas), seen)
        })
}

/// A selection as sets of singles (by feature id) and the clusters in cell order.
type Selected = (BTreeSet<(Layer, String, u32, u32)>, Vec<Cluster>);

fn selected(atlas: &Atlas, (singles, clusters): (Vec<Single>, Vec<Cluster>)) -> Selected {
    let singles = singles
        .into_iter()
        .map(|s| {
            let id = if s.layer.is_facility() {
                atlas.facility(s.index).id().to_owned()
            } else {
                atlas.park(s.index).id.to_string()
            };
            (s.layer, id, s.x, s.y)
        })
        .collect();
    (singles, clusters)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every tile of an edited generation (the base's runs plus the overlay of
    /// its delta) equals the tile of a fresh index over the same data: the single
    /// features as sets (by id and pixel), the clusters with their counts, counts
    /// per layer, parks without a union and positions, and the encoded bytes
    /// (outlines included), at every zoom, in both frames, for several layer sets.
    #[test]
    fn overlay_equals_fresh_index((atlas, seen) in edited()) {
        let fresh_atlas = atlas.rebuilt();
        let sets: [LayerSet; 4] = [
            Layer::ALL.into_iter().collect(),
            [Layer::Park].into_iter().collect(),
            [Layer::CourierStation, Layer::FitnessStation].into_iter().collect(),
            [Layer::DriverHome].into_iter().collect(),
        ];
        for frame in Frame::ALL {
            let index = TileIndex::of(&atlas, frame);
            let fresh = TileIndex::new_in(&fresh_atlas, frame);
            prop_assert_eq!(fresh.overlay_len(), 0);
            for z in [0u8, 3, 6, 9, 12, 14, 16] {
                let tiles: BTreeSet<(u32, u32)> = seen
                    .iter()
                    .map(|p| tile_of(frame.shift_point(*p), z))
                    .map(|t| (t.x, t.y))
                    .collect();
                for (x, y) in tiles {
                    let tile = TileId { z, x, y };
                    for layers in sets {
                        let cluster = z < MAX_ZOOM;
                        prop_assert_eq!(
                            selected(&atlas, index.select(layers, tile, cluster, CELL_MAX)),
                            selected(&fresh_atlas, fresh.select(layers, tile, cluster, CELL_MAX)),
                            "{:?} {:?} {:?}", frame, tile, layers
                        );
                        prop_assert_eq!(
                            render(&atlas, &index, layers, tile).bytes,
                            render(&fresh_atlas, &fresh, layers, tile).bytes,
                            "{:?} {:?} {:?}", frame, tile, layers
                        );
                    }
                }
            }
        }
    }
}

/// A generation over an indexed base shares its base's runs and builds only the
/// overlay of its delta, without a trip to the blocking pool ([`TileIndex::cached`]
/// builds it in place); a new base gets runs of its own, sorted by the rebuild.
#[test]
fn generations_share_their_base_runs() {
    let schedules = Schedules::new(Calendar::bundled());
    let p = |lon: f64| LonLat::new(lon, 31.2).expect("in range");
    let base = Arc::new(Atlas::new(Dataset::from_parts(
        (0..50)
            .map(|n| facility(n, p(121.0 + n as f64 * 0.01), n % 3))
            .collect(),
        vec![park(0, p(121.2), 0, true)],
        schedules.clone(),
    )));
    assert!(TileIndex::cached(&base, Frame::Wgs84).is_none());
    let first = TileIndex::of(&base, Frame::Wgs84);
    assert_eq!(first.overlay_len(), 0);
    let delta = Dataset::from_parts(
        vec![facility(7, p(121.5), 1), facility(900, p(121.6), 2)],
        Vec::new(),
        schedules,
    );
    let edited = Arc::new(base.with_delta(delta, ["f7", "f8", "p0"]));
    let second = TileIndex::cached(&edited, Frame::Wgs84).expect("built in place");
    assert!(first.shares_base(&second));
    // Two written, f7's and f8's old places and p0 dead.
    assert_eq!(second.overlay_len(), 5);
    // The rebuild of the base sorts the new base's runs in the frames in use
    // (WGS-84 here), so its first tile waits for nothing; not in the others.
    let rebuilt = Arc::new(edited.rebuilt());
    let third = TileIndex::cached(&rebuilt, Frame::Wgs84).expect("prepared by the rebuild");
    assert!(!first.shares_base(&third));
    assert_eq!(third.overlay_len(), 0);
    assert!(TileIndex::cached(&rebuilt, Frame::Gcj02).is_none());
}
