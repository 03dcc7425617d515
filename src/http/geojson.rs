//! Features as GeoJSON: the properties of each kind, plus what a query adds.
//!
//! Serialised straight from the in-memory records with borrowed strings: no
//! intermediate `serde_json::Value` tree. Written by `sonic-rs` (serde-compatible,
//! SIMD string escaping): serde_json escapes byte by byte, which was half the
//! instructions of a nearest answer (160k → 107k instructions for five features,
//! counted with callgrind). Everything here goes through [`to_vec`].

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
            // A park's own geometry, kept as the JSON text it was loaded from; parsed
            // here so that any serializer can write it (serde_json's raw values are
            // understood by serde_json alone). Parks are few.
            Some(raw) => {
                let geometry: serde_json::Value =
                    serde_json::from_str(raw.get()).map_err(serde::ser::Error::custom)?;
                m.serialize_entry("geometry", &geometry)?
            }
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

/// A feature (or anything else) as JSON bytes.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, sonic_rs::Error> {
    sonic_rs::to_vec(value)
}

/// A FeatureCollection of already-built features, with OGC-style counts.
pub fn collection<F: Serialize>(
    features: &[F],
    number_matched: usize,
) -> Result<Vec<u8>, sonic_rs::Error> {
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
    sonic_rs::to_writer(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodata::load_dir;
    use crate::index::NearestQuery;
    use crate::model::LayerSet;

    /// sonic-rs writes the same JSON values serde_json would, for every bundled
    /// feature, a nearest answer, and strings that need escaping.
    #[test]
    fn sonic_output_equals_serde_json() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        let atlas = Atlas::new(load_dir(&dir).expect("bundled data"));
        let same = |sonic: Vec<u8>, reference: serde_json::Value| {
            let sonic: serde_json::Value = serde_json::from_slice(&sonic).expect("valid JSON");
            assert_eq!(sonic, reference);
        };
        let data = atlas.data();
        for f in &data.facilities {
            let feature = facility(&atlas, f, NoExtra {});
            same(
                to_vec(&feature).unwrap(),
                serde_json::to_value(&feature).unwrap(),
            );
        }
        assert!(!data.parks.is_empty());
        for p in &data.parks {
            let feature = park(p, NoExtra {});
            same(
                to_vec(&feature).unwrap(),
                serde_json::to_value(&feature).unwrap(),
            );
        }
        let origin = LonLat::new(121.47, 31.23).unwrap();
        let hits = atlas.nearest(&NearestQuery {
            origin,
            k: 5,
            layers: LayerSet::facilities(),
            amenities: AmenitySet::default(),
            at: chrono::Utc::now(),
            open_now: false,
            max_distance_m: None,
        });
        let features: Vec<_> = hits.iter().map(|h| hit(&atlas, origin, h)).collect();
        assert_eq!(features.len(), 5);
        same(
            collection(&features, 5).unwrap(),
            serde_json::json!({
                "type": "FeatureCollection",
                "numberMatched": 5,
                "numberReturned": 5,
                "features": serde_json::to_value(&features).unwrap(),
            }),
        );
        let awkward = "引号\"反斜杠\\换行\n制表\t\u{1}\u{7f}🚚 end";
        same(
            to_vec(&awkward).unwrap(),
            serde_json::to_value(awkward).unwrap(),
        );
        assert_eq!(
            to_vec(&awkward).unwrap(),
            serde_json::to_vec(awkward).unwrap()
        );
    }
}
