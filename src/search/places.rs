//! Places to move the map to: the cities and districts named in our own data, each
//! with its centre, extent and number of facilities, found by the same query.

use std::cmp::Ordering;

use hashbrown::HashMap;

use super::pinyin;
use super::text::{Kind, Query, norm_char, normalised, word_starts_with, words};
use crate::geodata::cities::CITIES;
use crate::index::{BBox, sphere};
use crate::model::LonLat;

/// A city or a district.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceKind {
    /// A city (the facilities' `city`).
    City,
    /// A district of a city (the facilities' `district`).
    District,
}

impl PlaceKind {
    /// The name in the API.
    pub fn id(self) -> &'static str {
        match self {
            PlaceKind::City => "city",
            PlaceKind::District => "district",
        }
    }
}

/// A place named by our facilities.
#[derive(Clone, Debug)]
pub struct Place {
    /// City or district.
    pub kind: PlaceKind,
    /// Its name as the data writes it (`临沂市`, `兰山区`).
    pub name: String,
    /// A district's city, when its facilities name one.
    pub city: Option<String>,
    /// Where to centre the map: a known city's centre, else the mean of its facilities.
    pub centre: LonLat,
    /// The extent of its facilities.
    pub bbox: BBox,
    /// How many facilities name it.
    pub count: usize,
    /// What its facilities add up to (a generation's overlay corrects it).
    pub(crate) extent: Extent,
    /// English name (cities in [`CITIES`]).
    pub name_en: Option<&'static str>,
    /// Normalised name, and the same without its last character when that is an
    /// administrative suffix (`临沂市` → `临沂`), and with its city before it.
    norm: String,
    stem: String,
    full: String,
    stem_chars: Vec<char>,
}

/// What the facilities of one place add up to.
///
/// The sums are in fixed point (2^-64 degree), so that they do not depend on the
/// order of the facilities and a facility taken away leaves exactly the sum of the
/// others: a generation's places (base places corrected by its delta) are those a
/// fresh index gives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Extent {
    pub count: usize,
    sum: [i128; 2],
    pub min: [f64; 2],
    pub max: [f64; 2],
}

impl Default for Extent {
    fn default() -> Self {
        Extent {
            count: 0,
            sum: [0; 2],
            min: [f64::INFINITY; 2],
            max: [f64::NEG_INFINITY; 2],
        }
    }
}

/// Degrees to the fixed point of [`Extent`]'s sums (exact scaling, then truncation).
const FIXED: f64 = 18_446_744_073_709_551_616.0; // 2^64

impl Extent {
    /// Adds a facility's position.
    pub fn add(&mut self, p: LonLat) {
        let xy = [p.lon(), p.lat()];
        self.count += 1;
        for (a, v) in xy.into_iter().enumerate() {
            self.sum[a] += (v * FIXED) as i128;
            self.min[a] = self.min[a].min(v);
            self.max[a] = self.max[a].max(v);
        }
    }

    /// Takes away a facility's position, added before; whether the extent must be
    /// measured again (the position was on its edge).
    pub fn remove(&mut self, p: LonLat) -> bool {
        let xy = [p.lon(), p.lat()];
        self.count = self.count.saturating_sub(1);
        let mut edge = false;
        for (a, v) in xy.into_iter().enumerate() {
            self.sum[a] -= (v * FIXED) as i128;
            edge |= v <= self.min[a] || v >= self.max[a];
        }
        edge
    }

    /// Forgets the edges, to be measured again with [`Extent::widen`].
    pub fn clear_edges(&mut self) {
        self.min = [f64::INFINITY; 2];
        self.max = [f64::NEG_INFINITY; 2];
    }

    /// Widens the edges to hold `p` (already counted).
    pub fn widen(&mut self, p: LonLat) {
        for (a, v) in [p.lon(), p.lat()].into_iter().enumerate() {
            self.min[a] = self.min[a].min(v);
            self.max[a] = self.max[a].max(v);
        }
    }

    /// The mean position, in degrees.
    fn mean(&self) -> [f64; 2] {
        let n = self.count as f64;
        self.sum.map(|s| s as f64 / FIXED / n)
    }
}

impl Place {
    /// A place from its facilities' extent; `None` when it has none.
    pub(crate) fn new(
        kind: PlaceKind,
        name: &str,
        city: Option<&str>,
        extent: &Extent,
    ) -> Option<Place> {
        if extent.count == 0 {
            return None;
        }
        let known = match kind {
            PlaceKind::City => CITIES
                .iter()
                .find(|c| name.strip_suffix('市').unwrap_or(name) == c.name),
            PlaceKind::District => None,
        };
        let centre = known
            .and_then(|c| LonLat::new(c.lon, c.lat).ok())
            .or_else(|| {
                let [lon, lat] = extent.mean();
                LonLat::new(lon, lat).ok()
            })?;
        let norm = normalised(name).into_owned();
        let stem = match norm.strip_suffix(['市', '区', '县', '旗', '盟', '州']) {
            Some(s) if s.chars().count() >= 2 => s.to_owned(),
            _ => norm.clone(),
        };
        let full = format!("{}{norm}", city.map(normalised).unwrap_or_default());
        Some(Place {
            kind,
            name: name.to_owned(),
            city: city.map(str::to_owned),
            centre,
            bbox: BBox {
                min_lon: extent.min[0],
                min_lat: extent.min[1],
                max_lon: extent.max[0],
                max_lat: extent.max[1],
            },
            count: extent.count,
            extent: *extent,
            name_en: known.map(|c| c.name_en),
            stem_chars: stem.chars().map(norm_char).collect(),
            norm,
            stem,
            full,
        })
    }

    /// Which place it is: kind, city, name (no two places share it).
    pub(crate) fn key(&self) -> (u8, Option<&str>, &str) {
        (self.kind as u8, self.city.as_deref(), &self.name)
    }

    /// How well the place matches, best 0; `None` when it does not.
    fn score(&self, q: &Query) -> Option<u8> {
        match q.kind {
            Kind::Text => {
                let s = q.stripped.as_str();
                if self.norm == s || self.stem == s {
                    Some(0)
                } else if self.norm.starts_with(s) {
                    Some(1)
                } else if self.norm.contains(s)
                    || (self.full.contains(s) && s.len() > self.full.len() - self.norm.len())
                {
                    // In the name, or the name with its city before it ("临沂市兰山"
                    // names 兰山区 but "临沂" alone does not).
                    Some(2)
                } else if self.stem.chars().count() >= 2 && s.starts_with(self.stem.as_str()) {
                    // "临沂驿站": the query starts with the place.
                    Some(3)
                } else {
                    None
                }
            }
            Kind::Latin => {
                let en = self.name_en.and_then(|en| {
                    let mut name = words(en);
                    q.words
                        .iter()
                        .all(|w| name.next().is_some_and(|n| word_starts_with(n, w)))
                        .then_some(if en.eq_ignore_ascii_case(&q.words.join(" ")) {
                            0
                        } else {
                            1
                        })
                });
                en.or_else(|| {
                    pinyin::matches_at(&self.stem_chars, 0, q.letters.as_bytes()).then_some(1)
                })
            }
        }
    }
}

/// The places matching `q`, at most `limit`: best match first, then the nearest to
/// `origin` (when given) or the one with the most facilities, then by name (cities
/// first, then by city: the order [`Gather::places`] gives, whatever order the
/// places come in).
pub(crate) fn find<'a>(
    places: impl Iterator<Item = &'a Place>,
    q: &Query,
    origin: Option<LonLat>,
    limit: usize,
) -> Vec<&'a Place> {
    let mut found: Vec<(u8, f64, &Place)> = places
        .filter_map(|p| {
            let score = p.score(q)?;
            let near = origin.map_or(-(p.count as f64), |o| sphere::haversine_m(o, p.centre));
            Some((score, near, p))
        })
        .collect();
    found.sort_by(|a, b| {
        (a.0.cmp(&b.0))
            .then(a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal))
            .then_with(|| a.2.full.cmp(&b.2.full))
            .then_with(|| a.2.key().cmp(&b.2.key()))
    });
    found.truncate(limit);
    found.into_iter().map(|(_, _, p)| p).collect()
}

/// Cities and (city, district) pairs with their extents, gathered facility by
/// facility, made into places.
#[derive(Default)]
pub(crate) struct Gather<'d> {
    cities: HashMap<&'d str, Extent>,
    districts: HashMap<(Option<&'d str>, &'d str), Extent>,
}

impl<'d> Gather<'d> {
    /// Counts one facility.
    pub fn add(&mut self, city: Option<&'d str>, district: Option<&'d str>, p: LonLat) {
        if let Some(c) = city {
            self.cities.entry(c).or_default().add(p);
        }
        if let Some(d) = district {
            self.districts.entry((city, d)).or_default().add(p);
        }
    }

    /// The places, cities first, each kind by name.
    pub fn places(self) -> Vec<Place> {
        let mut cities: Vec<_> = self.cities.into_iter().collect();
        cities.sort_by(|a, b| a.0.cmp(b.0));
        let mut districts: Vec<_> = self.districts.into_iter().collect();
        districts.sort_by(|a, b| (a.0.0, a.0.1).cmp(&(b.0.0, b.0.1)));
        let cities = cities
            .iter()
            .filter_map(|(name, e)| Place::new(PlaceKind::City, name, None, e));
        let districts = districts
            .iter()
            .filter_map(|((city, name), e)| Place::new(PlaceKind::District, name, *city, e));
        cities.chain(districts).collect()
    }
}
