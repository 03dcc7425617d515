//! Random datasets for the coverage tests: facilities of the three layers and parks
//! with partly known counts, clustered so radius counts are not all 0, with some near
//! the poles and the antimeridian.

use proptest::prelude::*;

use crate::geodata::Dataset;
use crate::index::Atlas;
use crate::model::Shared;
use crate::model::hours::{Calendar, Schedules};
use crate::model::{
    AmenitySet, Facility, FacilityText, Layer, LonLat, Park, ParkCounts, PositionAccuracy,
    Provenance, TextFields, UnionStatus,
};

fn provenance() -> Provenance {
    Provenance {
        source: Shared::new("test"),
        position_accuracy: PositionAccuracy::Approximate,
        synthetic: true,
        updated: None,
        notes: None,
    }
}

/// A facility with nothing but a layer and a place.
pub fn facility(i: usize, layer: Layer, p: LonLat) -> Facility {
    Facility {
        text: FacilityText::new(TextFields {
            id: &format!("f{i}"),
            name: &format!("设施{i}"),
            ..TextFields::default()
        }),
        layer,
        position: p,
        city: Some(Shared::new(if i.is_multiple_of(2) {
            "甲市"
        } else {
            "乙市"
        })),
        district: None,
        amenities: AmenitySet::default(),
        hours: None,
        operator: None,
        grade: None,
        provenance: provenance(),
    }
}

/// A park with the given counts (workers, members).
pub fn park(i: usize, p: LonLat, workers: Option<u32>, members: Option<u32>) -> Park {
    let counts = ParkCounts {
        enterprises: workers.map(|w| w / 10 + 1),
        unionised_enterprises: members.map(|m| m / 20),
        workers,
        union_members: members.map(|m| m.min(workers.unwrap_or(m))),
    };
    Park {
        id: format!("p{i}").into(),
        name: format!("园区{i}").into(),
        name_en: None,
        city: Some(Shared::new(if i.is_multiple_of(3) {
            "甲市"
        } else {
            "乙市"
        })),
        district: Some(Shared::new(if i.is_multiple_of(2) {
            "东区"
        } else {
            "西区"
        })),
        park_type: None,
        union_status: counts.derived_status().or(Some(UnionStatus::None)),
        counts,
        union_founded: None,
        counts_as_of: None,
        position: p,
        geometry: None,
        provenance: provenance(),
    }
}

/// Positions: mostly in a small cluster (so radii catch several), some anywhere,
/// some at the poles and across ±180°.
pub fn position() -> impl Strategy<Value = LonLat> {
    prop_oneof![
        6 => (116.0..116.3f64, 39.8..40.0f64),
        1 => (-180.0..=180.0f64, -90.0..=90.0f64),
        1 => (-180.0..=180.0f64, 88.0..=90.0f64),
        1 => (prop_oneof![179.9..=180.0f64, -180.0..=-179.9f64], -1.0..=1.0f64),
    ]
    .prop_map(|(lon, lat)| LonLat::new(lon, lat).unwrap())
}

/// An atlas of up to 60 facilities (layer by draw) and 1 to 30 parks.
pub fn atlas() -> impl Strategy<Value = Atlas> {
    (
        prop::collection::vec((0usize..3, position()), 0..60),
        prop::collection::vec(
            (
                position(),
                prop::option::of(0u32..5_000),
                prop::option::of(0u32..5_000),
            ),
            1..30,
        ),
    )
        .prop_map(|(fs, ps)| {
            let facilities = fs
                .into_iter()
                .enumerate()
                .map(|(i, (l, p))| facility(i, Layer::FACILITIES[l], p))
                .collect();
            let parks = ps
                .into_iter()
                .enumerate()
                .map(|(i, (p, w, m))| park(i, p, w, m))
                .collect();
            Atlas::new(Dataset::from_parts(
                facilities,
                parks,
                Schedules::new(Calendar::bundled()),
            ))
        })
}
