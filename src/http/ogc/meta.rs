//! What the OGC routes compute once per generation of the data: each feature's
//! `updated` date as a day number (the `datetime` filter compares integers, not
//! strings), each layer's temporal extent, and the parks drawn as polygons (a
//! `bbox` must catch a polygon it crosses even when its centroid, which the
//! R-tree holds, lies outside).
//!
//! Held for the latest generation only, keyed by the generation itself (a weak
//! pointer: the allocation cannot be reused while the key exists). An edit
//! publishes a new generation, and the next OGC request computes these again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use chrono::{Datelike, NaiveDate};
use geo::BoundingRect;
use serde::Deserialize;

use crate::index::Atlas;
use crate::model::{Layer, Provenance};

/// The day number of a feature without an `updated` date.
pub const NO_DAY: i32 = i32::MIN;

/// A park whose geometry is a polygon.
pub struct PolygonPark {
    /// Index into the parks.
    pub index: u32,
    /// Its shape.
    pub shape: geo::MultiPolygon<f64>,
    /// Its bounding box.
    pub bounds: geo::Rect<f64>,
}

/// The per-generation facts.
pub struct Meta {
    /// Days from the common era of each facility's `updated` (or [`NO_DAY`]).
    pub facility_days: Vec<i32>,
    /// The same for each park.
    pub park_days: Vec<i32>,
    /// The earliest and latest `updated` of each layer (in `Layer::ALL` order).
    pub temporal: [Option<(NaiveDate, NaiveDate)>; 4],
    /// The parks given as polygons or multipolygons.
    pub polygons: Vec<PolygonPark>,
}

type Cached = Option<(Weak<Atlas>, Arc<Meta>)>;
static CACHE: Mutex<Cached> = Mutex::new(None);

/// The facts of `atlas`, computed on first use.
pub fn of(atlas: &Arc<Atlas>) -> Arc<Meta> {
    // Computed under the lock: concurrent first requests wait for one computation.
    // A poisoned lock only means a panic mid-computation; the slot is then empty
    // or whole.
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((key, meta)) = cache.as_ref()
        && Weak::ptr_eq(key, &Arc::downgrade(atlas))
    {
        return meta.clone();
    }
    let meta = Arc::new(compute(atlas));
    *cache = Some((Arc::downgrade(atlas), meta.clone()));
    meta
}

/// The day number of a provenance's `updated`; the few distinct dates are
/// parsed once each.
fn day<'a>(p: &'a Provenance, seen: &mut HashMap<&'a str, i32>) -> i32 {
    let Some(s) = p.updated.as_deref() else {
        return NO_DAY;
    };
    *seen.entry(s).or_insert_with(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or(NO_DAY, |d| d.num_days_from_ce())
    })
}

fn compute(atlas: &Atlas) -> Meta {
    let data = atlas.data();
    let mut seen = HashMap::new();
    let facility_days: Vec<i32> = data
        .facilities
        .iter()
        .map(|f| day(&f.provenance, &mut seen))
        .collect();
    let park_days: Vec<i32> = data
        .parks
        .iter()
        .map(|p| day(&p.provenance, &mut seen))
        .collect();
    let mut range = [(i32::MAX, i32::MIN); 4];
    let mut widen = |layer: Layer, d: i32| {
        if d != NO_DAY {
            let r = &mut range[layer as usize];
            *r = (r.0.min(d), r.1.max(d));
        }
    };
    for (f, d) in data.facilities.iter().zip(&facility_days) {
        widen(f.layer, *d);
    }
    for d in &park_days {
        widen(Layer::Park, *d);
    }
    let temporal = range.map(|(lo, hi)| {
        Some((
            NaiveDate::from_num_days_from_ce_opt(lo)?,
            NaiveDate::from_num_days_from_ce_opt(hi)?,
        ))
        .filter(|_| lo <= hi)
    });
    let polygons = data
        .parks
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let raw = p.geometry.as_deref()?.get();
            // Most parks are points: skip them without parsing.
            if !raw.contains("Polygon") {
                return None;
            }
            let shape = polygon(raw)?;
            let bounds = shape.bounding_rect()?;
            Some(PolygonPark {
                index: i as u32,
                shape,
                bounds,
            })
        })
        .collect();
    Meta {
        facility_days,
        park_days,
        temporal,
        polygons,
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum RawGeometry {
    Polygon(Vec<Vec<Vec<f64>>>),
    MultiPolygon(Vec<Vec<Vec<Vec<f64>>>>),
}

/// A (validated) GeoJSON Polygon or MultiPolygon as a geo shape.
fn polygon(raw: &str) -> Option<geo::MultiPolygon<f64>> {
    let ring = |r: &Vec<Vec<f64>>| -> geo::LineString<f64> {
        r.iter()
            .filter_map(|c| match c.as_slice() {
                [x, y, ..] => Some(geo::coord! { x: *x, y: *y }),
                _ => None,
            })
            .collect()
    };
    let poly = |rings: &Vec<Vec<Vec<f64>>>| -> Option<geo::Polygon<f64>> {
        let (outer, inner) = rings.split_first()?;
        Some(geo::Polygon::new(
            ring(outer),
            inner.iter().map(ring).collect(),
        ))
    };
    match serde_json::from_str(raw).ok()? {
        RawGeometry::Polygon(rings) => Some(geo::MultiPolygon::new(vec![poly(&rings)?])),
        RawGeometry::MultiPolygon(polys) => Some(geo::MultiPolygon::new(
            polys.iter().filter_map(poly).collect(),
        )),
    }
}
