//! Vector tiles (Mapbox Vector Tile 2.1) of the served generation, for the web map
//! and for any MVT client (QGIS, MapLibre, OpenLayers).
//!
//! - [`mercator`]: z/x/y ↔ Web-Mercator bounds, the tile and pixel of a point.
//! - [`index`]: the per-generation [`TileIndex`] (features along a Z-order curve):
//!   selection and clustering by runs of the curve; the runs of a base are sorted
//!   once and shared by its generations, each adding a small overlay of its edits.
//! - [`mvt`]: the MVT encoder.
//! - [`frame`]: the frame a tile set is drawn in (WGS-84, or GCJ-02 for Amap and
//!   Tencent basemaps): the index of each frame is built on shifted positions.
//! - [`areas`]: the park outlines (polygons clipped to the tile) in [`AREAS_LAYER`].
//!
//! A tile is made in four steps ([`render`]):
//! 1. select: the tile is one run of each requested layer in the [`TileIndex`]
//!    (features sorted along a Z-order curve of their Mercator position), so every
//!    feature is in exactly one tile per zoom (edges are half-open);
//! 2. cluster: below [`MAX_ZOOM`] the tile is cut into [`GRID`]×[`GRID`] cells
//!    (each cell is one tile of zoom z+2, 128 px on a 512 px tile); a cell holding
//!    more than [`CELL_MAX`] feature of the requested layers becomes one cluster,
//!    drawn where most of it is (the mean of its most populous 8 px part, found
//!    by halving the cell four times: never in the empty sea between cities), carrying `point_count` and a count per layer (keys
//!    named after the layers). A cell with a single feature keeps it, so sparse
//!    places show single points even at low zoom. At [`MAX_ZOOM`] nothing is
//!    clustered: clustering stops there, and deeper zooms over-zoom its tiles;
//! 3. encode: one MVT layer per requested layer for the features (named after
//!    the layer: `driver_home`, …), one layer [`CLUSTERS_LAYER`], and with `park`
//!    the outlines of the parks that have a polygon big enough to see at this
//!    zoom in [`AREAS_LAYER`] (never clustered; the park's point stays in `park`
//!    or in a cluster as before);
//! 4. the HTTP edge (`http::tiles`) adds the ETag, caching, gzip, and answers an
//!    empty tile with 204.
//!
//! Feature attributes are the minimum the map draws and filters with: `id` (for
//! the detail at `/api/v1/features/{id}`), `layer`, `name`, `synthetic`,
//! `position_accuracy`, and `amenities` (facilities: the [`AmenitySet`] bits, bit
//! `i` being [`Amenity::ALL`]`[i]`) or `union_status` (parks).

pub mod areas;
pub mod frame;
pub mod index;
pub mod mercator;
pub mod mvt;
#[cfg(test)]
mod tests;

pub use areas::AREAS_LAYER;
pub use frame::Frame;
pub use index::TileIndex;
pub use mercator::{TileId, tile_of};

use crate::index::Atlas;
use crate::model::{Amenity, AmenitySet, Layer, LayerSet};
use mvt::{LayerWriter, Value};

/// The lowest zoom served.
pub const MIN_ZOOM: u8 = 0;
/// The highest zoom served; clustering stops here.
pub const MAX_ZOOM: u8 = 16;
/// Cells per side of a tile for clustering, as a power of two: a cell is a tile of
/// zoom z+2, 128 px on a 512 px tile (close to what MapLibre's own clustering with a
/// 48 px radius merges, so a city is one cluster per layer at low zoom).
pub const GRID_BITS: u8 = 2;
/// Cells per side of a tile for clustering.
pub const GRID: u32 = 1 << GRID_BITS;
/// A cell with more features than this becomes a cluster (so two features that
/// would overlap on the screen are never drawn apart below [`MAX_ZOOM`]).
pub const CELL_MAX: usize = 1;
/// The MVT layer that holds the clusters.
pub const CLUSTERS_LAYER: &str = "clusters";

/// The attributes of facility features, in key order.
pub const FACILITY_KEYS: &[&str] = &[
    "id",
    "layer",
    "name",
    "amenities",
    "synthetic",
    "position_accuracy",
];
/// The attributes of park features, in key order.
pub const PARK_KEYS: &[&str] = &[
    "id",
    "layer",
    "name",
    "union_status",
    "synthetic",
    "position_accuracy",
];
/// The attributes of clusters, in key order: the total, one count per layer (a
/// layer not requested or absent from the cell is left out), and the parks without
/// a union among them (left out when none).
pub const CLUSTER_KEYS: &[&str] = &[
    "point_count",
    "driver_home",
    "courier_station",
    "fitness_station",
    "park",
    "no_union",
];

/// A rendered tile and what it holds.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    /// The MVT bytes (empty when the tile holds nothing).
    pub bytes: Vec<u8>,
    /// Single features written.
    pub points: usize,
    /// Clusters written.
    pub clusters: usize,
    /// Features represented: single features plus the clusters' `point_count`s.
    pub represented: usize,
    /// Park outlines written (in [`AREAS_LAYER`]; their parks are counted above).
    pub areas: usize,
}

impl Rendered {
    /// Whether the tile holds nothing (answered as 204).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The tile `tile` of `layers` in the generation `atlas`, whose tile index is
/// `index` (see the module docs).
pub fn render(atlas: &Atlas, index: &TileIndex, layers: LayerSet, tile: TileId) -> Rendered {
    let (singles, clusters) = index.select(layers, tile, tile.z < MAX_ZOOM, CELL_MAX);
    let outlines = if layers.contains(Layer::Park) && index.has_outlines() {
        index.outlines(tile)
    } else {
        Vec::new()
    };
    if singles.is_empty() && clusters.is_empty() && outlines.is_empty() {
        return Rendered::default();
    }
    let mut out = Rendered {
        bytes: Vec::with_capacity(singles.len() * 64 + clusters.len() * 24 + 64),
        ..Default::default()
    };
    for layer in layers.iter() {
        let keys = if layer.is_facility() {
            FACILITY_KEYS
        } else {
            PARK_KEYS
        };
        let mut w = LayerWriter::new(layer.id(), keys);
        for c in singles.iter().filter(|c| c.layer == layer) {
            write_feature(atlas, &mut w, c);
        }
        out.points += w.len();
        w.finish_into(&mut out.bytes);
    }
    let mut w = LayerWriter::new(CLUSTERS_LAYER, CLUSTER_KEYS);
    let mut attrs = Vec::with_capacity(CLUSTER_KEYS.len());
    for c in &clusters {
        attrs.clear();
        attrs.push((0, Value::Uint(c.count as u64), true));
        for layer in Layer::ALL {
            let n = c.per_layer[layer as usize];
            if n > 0 {
                attrs.push((1 + layer as usize, Value::Uint(n as u64), true));
            }
        }
        if c.no_union > 0 {
            attrs.push((1 + Layer::ALL.len(), Value::Uint(c.no_union as u64), true));
        }
        w.point(None, c.x, c.y, &attrs);
        out.represented += c.count;
    }
    out.clusters = w.len();
    out.represented += out.points;
    w.finish_into(&mut out.bytes);
    let mut w = LayerWriter::new(AREAS_LAYER, PARK_KEYS);
    for (i, rings) in &outlines {
        w.polygon(Some(u64::from(*i)), rings, &park_attrs(atlas.park(*i)));
    }
    out.areas = w.len();
    w.finish_into(&mut out.bytes);
    out
}

/// A park's attributes (as [`PARK_KEYS`]), for its point and its outline.
fn park_attrs(park: &crate::model::Park) -> Vec<(usize, Value<'_>, bool)> {
    let p = &park.provenance;
    let status = park.union_status.map(|s| match s {
        crate::model::UnionStatus::None => "none",
        crate::model::UnionStatus::Partial => "partial",
        crate::model::UnionStatus::Full => "full",
    });
    let mut attrs = vec![
        (0, Value::Str(&park.id), false),
        (1, Value::Str(Layer::Park.id()), true),
        (2, Value::Str(&park.name), false),
        (4, Value::Bool(p.synthetic), true),
        (5, Value::Str(p.position_accuracy.id()), true),
    ];
    if let Some(s) = status {
        attrs.push((3, Value::Str(s), true));
    }
    attrs
}

fn write_feature(atlas: &Atlas, w: &mut LayerWriter, c: &index::Single) {
    if c.layer.is_facility() {
        let f = atlas.facility(c.index);
        let p = &f.provenance;
        w.point(
            Some(u64::from(c.index)),
            c.x,
            c.y,
            &[
                (0, Value::Str(f.id()), false),
                (1, Value::Str(c.layer.id()), true),
                (2, Value::Str(f.name()), false),
                (3, Value::Uint(u64::from(f.amenities.bits())), true),
                (4, Value::Bool(p.synthetic), true),
                (5, Value::Str(p.position_accuracy.id()), true),
            ],
        );
    } else {
        let attrs = park_attrs(atlas.park(c.index));
        w.point(Some(u64::from(c.index)), c.x, c.y, &attrs);
    }
}

/// The amenity ids in bit order: bit `i` of a feature's `amenities` is `AMENITY_BITS[i]`.
pub fn amenity_bits() -> Vec<&'static str> {
    let mut ids: Vec<(u32, &'static str)> = Amenity::ALL
        .iter()
        .map(|a| {
            let mut s = AmenitySet::default();
            s.insert(*a);
            (s.bits().trailing_zeros(), a.id())
        })
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(|(_, id)| id).collect()
}
