//! Coordinate systems of Chinese maps and links that open a place in a map app.
//!
//! We store WGS-84. Amap (高德) and Tencent use GCJ-02, Baidu uses BD-09; a WGS-84
//! point handed to them unconverted lands some hundreds of metres off. The
//! conversions come from the maintained `coordtransform` crate.

use serde::Serialize;

use crate::model::LonLat;

/// A coordinate system a position may be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crs {
    /// WGS-84 (GPS, OpenStreetMap, Tianditu within centimetres).
    Wgs84,
    /// GCJ-02 (Amap, Tencent, Apple Maps in mainland China).
    Gcj02,
    /// BD-09 (Baidu).
    Bd09,
}

impl std::str::FromStr for Crs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" | "epsg:4326" => Ok(Crs::Wgs84),
            "gcj02" | "gcj-02" => Ok(Crs::Gcj02),
            "bd09" | "bd-09" => Ok(Crs::Bd09),
            other => Err(format!(
                "unknown coordinate system '{other}' (wgs84, gcj02, bd09)"
            )),
        }
    }
}

/// Converts a (lon, lat) pair written in `from` to WGS-84.
pub fn to_wgs84(from: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match from {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => coordtransform::gcj02_to_wgs84(lon, lat),
        Crs::Bd09 => coordtransform::bd09_to_wgs84(lon, lat),
    }
}

/// Converts a WGS-84 position to `to`.
pub fn from_wgs84(to: Crs, p: LonLat) -> (f64, f64) {
    match to {
        Crs::Wgs84 => (p.lon(), p.lat()),
        Crs::Gcj02 => coordtransform::wgs84_to_gcj02(p.lon(), p.lat()),
        Crs::Bd09 => coordtransform::wgs84_to_bd09(p.lon(), p.lat()),
    }
}

/// Links that open a place in the common map apps, each in its own coordinate system.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NavLinks {
    /// Amap (GCJ-02).
    pub amap: String,
    /// Baidu Maps (BD-09).
    pub baidu: String,
    /// Apple Maps (WGS-84: Apple converts for its mainland-China map itself).
    pub apple: String,
    /// OpenStreetMap (WGS-84).
    pub osm: String,
}

/// Navigation links to `p`, labelled `name`.
pub fn nav_links(p: LonLat, name: &str) -> NavLinks {
    let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let (glon, glat) = from_wgs84(Crs::Gcj02, p);
    let (blon, blat) = from_wgs84(Crs::Bd09, p);
    let (lon, lat) = (p.lon(), p.lat());
    NavLinks {
        amap: format!(
            "https://uri.amap.com/marker?position={glon:.6},{glat:.6}&name={q}&coordinate=gaode&callnative=1"
        ),
        baidu: format!(
            "https://api.map.baidu.com/marker?location={blat:.6},{blon:.6}&title={q}&content={q}&coord_type=bd09ll&output=html&src=waystation"
        ),
        apple: format!("https://maps.apple.com/?ll={lat:.6},{lon:.6}&q={q}"),
        osm: format!(
            "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::sphere::haversine_m;

    #[test]
    fn gcj02_offset_is_hundreds_of_metres_in_china_and_round_trips() {
        let tiananmen = LonLat::new(116.3975, 39.9087).unwrap();
        let (glon, glat) = from_wgs84(Crs::Gcj02, tiananmen);
        let shifted = haversine_m(tiananmen, LonLat::new(glon, glat).unwrap());
        assert!((100.0..1_000.0).contains(&shifted), "{shifted}");
        let (lon, lat) = to_wgs84(Crs::Gcj02, glon, glat);
        assert!(haversine_m(tiananmen, LonLat::new(lon, lat).unwrap()) < 1.0);
        let (blon, blat) = from_wgs84(Crs::Bd09, tiananmen);
        let (lon, lat) = to_wgs84(Crs::Bd09, blon, blat);
        assert!(haversine_m(tiananmen, LonLat::new(lon, lat).unwrap()) < 2.0);
    }

    #[test]
    fn links_carry_converted_coordinates_and_escaped_names() {
        let p = LonLat::new(118.35, 35.1).unwrap();
        let links = nav_links(p, "财源物流园区 司机之家");
        let (glon, glat) = from_wgs84(Crs::Gcj02, p);
        assert!(links.amap.contains(&format!("{glon:.6},{glat:.6}")));
        assert!(!links.amap.contains(' '));
        assert!(links.osm.contains("mlat=35.100000"));
        assert!(links.baidu.contains("bd09ll"));
    }
}
