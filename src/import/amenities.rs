//! Amenity words as staff write them (`热水、微波炉，手机充电`) to the closed
//! vocabulary of [`Amenity`]. Unknown words are returned, never dropped.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::model::{Amenity, AmenitySet};

use super::text::halfwidth;

/// The Chinese words (and English ids) for each amenity. The vocabulary's own
/// `name_zh` and ids are added to these.
const WORDS: &[(Amenity, &[&str])] = &[
    (Amenity::HotWater, &["热水", "热水器"]),
    (
        Amenity::DrinkingWater,
        &["饮水", "饮用水", "开水", "饮水机", "直饮水", "纯净水"],
    ),
    (Amenity::Microwave, &["微波炉", "加热"]),
    (Amenity::Fridge, &["冰箱", "冰柜"]),
    (
        Amenity::Charging,
        &["充电", "手机充电", "电动车充电", "充电宝", "电瓶车充电"],
    ),
    (Amenity::BatterySwap, &["换电", "换电柜", "电池更换"]),
    (Amenity::Toilet, &["卫生间", "厕所", "洗手间", "公厕"]),
    (
        Amenity::Seating,
        &["休息室", "休息区", "座椅", "桌椅", "休息", "沙发"],
    ),
    (Amenity::RestBeds, &["床位", "休息床", "床铺"]),
    (Amenity::Shower, &["淋浴", "洗澡", "浴室"]),
    (Amenity::Laundry, &["洗衣", "洗衣机"]),
    (
        Amenity::TruckParking,
        &["停车", "货车停车", "停车场", "货车停车场", "停车位"],
    ),
    (
        Amenity::FirstAid,
        &["药箱", "急救箱", "医药箱", "应急药箱", "急救包"],
    ),
    (Amenity::Medicine, &["常用药", "药品", "常备药品"]),
    (Amenity::AirConditioning, &["空调"]),
    (
        Amenity::Wifi,
        &["wifi", "wi-fi", "无线", "无线网", "无线上网"],
    ),
    (Amenity::Reading, &["书报", "阅读", "图书", "书籍", "报刊"]),
    (Amenity::LegalAid, &["法律援助", "法律咨询", "法律服务"]),
    (Amenity::FitnessEquipment, &["健身器材", "健身"]),
    (Amenity::Haircut, &["理发"]),
    (Amenity::CoupleRoom, &["夫妻房"]),
    (Amenity::Canteen, &["食堂"]),
    (Amenity::Meals, &["餐", "优惠餐", "用餐", "就餐", "爱心餐"]),
    (Amenity::QrEntry, &["扫码", "扫码开门", "扫码进入"]),
];

/// Words around an amenity that say nothing more (`提供热水`, `淋浴间`, `充电服务`).
const PREFIXES: &[&str] = &["提供", "免费", "配备", "配有", "设有", "有"];
const SUFFIXES: &[&str] = &[
    "服务", "设施", "设备", "区", "间", "室", "房", "桩", "机", "点", "柜",
];

static TABLE: LazyLock<HashMap<String, Amenity>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for &a in Amenity::ALL {
        map.insert(a.id().to_owned(), a);
        map.insert(a.name_zh().to_owned(), a);
    }
    for (a, words) in WORDS {
        for w in *words {
            map.insert((*w).to_owned(), *a);
        }
    }
    map
});

/// The amenities a cell names, and the words it uses that we do not know (each
/// once, as written).
pub(crate) fn parse(text: &str) -> (AmenitySet, Vec<String>) {
    let mut set = AmenitySet::default();
    let mut unknown: Vec<String> = Vec::new();
    let folded: String = text.chars().map(halfwidth).collect();
    let words = folded.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '、' | ',' | ';' | '/' | '|' | '+' | '。' | '及' | '\\' | '"' | '[' | ']'
            )
    });
    for word in words {
        let word = word.trim_matches(|c: char| c == '\'' || c == '.');
        if word.is_empty() {
            continue;
        }
        match lookup(word) {
            Some(a) => set.insert(a),
            None => {
                if !unknown.iter().any(|u| u == word) {
                    unknown.push(word.to_owned());
                }
            }
        }
    }
    (set, unknown)
}

fn lookup(word: &str) -> Option<Amenity> {
    let lower = word.to_lowercase();
    if let Some(a) = TABLE.get(&lower) {
        return Some(*a);
    }
    let mut w = lower.as_str();
    for p in PREFIXES {
        if let Some(rest) = w.strip_prefix(p) {
            w = rest;
            break;
        }
    }
    if let Some(a) = TABLE.get(w) {
        return Some(*a);
    }
    for s in SUFFIXES {
        if let Some(rest) = w.strip_suffix(s)
            && let Some(a) = TABLE.get(rest)
        {
            return Some(*a);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> (Vec<&'static str>, Vec<String>) {
        let (set, unknown) = parse(text);
        (set.iter().map(|a| a.id()).collect(), unknown)
    }

    /// Every word the issue lists maps to its vocabulary id.
    #[test]
    fn the_issue_word_list() {
        let table: &[(&str, &str)] = &[
            ("热水", "hot_water"),
            ("饮水", "drinking_water"),
            ("饮用水", "drinking_water"),
            ("开水", "drinking_water"),
            ("微波炉", "microwave"),
            ("加热", "microwave"),
            ("冰箱", "fridge"),
            ("充电", "charging"),
            ("手机充电", "charging"),
            ("电动车充电", "charging"),
            ("换电", "battery_swap"),
            ("卫生间", "toilet"),
            ("厕所", "toilet"),
            ("洗手间", "toilet"),
            ("休息室", "seating"),
            ("休息区", "seating"),
            ("座椅", "seating"),
            ("桌椅", "seating"),
            ("床位", "rest_beds"),
            ("休息床", "rest_beds"),
            ("淋浴", "shower"),
            ("洗澡", "shower"),
            ("洗衣", "laundry"),
            ("洗衣机", "laundry"),
            ("停车", "truck_parking"),
            ("货车停车", "truck_parking"),
            ("停车场", "truck_parking"),
            ("药箱", "first_aid"),
            ("急救箱", "first_aid"),
            ("医药箱", "first_aid"),
            ("常用药", "medicine"),
            ("药品", "medicine"),
            ("空调", "air_conditioning"),
            ("wifi", "wifi"),
            ("WiFi", "wifi"),
            ("无线", "wifi"),
            ("书报", "reading"),
            ("阅读", "reading"),
            ("法律援助", "legal_aid"),
            ("法律咨询", "legal_aid"),
            ("健身器材", "fitness_equipment"),
            ("理发", "haircut"),
            ("夫妻房", "couple_room"),
            ("食堂", "canteen"),
            ("餐", "meals"),
            ("优惠餐", "meals"),
            ("扫码", "qr_entry"),
        ];
        for (word, id) in table {
            assert_eq!(ids(word), (vec![*id], vec![]), "{word}");
        }
        for a in Amenity::ALL {
            assert_eq!(ids(a.id()).0, vec![a.id()]);
            assert_eq!(ids(a.name_zh()).0, vec![a.id()]);
        }
    }

    #[test]
    fn separators_dedup_and_unknown_words() {
        let (found, unknown) =
            ids("热水、微波炉，手机充电,淋浴；wifi;热水 / 卫生间 空调　饮用水|开水 按摩椅、按摩椅");
        assert_eq!(
            found,
            [
                "toilet",
                "drinking_water",
                "hot_water",
                "microwave",
                "charging",
                "air_conditioning",
                "shower",
                "wifi"
            ]
        );
        assert_eq!(unknown, ["按摩椅"]);
        assert_eq!(
            ids("提供热水、淋浴间、充电服务").0,
            ["hot_water", "charging", "shower"]
        );
        assert_eq!(ids("truck_parking,shower").0, ["shower", "truck_parking"]);
        assert_eq!(ids(""), (vec![], vec![]));
    }
}
