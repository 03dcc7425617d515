//! Features as GeoJSON: the properties of each kind, plus what a query adds.
//!
//! Serialised straight from the in-memory records with borrowed strings: no
//! intermediate `serde_json::Value` tree.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;

use crate::geodata::coords::{NavLinks, nav_links};
use crate::index::{Atlas, Hit, sphere};
use crate::model::{
    AmenitySet, Facility, Grade, Layer, LonLat, Park, ParkType, Provenance, UnionStatus,
};

/// What a nearest query adds to a facility's properties.
#[derive(Serialize)]
pub struct Extra {
    /// Whole metres.
    pub distance_m: u64,
    /// Initial bearing from the query point, one decimal.
    pub bearing_deg: f64,
    /// Open at the query instant; null when hours are unknown.
    pub open_now: Option<bool>,
    /// Links to navigate there.
    pub links: NavLinks,
}

/// A nearest-query hit as a Feature: the facility plus distance, bearing,
/// open-now and navigation links.
pub fn hit<'a>(atlas: &'a Atlas, origin: LonLat, hit: &Hit) -> Feature<'a, impl Serialize + 'a> {
    let f = atlas.facility(hit.facility);
    let extra = Extra {
        distance_m: hit.distance_m.round() as u64,
        bearing_deg: (sphere::initial_bearing_deg(origin, f.position) * 10.0).round() / 10.0,
        open_now: hit.open,
        links: nav_links(f.position, f.name()),
    };
    facility(atlas, f, extra)
}

/// Detail added to a single-feature answer.
#[derive(Serialize)]
pub struct Detail {
    /// Open now; null when unknown.
    pub open_now: Option<bool>,
    /// Links to navigate there.
    pub links: NavLinks,
}

struct Amenities(AmenitySet);

impl Serialize for Amenities {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|a| a.id()))
    }
}

#[derive(Serialize)]
struct ProvenanceProps<'a> {
    source: &'a str,
    position_accuracy: &'static str,
    synthetic: bool,
    updated: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

impl<'a> From<&'a Provenance> for ProvenanceProps<'a> {
    fn from(p: &'a Provenance) -> Self {
        ProvenanceProps {
            source: &p.source,
            position_accuracy: p.position_accuracy.id(),
            synthetic: p.synthetic,
            updated: p.updated.as_deref(),
            notes: p.notes.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct FacilityProps<'a, X: Serialize> {
    id: &'a str,
    layer: &'static str,
    name: &'a str,
    name_en: Option<&'a str>,
    address: Option<&'a str>,
    city: Option<&'a str>,
    district: Option<&'a str>,
    amenities: Amenities,
    opening_hours: Option<&'a str>,
    phone: Option<&'a str>,
    operator: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grade: Option<Grade>,
    #[serde(flatten)]
    provenance: ProvenanceProps<'a>,
    #[serde(flatten)]
    extra: X,
}

#[derive(Serialize)]
struct ParkProps<'a, X: Serialize> {
    id: &'a str,
    layer: &'static str,
    name: &'a str,
    name_en: Option<&'a str>,
    city: Option<&'a str>,
    district: Option<&'a str>,
    park_type: Option<ParkType>,
    enterprises: Option<u32>,
    unionised_enterprises: Option<u32>,
    workers: Option<u32>,
    union_members: Option<u32>,
    union_status: Option<UnionStatus>,
    union_founded: Option<&'a str>,
    counts_as_of: Option<&'a str>,
    #[serde(flatten)]
    provenance: ProvenanceProps<'a>,
    #[serde(flatten)]
    extra: X,
}

/// A GeoJSON Feature around any properties.
pub struct Feature<'a, P> {
    id: &'a str,
    point: LonLat,
    raw_geometry: Option<&'a RawValue>,
    properties: P,
}

impl<P: Serialize> Serialize for Feature<'_, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Point {
            #[serde(rename = "type")]
            kind: &'static str,
            coordinates: [f64; 2],
        }
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", "Feature")?;
        m.serialize_entry("id", self.id)?;
        match self.raw_geometry {
            Some(raw) => m.serialize_entry("geometry", raw)?,
            None => m.serialize_entry(
                "geometry",
                &Point {
                    kind: "Point",
                    coordinates: [self.point.lon(), self.point.lat()],
                },
            )?,
        }
        m.serialize_entry("properties", &self.properties)?;
        m.end()
    }
}

/// A facility as a Feature, with `extra` properties appended.
pub fn facility<'a, X: Serialize + 'a>(
    atlas: &'a Atlas,
    f: &'a Facility,
    extra: X,
) -> Feature<'a, impl Serialize + 'a> {
    let schedules = &atlas.data().schedules;
    Feature {
        id: f.id(),
        point: f.position,
        raw_geometry: None,
        properties: FacilityProps {
            id: f.id(),
            layer: f.layer.id(),
            name: f.name(),
            name_en: f.name_en(),
            address: f.address(),
            city: f.city.as_deref(),
            district: f.district.as_deref(),
            amenities: Amenities(f.amenities),
            opening_hours: f.hours.map(|h| schedules.text(h)),
            phone: f.phone(),
            operator: f.operator.as_deref(),
            grade: f.grade,
            provenance: (&f.provenance).into(),
            extra,
        },
    }
}

/// A park as a Feature (its own geometry), with `extra` properties appended.
pub fn park<'a, X: Serialize + 'a>(p: &'a Park, extra: X) -> Feature<'a, impl Serialize + 'a> {
    Feature {
        id: &p.id,
        point: p.position,
        raw_geometry: p.geometry.as_deref(),
        properties: ParkProps {
            id: &p.id,
            layer: Layer::Park.id(),
            name: &p.name,
            name_en: p.name_en.as_deref(),
            city: p.city.as_deref(),
            district: p.district.as_deref(),
            park_type: p.park_type,
            enterprises: p.counts.enterprises,
            unionised_enterprises: p.counts.unionised_enterprises,
            workers: p.counts.workers,
            union_members: p.counts.union_members,
            union_status: p.union_status,
            union_founded: p.union_founded.as_deref(),
            counts_as_of: p.counts_as_of.as_deref(),
            provenance: (&p.provenance).into(),
            extra,
        },
    }
}

/// No extra properties.
#[derive(Serialize)]
pub struct NoExtra {}

/// A FeatureCollection of already-built features, with OGC-style counts.
pub fn collection<F: Serialize>(
    features: &[F],
    number_matched: usize,
) -> Result<Vec<u8>, serde_json::Error> {
    #[derive(Serialize)]
    struct Collection<'a, F> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(rename = "numberMatched")]
        number_matched: usize,
        #[serde(rename = "numberReturned")]
        number_returned: usize,
        features: &'a [F],
    }
    // A nearest hit is about 1.7 kB of JSON: start big enough not to regrow.
    let mut out = Vec::with_capacity(256 + 2048 * features.len().min(1024));
    serde_json::to_writer(
        &mut out,
        &Collection {
            kind: "FeatureCollection",
            number_matched,
            number_returned: features.len(),
            features,
        },
    )?;
    Ok(out)
}
