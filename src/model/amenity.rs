//! The closed amenity vocabulary (what a facility offers) and a bit set of it.
//!
//! The vocabulary is closed so that a filter like `amenities=shower,truck_parking`
//! means the same thing everywhere; `geodata/README.md` documents each word.

use std::fmt;
use std::str::FromStr;

macro_rules! amenities {
    ($($variant:ident = $id:literal, $zh:literal, $en:literal;)*) => {
        /// One thing a facility offers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum Amenity { $($variant),* }

        impl Amenity {
            /// The whole vocabulary, in documentation order.
            pub const ALL: &'static [Amenity] = &[$(Amenity::$variant),*];

            /// The id used in data files and URLs, e.g. `truck_parking`.
            pub fn id(self) -> &'static str {
                match self { $(Amenity::$variant => $id),* }
            }
            /// The Chinese label.
            pub fn name_zh(self) -> &'static str {
                match self { $(Amenity::$variant => $zh),* }
            }
            /// The English label.
            pub fn name_en(self) -> &'static str {
                match self { $(Amenity::$variant => $en),* }
            }
        }
    };
}

amenities! {
    Toilet = "toilet", "卫生间", "Toilet";
    DrinkingWater = "drinking_water", "饮用水", "Drinking water";
    HotWater = "hot_water", "热水", "Hot water";
    Microwave = "microwave", "微波炉", "Microwave";
    Fridge = "fridge", "冰箱", "Fridge";
    Charging = "charging", "充电", "Phone / e-bike charging";
    BatterySwap = "battery_swap", "换电", "E-bike battery swap";
    AirConditioning = "air_conditioning", "空调", "Air-conditioning";
    Seating = "seating", "桌椅", "Seating";
    RestBeds = "rest_beds", "休息床位", "Rest beds";
    Shower = "shower", "淋浴", "Shower";
    Laundry = "laundry", "洗衣", "Laundry";
    Canteen = "canteen", "食堂", "Canteen";
    Meals = "meals", "优惠餐", "Meals";
    TruckParking = "truck_parking", "货车停车", "Truck parking";
    FirstAid = "first_aid", "急救箱", "First aid";
    Medicine = "medicine", "常用药品", "Medicine";
    Wifi = "wifi", "无线网络", "Wi-Fi";
    Reading = "reading", "书报阅读", "Reading";
    LegalAid = "legal_aid", "法律援助", "Legal aid";
    FitnessEquipment = "fitness_equipment", "健身器材", "Fitness equipment";
    Haircut = "haircut", "理发", "Haircut";
    CoupleRoom = "couple_room", "夫妻房", "Couple room";
    QrEntry = "qr_entry", "扫码开门", "QR-code entry";
}

impl fmt::Display for Amenity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A word that is not in the amenity vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown amenity '{0}' (see geodata/README.md for the vocabulary)")]
pub struct UnknownAmenity(pub String);

impl FromStr for Amenity {
    type Err = UnknownAmenity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amenity::ALL
            .iter()
            .copied()
            .find(|a| a.id() == s)
            .ok_or_else(|| UnknownAmenity(s.to_owned()))
    }
}

/// A set of amenities, one bit each: filters test `wanted ⊆ offered` in one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AmenitySet(u32);

impl AmenitySet {
    /// Adds an amenity.
    pub fn insert(&mut self, a: Amenity) {
        self.0 |= 1 << (a as u32);
    }
    /// Whether `a` is in the set.
    pub fn contains(self, a: Amenity) -> bool {
        self.0 & (1 << (a as u32)) != 0
    }
    /// Whether every amenity of `other` is in `self`.
    pub fn contains_all(self, other: AmenitySet) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The amenities, in vocabulary order.
    pub fn iter(self) -> impl Iterator<Item = Amenity> {
        Amenity::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains(*a))
    }
    /// The raw bits (for compact index entries).
    pub fn bits(self) -> u32 {
        self.0
    }
    /// The set of [`AmenitySet::bits`]; bits beyond the vocabulary are dropped.
    pub fn from_bits(bits: u32) -> Self {
        AmenitySet(bits & ((1u32 << Amenity::ALL.len()) - 1))
    }
}

impl FromIterator<Amenity> for AmenitySet {
    fn from_iter<I: IntoIterator<Item = Amenity>>(iter: I) -> Self {
        let mut set = AmenitySet::default();
        for a in iter {
            set.insert(a);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_fits_in_bits_and_round_trips() {
        // The packed index keeps layer bits above bit 24.
        assert!(Amenity::ALL.len() <= 24);
        for a in Amenity::ALL {
            assert_eq!(a.id().parse::<Amenity>(), Ok(*a));
        }
        assert!("showers".parse::<Amenity>().is_err());
    }

    #[test]
    fn subset_test() {
        let offered: AmenitySet = [Amenity::Shower, Amenity::TruckParking, Amenity::Wifi]
            .into_iter()
            .collect();
        let wanted: AmenitySet = [Amenity::Shower, Amenity::TruckParking]
            .into_iter()
            .collect();
        assert!(offered.contains_all(wanted));
        assert!(!wanted.contains_all(offered));
        assert!(offered.contains_all(AmenitySet::default()));
        assert_eq!(offered.iter().count(), 3);
    }
}
