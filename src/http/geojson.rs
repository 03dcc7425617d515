//! Features as GeoJSON: the properties of each kind, plus what a query adds.
//!
//! Written straight from the in-memory records: no intermediate
//! `serde_json::Value` tree. Facility features, which every nearest answer and
//! facility layer is made of, are written by hand with the primitives of
//! `super::json` (constant keys, strings checked thirty-two bytes at a time); parks
//! and everything else through serde, by `sonic-rs` (SIMD string escaping).
//! Counted with callgrind, a 5-feature nearest answer took 160k instructions with
//! serde_json, 107k with sonic-rs and 72k written by hand. Every feature type is
//! [`WriteJson`]; whole answers come from [`collection`] and [`to_vec`].

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;

use super::json;
use crate::geodata::coords::{NavLinks, nav_links};
use crate::index::{Atlas, Hit, sphere};
use crate::model::{Facility, Layer, LonLat, Park, ParkType, Provenance, UnionStatus};

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
            // A park's own geometry, written verbatim as the JSON text it was loaded
            // from: sonic-rs writes its lazy values as they are (serde_json's raw
            // values are understood by serde_json alone; these features are written
            // by sonic-rs, see `WriteJson`). Taking it costs a fast check; parks are few.
            Some(raw) => {
                let geometry: sonic_rs::LazyValue<'_> =
                    sonic_rs::from_str(raw.get()).map_err(serde::ser::Error::custom)?;
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

/// Something that writes itself as JSON.
pub trait WriteJson {
    /// Appends the JSON text to `out`.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), sonic_rs::Error>;
}

/// Anything serde can write (parks, coverage cells, catchments), by sonic-rs.
impl<T: Serialize> WriteJson for T {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), sonic_rs::Error> {
        sonic_rs::to_writer(out, self)
    }
}

/// One feature as JSON bytes.
pub fn to_vec(feature: &impl WriteJson) -> Result<Vec<u8>, sonic_rs::Error> {
    let mut out = Vec::with_capacity(2048);
    feature.write_json(&mut out)?;
    Ok(out)
}

/// A FeatureCollection of already-built features, with OGC-style counts.
pub fn collection(
    features: &[impl WriteJson],
    number_matched: usize,
) -> Result<Vec<u8>, sonic_rs::Error> {
    // A nearest hit is about 1.7 kB of JSON: start big enough not to regrow.
    let mut out = Vec::with_capacity(256 + 2048 * features.len().min(1024));
    out.extend_from_slice(br#"{"type":"FeatureCollection","numberMatched":"#);
    json::u64(&mut out, number_matched as u64);
    out.extend_from_slice(br#","numberReturned":"#);
    json::u64(&mut out, features.len() as u64);
    out.extend_from_slice(br#","features":["#);
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f.write_json(&mut out)?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// What a facility feature adds to the facility's own properties.
pub enum FacilityExtra {
    /// Nothing (layers).
    None,
    /// A nearest-query hit.
    Hit {
        /// Whole metres.
        distance_m: u64,
        /// Initial bearing from the query point, one decimal.
        bearing_deg: f64,
        /// Open at the query instant; null when hours are unknown.
        open_now: Option<bool>,
        /// Links to navigate there.
        links: NavLinks,
    },
    /// A single-feature answer.
    Detail {
        /// Open now; null when unknown.
        open_now: Option<bool>,
        /// Links to navigate there.
        links: NavLinks,
    },
}

/// A facility as a Feature, with `extra` properties appended.
pub struct FacilityFeature<'a> {
    atlas: &'a Atlas,
    f: &'a Facility,
    extra: FacilityExtra,
}

/// A facility as a Feature, with `extra` properties appended.
pub fn facility<'a>(
    atlas: &'a Atlas,
    f: &'a Facility,
    extra: FacilityExtra,
) -> FacilityFeature<'a> {
    FacilityFeature { atlas, f, extra }
}

/// A nearest-query hit as a Feature: the facility plus distance, bearing,
/// open-now and navigation links.
pub fn hit<'a>(atlas: &'a Atlas, origin: LonLat, hit: &Hit) -> FacilityFeature<'a> {
    let f = atlas.facility(hit.facility);
    let extra = FacilityExtra::Hit {
        distance_m: hit.distance_m.round() as u64,
        bearing_deg: (sphere::initial_bearing_deg(origin, f.position) * 10.0).round() / 10.0,
        open_now: hit.open,
        links: nav_links(f.position, f.name()),
    };
    facility(atlas, f, extra)
}

impl WriteJson for FacilityFeature<'_> {
    /// The same members, in the same order, as a park's feature: `type`, `id`,
    /// `geometry`, then `properties` (the facility's own, its provenance, `extra`).
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), sonic_rs::Error> {
        let (f, schedules) = (self.f, self.atlas.schedules());
        out.extend_from_slice(br#"{"type":"Feature","id":"#);
        json::str(out, f.id());
        out.extend_from_slice(br#","geometry":{"type":"Point","coordinates":["#);
        json::f64(out, f.position.lon());
        out.push(b',');
        json::f64(out, f.position.lat());
        out.extend_from_slice(br#"]},"properties":{"id":"#);
        json::str(out, f.id());
        out.extend_from_slice(br#","layer":"#);
        json::str(out, f.layer.id());
        out.extend_from_slice(br#","name":"#);
        json::str(out, f.name());
        for (key, value) in [
            (&br#","name_en":"#[..], f.name_en()),
            (br#","address":"#, f.address()),
            (br#","city":"#, f.city.as_deref()),
            (br#","district":"#, f.district.as_deref()),
        ] {
            out.extend_from_slice(key);
            json::opt_str(out, value);
        }
        out.extend_from_slice(br#","amenities":["#);
        for (i, a) in f.amenities.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::str(out, a.id());
        }
        out.push(b']');
        for (key, value) in [
            (
                &br#","opening_hours":"#[..],
                f.hours.map(|h| schedules.text(h)),
            ),
            (br#","phone":"#, f.phone()),
            (br#","operator":"#, f.operator.as_deref()),
        ] {
            out.extend_from_slice(key);
            json::opt_str(out, value);
        }
        if let Some(grade) = f.grade {
            out.extend_from_slice(br#","grade":"#);
            json::str(out, grade.id());
        }
        let p = &f.provenance;
        out.extend_from_slice(br#","source":"#);
        json::str(out, &p.source);
        out.extend_from_slice(br#","position_accuracy":"#);
        json::str(out, p.position_accuracy.id());
        out.extend_from_slice(br#","synthetic":"#);
        json::bool(out, p.synthetic);
        out.extend_from_slice(br#","updated":"#);
        json::opt_str(out, p.updated.as_deref());
        if let Some(notes) = &p.notes {
            out.extend_from_slice(br#","notes":"#);
            json::str(out, notes);
        }
        if let FacilityExtra::Hit {
            distance_m,
            bearing_deg,
            ..
        } = &self.extra
        {
            out.extend_from_slice(br#","distance_m":"#);
            json::u64(out, *distance_m);
            out.extend_from_slice(br#","bearing_deg":"#);
            json::f64(out, *bearing_deg);
        }
        if let FacilityExtra::Hit {
            open_now, links, ..
        }
        | FacilityExtra::Detail { open_now, links } = &self.extra
        {
            out.extend_from_slice(br#","open_now":"#);
            json::opt_bool(out, *open_now);
            // In the order of `NavLinks`'s fields.
            out.extend_from_slice(br#","links":{"amap":"#);
            json::str(out, &links.amap);
            out.extend_from_slice(br#","baidu":"#);
            json::str(out, &links.baidu);
            out.extend_from_slice(br#","apple":"#);
            json::str(out, &links.apple);
            out.extend_from_slice(br#","osm":"#);
            json::str(out, &links.osm);
            out.push(b'}');
        }
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::geodata::load_dir;
    use crate::index::NearestQuery;
    use crate::model::{AmenitySet, LayerSet};

    /// What a facility feature must hold, built independently with serde_json.
    fn expected(atlas: &Atlas, f: &Facility, extra: Value) -> Value {
        let p = &f.provenance;
        let mut props = json!({
            "id": f.id(), "layer": f.layer.id(), "name": f.name(), "name_en": f.name_en(),
            "address": f.address(), "city": f.city.as_deref(), "district": f.district.as_deref(),
            "amenities": f.amenities.iter().map(|a| a.id()).collect::<Vec<_>>(),
            "opening_hours": f.hours.map(|h| atlas.schedules().text(h)),
            "phone": f.phone(), "operator": f.operator.as_deref(),
            "source": p.source.as_str(), "position_accuracy": p.position_accuracy.id(),
            "synthetic": p.synthetic, "updated": p.updated.as_deref(),
        });
        if let Some(grade) = f.grade {
            props["grade"] = json!(grade);
        }
        if let Some(notes) = &p.notes {
            props["notes"] = json!(notes);
        }
        if let (Value::Object(props), Value::Object(extra)) = (&mut props, extra) {
            props.extend(extra);
        }
        json!({
            "type": "Feature", "id": f.id(),
            "geometry": {"type": "Point", "coordinates": [f.position.lon(), f.position.lat()]},
            "properties": props,
        })
    }

    fn parsed(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).expect("valid JSON")
    }

    /// Every bundled facility, written by hand, holds what serde_json would write;
    /// parks and a nearest answer too.
    #[test]
    fn features_hold_what_serde_json_would_write() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        let atlas = Atlas::new(load_dir(&dir).expect("bundled data"));
        let data = atlas.data();
        assert!(data.facilities.iter().any(|f| f.grade.is_some()));
        assert!(data.facilities.iter().any(|f| f.provenance.notes.is_some()));
        for f in &data.facilities {
            let got = parsed(to_vec(&facility(&atlas, f, FacilityExtra::None)).unwrap());
            assert_eq!(got, expected(&atlas, f, json!({})));
            let links = nav_links(f.position, f.name());
            let detail = FacilityExtra::Detail {
                open_now: Some(true),
                links: links.clone(),
            };
            let got = parsed(to_vec(&facility(&atlas, f, detail)).unwrap());
            assert_eq!(
                got,
                expected(&atlas, f, json!({"open_now": true, "links": links}))
            );
        }
        assert!(!data.parks.is_empty());
        for p in &data.parks {
            let feature = park(p, NoExtra {});
            let bytes = to_vec(&feature).unwrap();
            let got = parsed(bytes.clone());
            let reference = serde_json::to_value(&feature).unwrap();
            assert_eq!(got["properties"], reference["properties"]);
            assert_eq!(got["id"], reference["id"]);
            match &p.geometry {
                // Written verbatim, key order and digits included.
                Some(raw) => {
                    let verbatim = format!(r#""geometry":{}"#, raw.get());
                    assert!(String::from_utf8_lossy(&bytes).contains(&verbatim));
                }
                None => assert_eq!(got["geometry"]["coordinates"][0], p.position.lon()),
            }
        }
        assert!(data.parks.iter().any(|p| p.geometry.is_some()));
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
        assert_eq!(hits.len(), 5);
        let features: Vec<_> = hits.iter().map(|h| hit(&atlas, origin, h)).collect();
        let answer = parsed(collection(&features, 7).unwrap());
        let want: Vec<Value> = hits
            .iter()
            .map(|h| {
                let f = atlas.facility(h.facility);
                let bearing = sphere::initial_bearing_deg(origin, f.position);
                let extra = json!({
                    "distance_m": h.distance_m.round() as u64,
                    "bearing_deg": (bearing * 10.0).round() / 10.0,
                    "open_now": h.open,
                    "links": nav_links(f.position, f.name()),
                });
                expected(&atlas, f, extra)
            })
            .collect();
        assert_eq!(
            answer,
            json!({"type": "FeatureCollection", "numberMatched": 7, "numberReturned": 5, "features": want})
        );
    }

    /// Parks and everything else serde writes: sonic-rs writes what serde_json does.
    #[test]
    fn sonic_writes_what_serde_json_writes() {
        let awkward = "引号\"反斜杠\\换行\n制表\t\u{1}\u{7f}🚚 end";
        assert_eq!(
            to_vec(&awkward).unwrap(),
            serde_json::to_vec(awkward).unwrap()
        );
        for v in [f64::NAN, f64::INFINITY, 3.0, 0.1, 116.400388, -0.0, 1e21] {
            assert_eq!(to_vec(&v).unwrap(), serde_json::to_vec(&v).unwrap(), "{v}");
        }
    }
}
