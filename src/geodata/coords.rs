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

/// How close the forward image of [`to_wgs84_exact`]'s answer comes to its input:
/// 1 mm, well inside the 1 cm an import promises.
pub const EXACT_TOLERANCE_M: f64 = 0.001;

/// Converts a (lon, lat) pair written in `from` to WGS-84 by inverting the forward
/// transform numerically: the answer `w` is a WGS-84 point whose image under
/// `coordtransform::wgs84_to_gcj02` (or `wgs84_to_bd09`) lies within
/// [`EXACT_TOLERANCE_M`] of the input.
///
/// Why not [`to_wgs84`]: the published GCJ-02 formula has no closed inverse, and the
/// traditional one-step inverse (subtract the shift computed at the shifted point) is
/// off by up to a few metres, more than a surveyed station can afford. The shift
/// changes slowly (its derivative is about 1e-3), so the fixed-point iteration
/// `w ← w − (fwd(w) − input)` gains about three decimal digits a step and ends in
/// two to four steps, with no Jacobian.
///
/// Outside mainland China the forward transform is the identity, and the crate
/// decides "inside" on the WGS-84 point (its embedded mask: Hong Kong, Macau and
/// Taiwan are outside). So the iteration runs with the always-shifting forward
/// transform, and its answer is kept when it lies in the mask (it is then an exact
/// preimage); otherwise the input itself is the preimage (identity) when the input
/// lies outside the mask. In the thin strip along the mask's edge where neither is
/// exact (input inside, answer outside) the shifted answer is returned, as the
/// crate's own inverse does. Non-finite input is returned unchanged.
pub fn to_wgs84_exact(from: Crs, lon: f64, lat: f64) -> (f64, f64) {
    if !lon.is_finite() || !lat.is_finite() {
        return (lon, lat);
    }
    let forward: fn(f64, f64) -> (f64, f64) = match from {
        Crs::Wgs84 => return (lon, lat),
        Crs::Gcj02 => coordtransform::wgs84_to_gcj02_in_mainland,
        Crs::Bd09 => |lon, lat| {
            let (glon, glat) = coordtransform::wgs84_to_gcj02_in_mainland(lon, lat);
            coordtransform::gcj02_to_bd09(glon, glat)
        },
    };
    let w = invert(forward, lon, lat);
    if coordtransform::is_in_mainland_china(w.0, w.1)
        || coordtransform::is_in_mainland_china(lon, lat)
    {
        w
    } else {
        (lon, lat)
    }
}

/// The fixed point of `w ← w − (forward(w) − target)`, stopped once the forward
/// image is within [`EXACT_TOLERANCE_M`] of the target (or after a bounded number
/// of steps, which only a pathological input reaches).
fn invert(forward: fn(f64, f64) -> (f64, f64), lon: f64, lat: f64) -> (f64, f64) {
    const MAX_STEPS: usize = 30;
    // Metres per degree on the sphere of `index::sphere` (6,371,008.8 m).
    const M_PER_DEG: f64 = 111_195.08;
    let cos_lat = lat.to_radians().cos().abs().max(1e-6);
    let mut w = (lon, lat);
    for _ in 0..MAX_STEPS {
        let (flon, flat) = forward(w.0, w.1);
        let (dlon, dlat) = (flon - lon, flat - lat);
        let off_m = M_PER_DEG * (dlat * dlat + (dlon * cos_lat).powi(2)).sqrt();
        if off_m.is_nan() || off_m <= EXACT_TOLERANCE_M {
            break;
        }
        w = (w.0 - dlon, w.1 - dlat);
    }
    w
}

/// Converts a WGS-84 position to `to`.
pub fn from_wgs84(to: Crs, p: LonLat) -> (f64, f64) {
    match to {
        Crs::Wgs84 => (p.lon(), p.lat()),
        Crs::Gcj02 => coordtransform::wgs84_to_gcj02(p.lon(), p.lat()),
        Crs::Bd09 => coordtransform::wgs84_to_bd09(p.lon(), p.lat()),
    }
}

/// Links that start a drive to a place in the common map apps (one tap: the app
/// plans the route from the phone's own position), each in its own coordinate
/// system; OpenStreetMap, which has no routing link, shows the place.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NavLinks {
    /// Amap's route URI (`uri.amap.com/navigation`, driving, GCJ-02; `callnative=1`
    /// opens the Amap app when installed).
    pub amap: String,
    /// Baidu's route URI (`api.map.baidu.com/direction`, driving, BD-09).
    pub baidu: String,
    /// Apple Maps driving directions (`daddr`, WGS-84: Apple converts for its
    /// mainland-China map itself).
    pub apple: String,
    /// OpenStreetMap (WGS-84).
    pub osm: String,
}

/// Navigation links to `p`, labelled `name`.
///
/// Built piece by piece (one percent-encoding of the name, one GCJ-02 conversion
/// that BD-09 starts from, coordinates written as fixed six-decimal integers): this
/// runs for every hit of every nearest answer.
pub fn nav_links(p: LonLat, name: &str) -> NavLinks {
    let mut q = String::with_capacity(3 * name.len());
    push_form_encoded(&mut q, name);
    // Amap's `to=lon,lat,name` ends at a comma and Baidu's `name:…|latlng:…` at a
    // bar: one in the name itself becomes its full-width form.
    let in_list = |sep: char, wide: &str| {
        if name.contains(sep) {
            let mut e = String::with_capacity(q.len() + 8);
            push_form_encoded(&mut e, &name.replace(sep, wide));
            std::borrow::Cow::Owned(e)
        } else {
            std::borrow::Cow::Borrowed(q.as_str())
        }
    };
    let (amap_name, baidu_name) = (in_list(',', "，"), in_list('|', "｜"));
    let (lon, lat) = (p.lon(), p.lat());
    // Outside the mainland both apps take WGS-84 as it is (as `from_wgs84` does).
    let ((glon, glat), (blon, blat)) = if coordtransform::is_in_mainland_china(lon, lat) {
        let (glon, glat) = coordtransform::wgs84_to_gcj02_in_mainland(lon, lat);
        ((glon, glat), coordtransform::gcj02_to_bd09(glon, glat))
    } else {
        ((lon, lat), (lon, lat))
    };
    let link = |parts: &[Part<'_>]| {
        let mut s = String::with_capacity(64 + parts.len() * 12 + 3 * q.len());
        for part in parts {
            match part {
                Part::Text(t) => s.push_str(t),
                Part::Coord(v) => push_fixed6(&mut s, *v),
            }
        }
        s
    };
    use Part::{Coord as C, Text as T};
    NavLinks {
        amap: link(&[
            T("https://uri.amap.com/navigation?to="),
            C(glon),
            T(","),
            C(glat),
            T(","),
            T(&amap_name),
            T("&mode=car&coordinate=gaode&callnative=1&src=waystation"),
        ]),
        baidu: link(&[
            T("https://api.map.baidu.com/direction?destination=name:"),
            T(&baidu_name),
            T("|latlng:"),
            C(blat),
            T(","),
            C(blon),
            T("&mode=driving&coord_type=bd09ll&output=html&src=waystation"),
        ]),
        apple: link(&[
            T("https://maps.apple.com/?daddr="),
            C(lat),
            T(","),
            C(lon),
            T("&dirflg=d&q="),
            T(&q),
        ]),
        osm: link(&[
            T("https://www.openstreetmap.org/?mlat="),
            C(lat),
            T("&mlon="),
            C(lon),
            T("#map=17/"),
            C(lat),
            T("/"),
            C(lon),
        ]),
    }
}

/// Appends `s` as `application/x-www-form-urlencoded` text, byte for byte what
/// `form_urlencoded::byte_serialize` yields (letters, digits and `*-._` as they
/// are, space as `+`, everything else `%XX`), without a string piece per byte.
fn push_form_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
}

enum Part<'a> {
    Text(&'a str),
    Coord(f64),
}

/// Appends `v` with six decimals (as `{v:.6}` would, but by integer arithmetic).
fn push_fixed6(out: &mut String, v: f64) {
    let scaled = (v.abs() * 1e6).round();
    if scaled.is_nan() || scaled >= 1e15 {
        // Not a coordinate; never happens for a valid position.
        out.push_str(&format!("{v:.6}"));
        return;
    }
    let n = scaled as u64;
    if v < 0.0 && n != 0 {
        out.push('-');
    }
    let mut digits = itoa::Buffer::new();
    out.push_str(digits.format(n / 1_000_000));
    out.push('.');
    let frac = digits.format(n % 1_000_000 + 1_000_000);
    out.push_str(&frac[1..]);
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

    /// Random WGS-84 points over mainland China (seeded), with their mask test.
    fn china_points(n: usize, seed: u64) -> Vec<LonLat> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let (lon, lat) = (rng.random_range(73.0..135.0), rng.random_range(18.0..54.0));
            if coordtransform::is_in_mainland_china(lon, lat) {
                out.push(LonLat::new(lon, lat).unwrap());
            }
        }
        out
    }

    fn metres(p: LonLat, (lon, lat): (f64, f64)) -> f64 {
        haversine_m(p, LonLat::new(lon, lat).unwrap())
    }

    /// Forward then exact inverse returns every point within 1 cm, for GCJ-02 and
    /// BD-09; the traditional one-step inverse is off by metres at its worst (which is
    /// why imports use the exact one), and the exact one is never worse than the
    /// crate's twice-refined inverse.
    #[test]
    fn exact_inverse_round_trips_within_a_centimetre() {
        let points = china_points(20_000, 7);
        let (mut worst_exact, mut worst_one_step, mut worst_crate) = (0.0f64, 0.0f64, 0.0f64);
        let (mut sum_exact, mut sum_one_step) = (0.0, 0.0);
        for &p in &points {
            let (glon, glat) = coordtransform::wgs84_to_gcj02(p.lon(), p.lat());
            let exact = metres(p, to_wgs84_exact(Crs::Gcj02, glon, glat));
            let one_step = metres(p, coordtransform::gcj02_to_wgs84_fast(glon, glat));
            let krate = metres(p, to_wgs84(Crs::Gcj02, glon, glat));
            assert!(exact < 0.01, "{p:?}: GCJ-02 exact inverse off by {exact} m");
            worst_exact = worst_exact.max(exact);
            worst_one_step = worst_one_step.max(one_step);
            worst_crate = worst_crate.max(krate);
            sum_exact += exact;
            sum_one_step += one_step;

            let (blon, blat) = coordtransform::wgs84_to_bd09(p.lon(), p.lat());
            let exact = metres(p, to_wgs84_exact(Crs::Bd09, blon, blat));
            assert!(exact < 0.01, "{p:?}: BD-09 exact inverse off by {exact} m");
            let (g1, g2) = coordtransform::bd09_to_gcj02_fast(blon, blat);
            let one_step = metres(p, coordtransform::gcj02_to_wgs84_fast(g1, g2));
            worst_one_step = worst_one_step.max(one_step);
        }
        let n = points.len() as f64;
        assert!(
            worst_one_step > 1.0,
            "one-step inverse worst {worst_one_step} m"
        );
        assert!(
            sum_one_step / n > 100.0 * (sum_exact / n).max(1e-6),
            "mean one-step {} m, exact {} m",
            sum_one_step / n,
            sum_exact / n
        );
        assert!(
            worst_exact <= worst_crate.max(0.002),
            "{worst_exact} vs {worst_crate}"
        );
    }

    /// Outside the crate's mask (Hong Kong, Seoul, Tokyo, Paris) the forward transform
    /// is the identity, so the exact inverse is too; WGS-84 input is never moved.
    #[test]
    fn exact_inverse_is_identity_where_the_shift_does_not_apply() {
        for (lon, lat) in [
            (114.1694, 22.3193),
            (126.978, 37.5665),
            (139.6917, 35.6895),
            (2.3522, 48.8566),
            (-74.006, 40.7128),
        ] {
            assert_eq!(coordtransform::wgs84_to_gcj02(lon, lat), (lon, lat));
            for crs in [Crs::Gcj02, Crs::Bd09, Crs::Wgs84] {
                assert_eq!(to_wgs84_exact(crs, lon, lat), (lon, lat), "{crs:?}");
            }
        }
        assert_eq!(to_wgs84_exact(Crs::Wgs84, 118.35, 35.1), (118.35, 35.1));
        let (lon, lat) = to_wgs84_exact(Crs::Gcj02, f64::NAN, 35.0);
        assert!(lon.is_nan() && lat == 35.0);
    }

    /// Points just inside the mask's edge (Xinjiang, the Amur, Yunnan) still invert
    /// exactly: the answer is the shifted preimage, in the mask.
    #[test]
    fn exact_inverse_near_the_border() {
        for (lon, lat) in [(80.2, 41.9), (127.5, 49.6), (101.0, 22.0), (121.0, 40.5)] {
            let p = LonLat::new(lon, lat).unwrap();
            assert!(coordtransform::is_in_mainland_china(lon, lat));
            let (glon, glat) = coordtransform::wgs84_to_gcj02(lon, lat);
            assert!(metres(p, to_wgs84_exact(Crs::Gcj02, glon, glat)) < 0.01);
        }
    }

    proptest::proptest! {
        #[test]
        fn form_encoding_matches_form_urlencoded(s in proptest::prelude::any::<String>()) {
            let mut ours = String::new();
            push_form_encoded(&mut ours, &s);
            let theirs: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
            proptest::prop_assert_eq!(ours, theirs);
        }

        /// The links hold the crate's own WGS-84 → GCJ-02 and → BD-09, in and out
        /// of the mainland (BD-09 is derived from the GCJ-02 result here).
        #[test]
        fn links_convert_as_the_crate_does(lon in 70.0..140.0f64, lat in 15.0..56.0f64) {
            let p = LonLat::new(lon, lat).unwrap();
            let links = nav_links(p, "站");
            let pair = |(x, y): (f64, f64)| {
                let mut s = String::new();
                push_fixed6(&mut s, x);
                s.push(',');
                push_fixed6(&mut s, y);
                s
            };
            let (glon, glat) = from_wgs84(Crs::Gcj02, p);
            let (blon, blat) = from_wgs84(Crs::Bd09, p);
            proptest::prop_assert!(links.amap.contains(&pair((glon, glat))), "{}", links.amap);
            proptest::prop_assert!(links.baidu.contains(&pair((blat, blon))), "{}", links.baidu);
        }
    }

    #[test]
    fn fixed6_matches_format() {
        for v in [
            0.0,
            1.5,
            -1.5,
            118.35,
            35.1,
            -0.0000004,
            179.9999995,
            -33.123456,
            1e-7,
        ] {
            let mut s = String::new();
            push_fixed6(&mut s, v);
            let want = format!("{v:.6}");
            let want = if want == "-0.000000" {
                "0.000000".to_owned()
            } else {
                want
            };
            assert_eq!(s, want, "{v}");
        }
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

    /// Each link starts a drive in one tap (Amap's and Baidu's route URIs, Apple's
    /// directions), with the name and the coordinates where each app wants them.
    #[test]
    fn links_start_navigation() {
        let p = LonLat::new(118.35, 35.1).unwrap();
        let links = nav_links(p, "司机之家 A");
        let (glon, glat) = from_wgs84(Crs::Gcj02, p);
        let (blon, blat) = from_wgs84(Crs::Bd09, p);
        let name: String = form_urlencoded::byte_serialize("司机之家 A".as_bytes()).collect();
        assert_eq!(
            links.amap,
            format!(
                "https://uri.amap.com/navigation?to={glon:.6},{glat:.6},{name}\
                 &mode=car&coordinate=gaode&callnative=1&src=waystation"
            )
        );
        assert_eq!(
            links.baidu,
            format!(
                "https://api.map.baidu.com/direction?destination=name:{name}|latlng:{blat:.6},{blon:.6}\
                 &mode=driving&coord_type=bd09ll&output=html&src=waystation"
            )
        );
        assert_eq!(
            links.apple,
            format!("https://maps.apple.com/?daddr=35.100000,118.350000&dirflg=d&q={name}")
        );
        assert_eq!(
            links.osm,
            "https://www.openstreetmap.org/?mlat=35.100000&mlon=118.350000#map=17/35.100000/118.350000"
        );
        // Every link parses as a URL whose query carries the destination whole.
        for link in [&links.amap, &links.baidu, &links.apple] {
            let query = link.split_once('?').unwrap().1;
            let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert!(
                pairs.iter().any(|(_, v)| v.contains("司机之家 A")),
                "{link}: {pairs:?}"
            );
        }
    }

    /// A comma (Amap's field separator) or a bar (Baidu's) in a name cannot cut the
    /// destination short: it becomes its full-width form there, and only there.
    #[test]
    fn separators_in_names_stay_inside_the_name() {
        let p = LonLat::new(118.35, 35.1).unwrap();
        let links = nav_links(p, "A,B|C");
        let to = |link: &str, key: &str| {
            let query = link.split_once('?').unwrap().1;
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        let amap_to = to(&links.amap, "to");
        assert_eq!(amap_to.split(',').count(), 3, "{amap_to}");
        assert!(amap_to.ends_with(",A，B|C"), "{amap_to}");
        let baidu_to = to(&links.baidu, "destination");
        assert_eq!(baidu_to.split('|').count(), 2, "{baidu_to}");
        assert!(baidu_to.starts_with("name:A,B｜C|latlng:"), "{baidu_to}");
        assert_eq!(to(&links.apple, "q"), "A,B|C");
    }
}
