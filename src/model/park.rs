//! An industrial or logistics park and its union status (建会).
//!
//! Counts are kept, not only a yes/no flag, each with the date it was counted: in
//! Linyi's Lanshan district the reported unionisation rate was 61.3 % but a field
//! count found about 40 %.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Shared;
use super::{LonLat, Provenance};

/// What kind of park.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkType {
    /// 工业园区
    Industrial,
    /// 物流园区
    Logistics,
    /// 开发区
    DevelopmentZone,
    /// 高新区
    HighTechZone,
    /// 农业 / 养殖园区
    Agricultural,
    /// 文化产业园
    CultureIndustry,
    /// 综合
    Mixed,
}

impl ParkType {
    /// Every kind of park.
    pub const ALL: [ParkType; 7] = [
        Self::Industrial,
        Self::Logistics,
        Self::DevelopmentZone,
        Self::HighTechZone,
        Self::Agricultural,
        Self::CultureIndustry,
        Self::Mixed,
    ];

    /// The names in the data and the API, in the order of [`ParkType::ALL`].
    pub const IDS: [&'static str; 7] = [
        "industrial",
        "logistics",
        "development_zone",
        "high_tech_zone",
        "agricultural",
        "culture_industry",
        "mixed",
    ];

    /// The name in the data and the API.
    pub fn id(self) -> &'static str {
        Self::IDS[self as usize]
    }
}

impl FromStr for ParkType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.id() == s)
            .ok_or_else(|| format!("unknown park_type '{s}' ({})", Self::IDS.join(", ")))
    }
}

/// Whether the park's enterprises have unions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnionStatus {
    /// No enterprise has a union (未建会).
    None,
    /// Some have.
    Partial,
    /// All have.
    Full,
}

impl UnionStatus {
    /// Every status.
    pub const ALL: [UnionStatus; 3] = [Self::None, Self::Partial, Self::Full];

    /// The names in the data and the API, in the order of [`UnionStatus::ALL`].
    pub const IDS: [&'static str; 3] = ["none", "partial", "full"];

    /// The name in the data and the API.
    pub fn id(self) -> &'static str {
        Self::IDS[self as usize]
    }
}

impl FromStr for UnionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|u| u.id() == s)
            .ok_or_else(|| format!("unknown union_status '{s}' ({})", Self::IDS.join(", ")))
    }
}

/// The counts a park's union status rests on; each may be unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParkCounts {
    /// Enterprises in the park.
    pub enterprises: Option<u32>,
    /// Of which have a union.
    pub unionised_enterprises: Option<u32>,
    /// Workers in the park.
    pub workers: Option<u32>,
    /// Of which are union members.
    pub union_members: Option<u32>,
}

impl ParkCounts {
    /// The status the enterprise counts imply, when both are known.
    pub fn derived_status(&self) -> Option<UnionStatus> {
        let (all, unionised) = (self.enterprises?, self.unionised_enterprises?);
        Some(if unionised == 0 {
            UnionStatus::None
        } else if unionised >= all {
            UnionStatus::Full
        } else {
            UnionStatus::Partial
        })
    }
}

/// One park, as loaded and validated.
#[derive(Clone, Debug)]
pub struct Park {
    /// Stable id, unique across all layers.
    pub id: Box<str>,
    /// Chinese name.
    pub name: Box<str>,
    /// English name, when known.
    pub name_en: Option<Box<str>>,
    /// City.
    pub city: Option<Shared>,
    /// District.
    pub district: Option<Shared>,
    /// Kind of park.
    pub park_type: Option<ParkType>,
    /// The counts behind the status.
    pub counts: ParkCounts,
    /// Derived from the counts when they are given, else as reported.
    pub union_status: Option<UnionStatus>,
    /// When the park union was founded.
    pub union_founded: Option<Shared>,
    /// When the counts were taken.
    pub counts_as_of: Option<Shared>,
    /// A representative point (the point itself, or the centroid of a polygon).
    pub position: LonLat,
    /// The geometry as given (Point, Polygon or MultiPolygon), re-emitted unchanged.
    pub geometry: Option<Box<serde_json::value::RawValue>>,
    /// Where the record comes from.
    pub provenance: Provenance,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_serde_names_and_parse_back() {
        for t in ParkType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.id());
            assert_eq!(t.id().parse::<ParkType>(), Ok(t));
        }
        for u in UnionStatus::ALL {
            assert_eq!(serde_json::to_value(u).unwrap(), u.id());
            assert_eq!(u.id().parse::<UnionStatus>(), Ok(u));
        }
    }

    #[test]
    fn status_follows_counts() {
        let c = |e, u| ParkCounts {
            enterprises: Some(e),
            unionised_enterprises: Some(u),
            ..Default::default()
        };
        assert_eq!(c(10, 0).derived_status(), Some(UnionStatus::None));
        assert_eq!(c(10, 4).derived_status(), Some(UnionStatus::Partial));
        assert_eq!(c(10, 10).derived_status(), Some(UnionStatus::Full));
        assert_eq!(ParkCounts::default().derived_status(), None);
    }
}
