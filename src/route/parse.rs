//! Routes as drivers' apps give them, to WGS-84 parts.
//!
//! - GeoJSON `LineString` / `MultiLineString` (a bare geometry or a Feature), read
//!   with the `geojson` crate;
//! - Amap's and Baidu's route strings, `"lon,lat;lon,lat;…"` (usually GCJ-02 or
//!   BD-09: say so with `crs`);
//! - Google's encoded polyline, precision 5 or 6 (latitude first, as encoded);
//!   without a stated precision, 5, unless a longitude then falls outside ±180
//!   (a precision-6 line read as 5 is ten times too large);
//! - GPX: every `trkpt` and `rtept`, each track segment and route a part.
//!
//! The two string forms cannot be confused: an encoded polyline uses only the
//! characters `?` (63) to `~` (126), a coordinate list only digits, `.`, `,`, `;`,
//! `-`, `+` and spaces.

use quick_xml::events::Event;

use super::RouteError;
use crate::geodata::coords::{Crs, to_wgs84_exact};
use crate::model::LonLat;

/// A route as received.
#[derive(Clone, Debug)]
pub enum RouteInput {
    /// A GeoJSON geometry or feature.
    GeoJson(serde_json::Value),
    /// A coordinate list or an encoded polyline.
    Text(String),
}

/// The route's parts in WGS-84. `precision` is the polyline's, when stated.
pub fn parse(
    input: &RouteInput,
    crs: Crs,
    precision: Option<u32>,
) -> Result<Vec<Vec<LonLat>>, RouteError> {
    let raw = match input {
        RouteInput::GeoJson(v) => geojson_parts(v)?,
        RouteInput::Text(s) if is_coordinate_list(s) => vec![coordinate_list(s)?],
        RouteInput::Text(s) => vec![polyline(s, precision)?],
    };
    convert(raw, crs)
}

/// The parts of a GPX document (tracks' segments and routes), in WGS-84 (GPX is
/// WGS-84 by definition; `crs` is for files exported by Chinese apps in GCJ-02).
pub fn parse_gpx(xml: &[u8], crs: Crs) -> Result<Vec<Vec<LonLat>>, RouteError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut parts: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| RouteError::new("route", format!("not GPX: {e}")))?;
        match event {
            Event::Start(e) | Event::Empty(e)
                if matches!(e.local_name().as_ref(), "trkpt" | "rtept") =>
            {
                let (mut lat, mut lon) = (None, None);
                for attr in e.attributes().flatten() {
                    let value = attr.value.trim().parse::<f64>().ok();
                    match attr.key.local_name().as_ref() {
                        "lat" => lat = value,
                        "lon" => lon = value,
                        _ => {}
                    }
                }
                match (lon, lat) {
                    (Some(lon), Some(lat)) => current.push((lon, lat)),
                    _ => {
                        return Err(RouteError::new(
                            "route",
                            format!(
                                "a GPX point without numeric lat and lon near byte {}",
                                reader.buffer_position()
                            ),
                        ));
                    }
                }
            }
            Event::End(e)
                if matches!(e.local_name().as_ref(), "trkseg" | "rte") && !current.is_empty() =>
            {
                parts.push(std::mem::take(&mut current));
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !current.is_empty() {
        parts.push(current);
    }
    if parts.is_empty() {
        return Err(RouteError::new(
            "route",
            "the GPX file has no track or route points",
        ));
    }
    convert(parts, crs)
}

fn convert(parts: Vec<Vec<(f64, f64)>>, crs: Crs) -> Result<Vec<Vec<LonLat>>, RouteError> {
    parts
        .into_iter()
        .map(|part| {
            part.into_iter()
                .enumerate()
                .map(|(i, (lon, lat))| {
                    let given = LonLat::new(lon, lat)
                        .map_err(|e| RouteError::new("route", format!("point {i}: {e}")))?;
                    let (lon, lat) = to_wgs84_exact(crs, given.lon(), given.lat());
                    LonLat::new(lon, lat)
                        .map_err(|e| RouteError::new("route", format!("point {i}: {e}")))
                })
                .collect()
        })
        .collect()
}

fn geojson_parts(v: &serde_json::Value) -> Result<Vec<Vec<(f64, f64)>>, RouteError> {
    let bad = |why: String| RouteError::new("route", why);
    let geometry = match v.get("type").and_then(serde_json::Value::as_str) {
        Some("Feature") => v
            .get("geometry")
            .cloned()
            .ok_or_else(|| bad("the Feature has no geometry".into()))?,
        _ => v.clone(),
    };
    let geometry: geojson::Geometry = serde_json::from_value(geometry)
        .map_err(|e| bad(format!("not a GeoJSON geometry: {e}")))?;
    let line = |coords: &[geojson::Position]| -> Result<Vec<(f64, f64)>, RouteError> {
        coords
            .iter()
            .map(|c| match c.as_slice() {
                [lon, lat] | [lon, lat, _] => Ok((*lon, *lat)),
                _ => Err(bad(format!(
                    "a position needs [lon, lat], got {} numbers",
                    c.len()
                ))),
            })
            .collect()
    };
    match &geometry.value {
        geojson::GeometryValue::LineString { coordinates } => Ok(vec![line(coordinates)?]),
        geojson::GeometryValue::MultiLineString { coordinates } => {
            coordinates.iter().map(|l| line(l)).collect()
        }
        other => Err(bad(format!(
            "a route is a LineString or MultiLineString, not a {}",
            other.type_name()
        ))),
    }
}

fn is_coordinate_list(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || b".,;-+ \t\r\n|".contains(&b))
}

/// `"lon,lat;lon,lat;…"` (Amap and Baidu also separate with `|` between steps).
fn coordinate_list(s: &str) -> Result<Vec<(f64, f64)>, RouteError> {
    s.split([';', '|'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
        .map(|(i, pair)| {
            let (lon, lat) = pair.split_once(',').ok_or_else(|| {
                RouteError::new("route", format!("point {i}: '{pair}' is not 'lon,lat'"))
            })?;
            let num = |t: &str| {
                t.trim().parse::<f64>().map_err(|_| {
                    RouteError::new("route", format!("point {i}: '{t}' is not a number"))
                })
            };
            Ok((num(lon)?, num(lat)?))
        })
        .collect()
}

/// Google's encoded polyline algorithm: the differences of latitude and longitude,
/// times 10^precision, zigzag-encoded in 5-bit chunks offset by 63.
fn polyline(s: &str, precision: Option<u32>) -> Result<Vec<(f64, f64)>, RouteError> {
    let decode = |precision: u32| -> Result<Vec<(f64, f64)>, RouteError> {
        let factor = 10f64.powi(precision as i32);
        let bytes = s.trim().as_bytes();
        let mut out = Vec::new();
        let (mut lat, mut lon) = (0i64, 0i64);
        let mut i = 0;
        let next = |i: &mut usize| -> Result<i64, RouteError> {
            let (mut result, mut shift) = (0i64, 0u32);
            loop {
                let b = *bytes.get(*i).ok_or_else(|| {
                    RouteError::new(
                        "route",
                        "the encoded polyline ends in the middle of a number",
                    )
                })?;
                *i += 1;
                if !(63..=126).contains(&b) || shift > 60 {
                    return Err(RouteError::new(
                        "route",
                        format!("not an encoded polyline (byte {} at {})", b, *i - 1),
                    ));
                }
                let chunk = i64::from(b - 63);
                result |= (chunk & 0x1f) << shift;
                shift += 5;
                if chunk < 0x20 {
                    break;
                }
            }
            Ok(if result & 1 == 1 {
                !(result >> 1)
            } else {
                result >> 1
            })
        };
        while i < bytes.len() {
            lat += next(&mut i)?;
            lon += next(&mut i)?;
            out.push((lon as f64 / factor, lat as f64 / factor));
        }
        Ok(out)
    };
    match precision {
        Some(p @ (5 | 6)) => decode(p),
        Some(p) => Err(RouteError::new(
            "precision",
            format!("{p}: an encoded polyline has precision 5 or 6"),
        )),
        None => {
            let five = decode(5)?;
            if five
                .iter()
                .any(|(lon, lat)| lon.abs() > 180.0 || lat.abs() > 90.0)
            {
                decode(6)
            } else {
                Ok(five)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_example_polyline() {
        // The example of Google's polyline documentation.
        let got = polyline("_p~iF~ps|U_ulLnnqC_mqNvxq`@", Some(5)).unwrap();
        let want = [(-120.2, 38.5), (-120.95, 40.7), (-126.453, 43.252)];
        assert_eq!(got.len(), 3);
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9,
                "{g:?} {w:?}"
            );
        }
        // Precision 6 recognised without being told (the same line, 10x finer).
        let six = encode(&want, 6);
        let auto = polyline(&six, None).unwrap();
        assert!((auto[2].0 - -126.453).abs() < 1e-9, "{auto:?}");
        assert!(polyline("_p~iF~ps|U_ulLnnqC_mqNvxq", Some(5)).is_err());
        assert!(polyline("abc", Some(7)).is_err());
    }

    /// The encoder, for tests only.
    fn encode(points: &[(f64, f64)], precision: i32) -> String {
        let factor = 10f64.powi(precision);
        let mut out = String::new();
        let (mut plat, mut plon) = (0i64, 0i64);
        let mut push = |v: i64| {
            let mut v = if v < 0 { !(v << 1) } else { v << 1 };
            while v >= 0x20 {
                out.push(char::from((0x20 | (v & 0x1f)) as u8 + 63));
                v >>= 5;
            }
            out.push(char::from(v as u8 + 63));
        };
        for (lon, lat) in points {
            let (lat, lon) = ((lat * factor).round() as i64, (lon * factor).round() as i64);
            push(lat - plat);
            push(lon - plon);
            plat = lat;
            plon = lon;
        }
        out
    }

    #[test]
    fn amap_strings_geojson_and_gpx() {
        let parts = parse(
            &RouteInput::Text("116.397,39.909;116.40,39.92|116.41,39.93".into()),
            Crs::Wgs84,
            None,
        )
        .unwrap();
        assert_eq!(parts[0].len(), 3);
        assert!(
            parse(
                &RouteInput::Text("116.397,39.909;116.40".into()),
                Crs::Wgs84,
                None
            )
            .is_err()
        );
        let gj = serde_json::json!({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3], [4, 4]]]});
        let parts = parse(&RouteInput::GeoJson(gj), Crs::Wgs84, None).unwrap();
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [2, 3]);
        let point = serde_json::json!({"type": "Point", "coordinates": [0, 0]});
        assert!(parse(&RouteInput::GeoJson(point), Crs::Wgs84, None).is_err());
        let gpx = br#"<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
            <trk><trkseg><trkpt lat="39.9" lon="116.4"/><trkpt lat="39.95" lon="116.45"></trkpt></trkseg></trk>
            <rte><rtept lat="30" lon="120"/><rtept lat="30.1" lon="120.1"/></rte></gpx>"#;
        let parts = parse_gpx(gpx, Crs::Wgs84).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0][1].lon(), 116.45);
        assert!(parse_gpx(b"<gpx></gpx>", Crs::Wgs84).is_err());
        assert!(
            parse_gpx(
                b"<gpx><trk><trkseg><trkpt lat=\"x\" lon=\"1\"/></trkseg></trk></gpx>",
                Crs::Wgs84
            )
            .is_err()
        );
    }

    #[test]
    fn amap_coordinates_are_converted() {
        let (glon, glat) = coordtransform::wgs84_to_gcj02(118.35, 35.10);
        let text = format!("{glon},{glat};118.5,35.2");
        let parts = parse(&RouteInput::Text(text), Crs::Gcj02, None).unwrap();
        let back = parts[0][0];
        assert!(
            (back.lon() - 118.35).abs() < 1e-7 && (back.lat() - 35.10).abs() < 1e-7,
            "{back:?}"
        );
    }
}
