//! Features as GeoJSON: the properties of each kind, plus what a query adds.
//!
//! Written straight from the in-memory records through serde, by `sonic-rs` (SIMD
//! string escaping): a record's properties are the model's own type
//! ([`FacilityProperties`], [`ParkProperties`]) borrowed from the record, followed by
//! what a query adds ([`FacilityExtra`], or the analyses' own). No intermediate
//! `serde_json::Value` tree. Every feature type is [`WriteJson`]; whole answers come
//! from [`collection`] and [`to_vec`].

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;

use super::json;
use crate::geodata::coords::{NavLinks, nav_links};
use crate::index::{Atlas, Hit, sphere};
use crate::model::{Facility, FacilityProperties, LonLat, Park, ParkProperties};

/// A record's own properties followed by what a query adds.
#[derive(Serialize)]
struct WithExtra<P, X> {
    #[serde(flatten)]
    own: P,
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
        properties: WithExtra {
            own: ParkProperties::of(p),
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

/// The same members, in the same order, as a park's feature: `type`, `id`,
/// `geometry`, then `properties` (the facility's own, then `extra`) last: the along
/// answer appends its members before the two closing braces.
impl Serialize for FacilityFeature<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.f;
        Feature {
            id: f.id(),
            point: f.position,
            raw_geometry: None,
            properties: WithExtra {
                own: FacilityProperties::of(f, self.atlas.schedules()),
                extra: &self.extra,
            },
        }
        .serialize(s)
    }
}

impl Serialize for FacilityExtra {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let FacilityExtra::Hit {
            distance_m,
            bearing_deg,
            ..
        } = self
        {
            m.serialize_entry("distance_m", distance_m)?;
            m.serialize_entry("bearing_deg", bearing_deg)?;
        }
        if let FacilityExtra::Hit {
            open_now, links, ..
        }
        | FacilityExtra::Detail { open_now, links } = self
        {
            m.serialize_entry("open_now", open_now)?;
            m.serialize_entry("links", links)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::geodata::load_dir;
    use crate::index::NearestQuery;
    use crate::model::{AmenitySet, LayerSet};

    fn parsed(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    /// Every bundled feature: sonic-rs writes the bytes serde_json writes; the
    /// properties are the model's, then the extras; the properties come last (the
    /// along answer appends its members before the closing `}}`); a park's own
    /// geometry is written verbatim.
    #[test]
    fn features_are_the_models_properties_plus_extras() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        let atlas = Atlas::new(load_dir(&dir).expect("bundled data"));
        let data = atlas.data();
        assert!(data.facilities.iter().any(|f| f.grade.is_some()));
        assert!(data.facilities.iter().any(|f| f.provenance.notes.is_some()));
        for f in &data.facilities {
            let own = serde_json::to_value(FacilityProperties::of(f, atlas.schedules())).unwrap();
            let links = nav_links(f.position, f.name());
            for (extra, added) in [
                (FacilityExtra::None, json!({})),
                (
                    FacilityExtra::Detail {
                        open_now: Some(true),
                        links: links.clone(),
                    },
                    json!({"open_now": true, "links": links}),
                ),
            ] {
                let feature = facility(&atlas, f, extra);
                let bytes = to_vec(&feature).unwrap();
                assert_eq!(bytes, serde_json::to_vec(&feature).unwrap());
                assert!(bytes.ends_with(b"}}"));
                let got = parsed(&bytes);
                let mut want = own.clone();
                if let (Value::Object(w), Value::Object(a)) = (&mut want, added) {
                    w.extend(a);
                }
                assert_eq!(got["properties"], want);
                assert_eq!(got["properties"]["layer"], f.layer.id());
                assert_eq!(
                    got["geometry"],
                    json!({"type": "Point", "coordinates": [f.position.lon(), f.position.lat()]})
                );
            }
        }
        assert!(data.parks.iter().any(|p| p.geometry.is_some()));
        for p in &data.parks {
            let feature = park(p, NoExtra {});
            let bytes = to_vec(&feature).unwrap();
            let got = parsed(&bytes);
            assert_eq!(
                got["properties"],
                serde_json::to_value(ParkProperties::of(p)).unwrap()
            );
            assert_eq!(got["properties"]["layer"], "park");
            assert_eq!(got["id"], &*p.id);
            match &p.geometry {
                // Written verbatim, key order and digits included.
                Some(raw) => {
                    let verbatim = format!(r#""geometry":{}"#, raw.get());
                    assert!(String::from_utf8_lossy(&bytes).contains(&verbatim));
                }
                None => assert_eq!(got["geometry"]["coordinates"][0], p.position.lon()),
            }
        }
    }

    /// A nearest answer: each hit's distance, bearing, open-now and links after the
    /// facility's own properties, and the collection's counts.
    #[test]
    fn nearest_hits_add_their_members() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        let atlas = Atlas::new(load_dir(&dir).expect("bundled data"));
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
        let answer = parsed(&collection(&features, 7).unwrap());
        assert_eq!(answer["numberMatched"], 7);
        assert_eq!(answer["numberReturned"], 5);
        for (h, got) in hits.iter().zip(answer["features"].as_array().unwrap()) {
            let f = atlas.facility(h.facility);
            let bearing = sphere::initial_bearing_deg(origin, f.position);
            let mut want =
                serde_json::to_value(FacilityProperties::of(f, atlas.schedules())).unwrap();
            if let Value::Object(w) = &mut want {
                w.extend([
                    ("distance_m".into(), json!(h.distance_m.round() as u64)),
                    ("bearing_deg".into(), json!((bearing * 10.0).round() / 10.0)),
                    ("open_now".into(), json!(h.open)),
                    ("links".into(), json!(nav_links(f.position, f.name()))),
                ]);
            }
            assert_eq!(got["properties"], want);
        }
    }

    /// Parks and everything else serde writes: sonic-rs writes what serde_json writes.
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
