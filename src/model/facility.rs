//! A facility: a driver home, a union rest station or a worker fitness station.

use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use super::{AmenitySet, Layer, LonLat, Provenance};
use crate::model::hours::HoursId;

/// The grade of a worker fitness station (Shanghai's three kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// 简易型
    Simple,
    /// 常规型
    Regular,
    /// 综合型
    Comprehensive,
}

impl FromStr for Grade {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "simple" => Ok(Grade::Simple),
            "regular" => Ok(Grade::Regular),
            "comprehensive" => Ok(Grade::Comprehensive),
            other => Err(format!(
                "unknown grade '{other}' (simple, regular, comprehensive)"
            )),
        }
    }
}

/// One facility, as loaded and validated.
#[derive(Clone, Debug)]
pub struct Facility {
    /// Stable id, unique across all layers.
    pub id: Box<str>,
    /// Which facility layer.
    pub layer: Layer,
    /// WGS-84 position.
    pub position: LonLat,
    /// Chinese name.
    pub name: Box<str>,
    /// English name, when known.
    pub name_en: Option<Box<str>>,
    /// Street address.
    pub address: Option<Box<str>>,
    /// City (shared string).
    pub city: Option<Arc<str>>,
    /// District (shared string).
    pub district: Option<Arc<str>>,
    /// What it offers.
    pub amenities: AmenitySet,
    /// Opening hours, when known (an id into the dataset's table of distinct schedules).
    pub hours: Option<HoursId>,
    /// Telephone.
    pub phone: Option<Box<str>>,
    /// The union body that runs it.
    pub operator: Option<Arc<str>>,
    /// Fitness stations only.
    pub grade: Option<Grade>,
    /// Where the record comes from.
    pub provenance: Provenance,
}
