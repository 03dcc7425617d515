//! Coordinate reference systems (OGC API – Features Part 2): the `crs`,
//! `bbox-crs` and `filter-crs` parameters, and the output in either CRS.
//!
//! Two are offered: CRS84 (WGS-84 longitude, latitude: the default and the
//! storage CRS) and EPSG:4490 (CGCS2000, China's geodetic datum). CGCS2000 and
//! WGS-84 agree to about a centimetre, far below the precision of this data, so
//! no datum shift is applied; but EPSG:4490's axis order is latitude, longitude,
//! so its coordinates are CRS84's swapped, in both directions.

use serde_json::Value;

use super::super::params::Params;
use super::super::problem::ApiError;
use super::CRS84;

/// The URI of CGCS2000 (latitude, longitude).
pub const EPSG_4490: &str = "http://www.opengis.net/def/crs/EPSG/0/4490";

/// A CRS this server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crs {
    /// WGS-84 longitude, latitude.
    Crs84,
    /// CGCS2000 latitude, longitude.
    Cgcs2000,
}

impl Crs {
    /// Every CRS offered, the storage CRS first.
    pub const ALL: [Crs; 2] = [Crs::Crs84, Crs::Cgcs2000];

    /// Its URI.
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => CRS84,
            Crs::Cgcs2000 => EPSG_4490,
        }
    }

    /// Whether its coordinates are latitude first.
    pub fn lat_first(self) -> bool {
        self == Crs::Cgcs2000
    }

    /// The CRS a parameter value names: the URI (`http` or `https`, optionally in
    /// angle brackets) or a (safe) CURIE such as `[EPSG:4490]`.
    pub fn parse(s: &str) -> Option<Crs> {
        let s = s.trim();
        let s = s
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(s);
        let s = s
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(s);
        let s = s
            .strip_prefix("https://")
            .map_or_else(|| s.to_owned(), |rest| format!("http://{rest}"));
        match s.as_str() {
            CRS84 | "OGC:CRS84" => Some(Crs::Crs84),
            EPSG_4490 | "EPSG:4490" => Some(Crs::Cgcs2000),
            _ => None,
        }
    }
}

/// Takes the CRS parameter `name` (CRS84 when absent); another CRS is a problem.
pub fn take(p: &mut Params, name: &str) -> Crs {
    let Some(raw) = p.raw(name) else {
        return Crs::Crs84;
    };
    Crs::parse(&raw).unwrap_or_else(|| {
        p.problem(
            name,
            format!(
                "'{}' is not offered: this server serves {CRS84} (the default) and {EPSG_4490}",
                raw.trim()
            ),
        );
        Crs::Crs84
    })
}

/// Appends `feature` (one GeoJSON Feature as written for CRS84) to `out` with
/// the coordinates of its geometry in latitude, longitude order.
pub fn append_lat_first(feature: &[u8], out: &mut Vec<u8>) -> Result<(), ApiError> {
    // The members are written `type`, `id`, `geometry`: the first `,"geometry":`
    // is the key (a `"` inside a JSON string is always escaped, so the id cannot
    // hold this sequence).
    const KEY: &[u8] = br#","geometry":"#;
    let Some(at) = feature.windows(KEY.len()).position(|w| w == KEY) else {
        out.extend_from_slice(feature);
        return Ok(());
    };
    let start = at + KEY.len();
    let mut values = serde_json::Deserializer::from_slice(&feature[start..]).into_iter::<Value>();
    let mut geometry = match values.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(ApiError::internal(e)),
        None => return Err(ApiError::Internal("a feature's geometry is missing".into())),
    };
    let end = start + values.byte_offset();
    swap_geometry(&mut geometry);
    out.extend_from_slice(&feature[..start]);
    serde_json::to_writer(&mut *out, &geometry).map_err(ApiError::internal)?;
    out.extend_from_slice(&feature[end..]);
    Ok(())
}

/// Swaps the first two ordinates of every position of a GeoJSON geometry.
fn swap_geometry(geometry: &mut Value) {
    if let Some(coordinates) = geometry.get_mut("coordinates") {
        swap_positions(coordinates);
    }
    if let Some(Value::Array(members)) = geometry.get_mut("geometries") {
        members.iter_mut().for_each(swap_geometry);
    }
}

fn swap_positions(v: &mut Value) {
    if let Value::Array(items) = v {
        if items.len() >= 2 && items.iter().all(Value::is_number) {
            items.swap(0, 1);
        } else {
            items.iter_mut().for_each(swap_positions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_the_two_crs() {
        for s in [
            CRS84,
            "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
            "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>",
            "[OGC:CRS84]",
        ] {
            assert_eq!(Crs::parse(s), Some(Crs::Crs84), "{s}");
        }
        for s in [EPSG_4490, "[EPSG:4490]", "EPSG:4490"] {
            assert_eq!(Crs::parse(s), Some(Crs::Cgcs2000), "{s}");
        }
        assert_eq!(
            Crs::parse("http://www.opengis.net/def/crs/EPSG/0/4326"),
            None
        );
        assert_eq!(Crs::parse("EPSG:3857"), None);
    }

    #[test]
    fn geometry_axes_are_swapped() {
        let mut out = Vec::new();
        append_lat_first(
            br#"{"type":"Feature","id":"a\",\"geometry\":","geometry":{"type":"Point","coordinates":[118.3,35.1]},"properties":{"geometry":[1,2]}}"#,
            &mut out,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["geometry"]["coordinates"],
            serde_json::json!([35.1, 118.3])
        );
        assert_eq!(v["properties"]["geometry"], serde_json::json!([1, 2]));
        assert_eq!(v["id"], "a\",\"geometry\":");
        let mut out = Vec::new();
        append_lat_first(
            br#"{"type":"Feature","id":"p","geometry":{"type":"Polygon","coordinates":[[[1,2],[3,4],[5,6],[1,2]]]},"properties":{}}"#,
            &mut out,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["geometry"]["coordinates"],
            serde_json::json!([[[2, 1], [4, 3], [6, 5], [2, 1]]])
        );
    }
}
