//! A facility: a driver home, a union rest station or a worker fitness station.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Shared;
use super::{AmenitySet, Layer, LonLat, Provenance};
use crate::model::hours::HoursId;

/// The grade of a worker fitness station (Shanghai's three kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// 简易型
    Simple,
    /// 常规型
    Regular,
    /// 综合型
    Comprehensive,
}

impl Grade {
    /// Every grade.
    pub const ALL: [Grade; 3] = [Grade::Simple, Grade::Regular, Grade::Comprehensive];

    /// The names in the data and the API, in the order of [`Grade::ALL`].
    pub const IDS: [&'static str; 3] = ["simple", "regular", "comprehensive"];

    /// The name in the data and the API.
    pub fn id(self) -> &'static str {
        Self::IDS[self as usize]
    }
}

impl FromStr for Grade {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Grade::ALL
            .into_iter()
            .find(|g| g.id() == s)
            .ok_or_else(|| format!("unknown grade '{s}' ({})", Self::IDS.join(", ")))
    }
}

/// A facility's own strings (id, name, English name, address, phone) in one
/// allocation: a million facilities hold a million of these, not five million.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacilityText {
    buf: Box<str>,
    /// Where each field ends in `buf`.
    ends: [u32; 5],
    /// Bit `i`: field `i` is present (an absent field is empty in `buf`).
    present: u8,
}

/// The fields of a [`FacilityText`], borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextFields<'a> {
    /// Stable id, unique across all layers.
    pub id: &'a str,
    /// Chinese name.
    pub name: &'a str,
    /// English name.
    pub name_en: Option<&'a str>,
    /// Street address.
    pub address: Option<&'a str>,
    /// Telephone.
    pub phone: Option<&'a str>,
}

impl FacilityText {
    /// Packs the fields.
    pub fn new(f: TextFields<'_>) -> Self {
        let parts = [Some(f.id), Some(f.name), f.name_en, f.address, f.phone];
        let mut buf = String::with_capacity(parts.iter().flatten().map(|p| p.len()).sum());
        let mut ends = [0u32; 5];
        let mut present = 0u8;
        for (i, part) in parts.iter().enumerate() {
            if let Some(part) = part {
                buf.push_str(part);
                present |= 1 << i;
            }
            ends[i] = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        }
        FacilityText {
            buf: buf.into_boxed_str(),
            ends,
            present,
        }
    }

    /// The packed form: buffer, field ends, presence bits (for snapshots).
    pub(crate) fn raw(&self) -> (&str, [u32; 5], u8) {
        (&self.buf, self.ends, self.present)
    }

    /// Back from [`FacilityText::raw`], checked: ends in order, inside the buffer
    /// and on character boundaries.
    pub(crate) fn from_raw(buf: &str, ends: [u32; 5], present: u8) -> Result<Self, String> {
        let mut start = 0usize;
        for (i, end) in ends.iter().enumerate() {
            let end = *end as usize;
            let absent = present & (1 << i) == 0;
            if end < start || buf.get(start..end).is_none() || (absent && end != start) {
                return Err(format!(
                    "field ends {ends:?} do not fit {} bytes",
                    buf.len()
                ));
            }
            start = end;
        }
        if start != buf.len() || present & 0b11 != 0b11 || present >> 5 != 0 {
            return Err("text fields damaged".into());
        }
        Ok(FacilityText {
            buf: buf.into(),
            ends,
            present,
        })
    }

    fn field(&self, i: usize) -> Option<&str> {
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.buf.get(start..self.ends[i] as usize)
    }

    /// All fields, borrowed.
    pub fn fields(&self) -> TextFields<'_> {
        TextFields {
            id: self.field(0).unwrap_or_default(),
            name: self.field(1).unwrap_or_default(),
            name_en: self.field(2),
            address: self.field(3),
            phone: self.field(4),
        }
    }
}

/// One facility, as loaded and validated.
#[derive(Clone, Debug)]
pub struct Facility {
    /// Id, names, address and phone (see the accessors).
    pub text: FacilityText,
    /// Which facility layer.
    pub layer: Layer,
    /// WGS-84 position.
    pub position: LonLat,
    /// City (shared string).
    pub city: Option<Shared>,
    /// District (shared string).
    pub district: Option<Shared>,
    /// What it offers.
    pub amenities: AmenitySet,
    /// Opening hours, when known (an id into the dataset's table of distinct schedules).
    pub hours: Option<HoursId>,
    /// The union body that runs it.
    pub operator: Option<Shared>,
    /// Fitness stations only.
    pub grade: Option<Grade>,
    /// Where the record comes from.
    pub provenance: Provenance,
}

impl Facility {
    /// Stable id, unique across all layers.
    pub fn id(&self) -> &str {
        self.text.field(0).unwrap_or_default()
    }

    /// Chinese name.
    pub fn name(&self) -> &str {
        self.text.field(1).unwrap_or_default()
    }

    /// English name, when known.
    pub fn name_en(&self) -> Option<&str> {
        self.text.field(2)
    }

    /// Street address.
    pub fn address(&self) -> Option<&str> {
        self.text.field(3)
    }

    /// Telephone.
    pub fn phone(&self) -> Option<&str> {
        self.text.field(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grade_ids_are_the_serde_names_and_parse_back() {
        for g in Grade::ALL {
            assert_eq!(serde_json::to_value(g).unwrap(), g.id());
            assert_eq!(g.id().parse::<Grade>(), Ok(g));
        }
    }

    #[test]
    fn text_fields_round_trip_with_absent_and_empty_fields() {
        let fields = TextFields {
            id: "dh-1",
            name: "财源物流园区司机之家",
            name_en: None,
            address: Some(""),
            phone: Some("0539-1234567"),
        };
        let t = FacilityText::new(fields);
        let back = t.fields();
        assert_eq!(back.id, "dh-1");
        assert_eq!(back.name, "财源物流园区司机之家");
        assert_eq!(back.name_en, None);
        assert_eq!(back.address, Some(""));
        assert_eq!(back.phone, Some("0539-1234567"));
        let (buf, ends, present) = t.raw();
        assert_eq!(FacilityText::from_raw(buf, ends, present), Ok(t.clone()));
        // An absent field with bytes, ends out of order, or no id: refused.
        assert!(FacilityText::from_raw(buf, ends, present & !(1 << 4)).is_err());
        assert!(FacilityText::from_raw(buf, [9, 4, 4, 4, ends[4]], present).is_err());
        assert!(FacilityText::from_raw(buf, ends, present & !1).is_err());
    }
}
