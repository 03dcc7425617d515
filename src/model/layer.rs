//! The layers: three kinds of facility and the industrial parks.

use std::fmt;
use std::str::FromStr;

/// One map layer. Facility layers answer "nearest" queries; `Park` is the planners' layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// 司机之家: rest homes for truck drivers.
    DriverHome,
    /// 工会驿站 / 户外劳动者服务站点: rest stations for couriers and other outdoor workers.
    CourierStation,
    /// 职工健身驿站: worker fitness stations.
    FitnessStation,
    /// 工业园区 / 物流园区 / 开发区: industrial and logistics parks with their union status.
    Park,
}

impl Layer {
    /// Every layer, in display order.
    pub const ALL: [Layer; 4] = [
        Layer::DriverHome,
        Layer::CourierStation,
        Layer::FitnessStation,
        Layer::Park,
    ];
    /// The layers that hold facilities.
    pub const FACILITIES: [Layer; 3] = [
        Layer::DriverHome,
        Layer::CourierStation,
        Layer::FitnessStation,
    ];

    /// The names in the data and the API, in the order of [`Layer::ALL`].
    pub const IDS: [&'static str; 4] =
        ["driver_home", "courier_station", "fitness_station", "park"];

    /// The name in the data and the API.
    pub fn id(self) -> &'static str {
        Self::IDS[self as usize]
    }

    /// The Chinese name users know it by.
    pub fn name_zh(self) -> &'static str {
        match self {
            Layer::DriverHome => "司机之家",
            Layer::CourierStation => "工会驿站",
            Layer::FitnessStation => "职工健身驿站",
            Layer::Park => "工业园区",
        }
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Layer::DriverHome => "Driver homes",
            Layer::CourierStation => "Union rest stations",
            Layer::FitnessStation => "Worker fitness stations",
            Layer::Park => "Industrial parks",
        }
    }

    /// Whether the layer holds facilities (as opposed to parks).
    pub fn is_facility(self) -> bool {
        self != Layer::Park
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A layer id that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown layer '{0}' (known: driver_home, courier_station, fitness_station, park)")]
pub struct UnknownLayer(pub String);

impl FromStr for Layer {
    type Err = UnknownLayer;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layer::ALL
            .into_iter()
            .find(|l| l.id() == s)
            .ok_or_else(|| UnknownLayer(s.to_owned()))
    }
}

/// A set of layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct LayerSet(u8);

impl LayerSet {
    /// The three facility layers.
    pub fn facilities() -> Self {
        Layer::FACILITIES.into_iter().collect()
    }
    /// Whether `layer` is in the set.
    pub fn contains(self, layer: Layer) -> bool {
        self.0 & layer.bit() != 0
    }
    /// Adds a layer.
    pub fn insert(&mut self, layer: Layer) {
        self.0 |= layer.bit();
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The layers in the set, in display order.
    pub fn iter(self) -> impl Iterator<Item = Layer> {
        Layer::ALL.into_iter().filter(move |l| self.contains(*l))
    }
}

impl FromIterator<Layer> for LayerSet {
    fn from_iter<I: IntoIterator<Item = Layer>>(iter: I) -> Self {
        let mut set = LayerSet::default();
        for l in iter {
            set.insert(l);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for l in Layer::ALL {
            assert_eq!(l.id().parse::<Layer>(), Ok(l));
        }
        assert!("parks".parse::<Layer>().is_err());
    }

    #[test]
    fn set_holds_what_was_inserted() {
        let s: LayerSet = [Layer::Park, Layer::DriverHome].into_iter().collect();
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [Layer::DriverHome, Layer::Park]
        );
        assert!(!s.contains(Layer::CourierStation));
        assert_eq!(LayerSet::facilities().iter().count(), 3);
    }
}
