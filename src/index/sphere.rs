//! Geodesy on the sphere: distances in metres, bearings, and the 3-D unit vectors
//! that let an ordinary R-tree find geodesic nearest neighbours exactly.
//!
//! Why 3-D: on a lon/lat plane a degree of longitude is treated like a degree of
//! latitude (at 40°N it is really 0.77 of one), the poles are lines and ±180° is a
//! cut. Mapped onto the unit sphere in 3-D, the straight-line (chord) distance
//! between two points is `2·sin(θ/2)` of their central angle θ: strictly increasing
//! in θ, so "nearest by chord" *is* "nearest by great-circle distance", with no
//! special case at the poles or the antimeridian.
//!
//! Distances use the mean Earth radius (IUGG R₁ = 6 371 008.8 m). The sphere differs
//! from the WGS-84 ellipsoid by at most about 0.5 % in distance.

use crate::model::LonLat;

/// Mean Earth radius in metres (IUGG R₁).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The point on the unit sphere.
pub fn unit_vector(p: LonLat) -> [f64; 3] {
    let (lon, lat) = (p.lon().to_radians(), p.lat().to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Squared chord between two unit vectors.
pub fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

/// Great-circle metres for a squared chord.
pub fn chord2_to_metres(c2: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (c2.max(0.0).sqrt() / 2.0).min(1.0).asin()
}

/// The squared chord of a great-circle distance (≥ 4 means "the whole globe").
pub fn metres_to_chord2(m: f64) -> f64 {
    let half_angle = m / (2.0 * EARTH_RADIUS_M);
    if half_angle >= std::f64::consts::FRAC_PI_2 {
        return 4.0;
    }
    let c = 2.0 * half_angle.sin();
    c * c
}

/// Great-circle distance in metres by the haversine formula (an independent check
/// on the chord arithmetic, and the reference of the brute-force tests).
pub fn haversine_m(a: LonLat, b: LonLat) -> f64 {
    let (la1, la2) = (a.lat().to_radians(), b.lat().to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon() - a.lon()).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Initial great-circle bearing from `a` to `b`, degrees clockwise from north in [0, 360).
pub fn initial_bearing_deg(a: LonLat, b: LonLat) -> f64 {
    let (la1, la2) = (a.lat().to_radians(), b.lat().to_radians());
    let dlon = (b.lon() - a.lon()).to_radians();
    let y = dlon.sin() * la2.cos();
    let x = la1.cos() * la2.sin() - la1.sin() * la2.cos() * dlon.cos();
    let deg = y.atan2(x).to_degrees().rem_euclid(360.0);
    if deg >= 360.0 { 0.0 } else { deg }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    #[test]
    fn chord_and_haversine_agree() {
        let pairs = [
            (p(116.4, 39.9), p(121.47, 31.23)), // Beijing–Shanghai ≈ 1 067 km
            (p(179.9, 10.0), p(-179.9, 10.0)),  // across the antimeridian
            (p(0.0, 89.99), p(180.0, 89.99)),   // over the pole
            (p(10.0, 10.0), p(10.0, 10.0)),     // same point
            (p(0.0, 0.0), p(180.0, 0.0)),       // antipodes
        ];
        for (a, b) in pairs {
            let via_chord = chord2_to_metres(chord2(&unit_vector(a), &unit_vector(b)));
            let hav = haversine_m(a, b);
            assert!(
                (via_chord - hav).abs() < 1e-3,
                "{a:?} {b:?}: {via_chord} vs {hav}"
            );
        }
        let bj_sh = haversine_m(pairs[0].0, pairs[0].1);
        assert!((bj_sh - 1_067_000.0).abs() < 5_000.0, "{bj_sh}");
        assert!(haversine_m(pairs[1].0, pairs[1].1) < 25_000.0);
    }

    #[test]
    fn longitude_degrees_shrink_with_latitude() {
        // At 40°N a degree of longitude is about 0.77 of a degree of latitude.
        let east = haversine_m(p(116.0, 40.0), p(117.0, 40.0));
        let north = haversine_m(p(116.0, 40.0), p(116.0, 41.0));
        assert!((east / north - 0.766).abs() < 0.01);
    }

    #[test]
    fn metres_and_chords_invert() {
        for m in [0.0, 1.0, 3_000.0, 500_000.0, 10_000_000.0] {
            let back = chord2_to_metres(metres_to_chord2(m));
            assert!((back - m).abs() < 1e-6 * m.max(1.0), "{m} {back}");
        }
        assert_eq!(metres_to_chord2(1e9), 4.0);
    }

    #[test]
    fn bearings() {
        assert!((initial_bearing_deg(p(0.0, 0.0), p(0.0, 1.0)) - 0.0).abs() < 1e-9);
        assert!((initial_bearing_deg(p(0.0, 0.0), p(1.0, 0.0)) - 90.0).abs() < 1e-9);
        assert!((initial_bearing_deg(p(0.0, 0.0), p(0.0, -1.0)) - 180.0).abs() < 1e-9);
        assert!((initial_bearing_deg(p(0.0, 0.0), p(-1.0, 0.0)) - 270.0).abs() < 1e-9);
    }
}
