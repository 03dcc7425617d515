//! Cities of mainland China: place-name labels for the web map and the anchors
//! around which [`super::generate`] scatters its synthetic facilities and parks.
//!
//! The list covers all 31 provincial-level divisions of the mainland: dense in
//! the populous east and south, sparse in the west. Most entries are
//! prefecture-level cities (地级市) or the four municipalities (直辖市); a few
//! county-level cities (县级市) are included because they are the main place of a
//! large, thinly populated region: 喀什 (Kashgar), 库尔勒 (Korla), 伊宁
//! (Yining), 阿克苏 (Aksu), 和田 (Hotan), 格尔木 (Golmud), 大理 (Dali) and 延吉
//! (Yanji).
//!
//! - `name` is the short Chinese name as a map label shows it, without the
//!   trailing 市 (`郑州`, not `郑州市`); every entry is a city, so `{name}市` is
//!   always its full name.
//! - `lon` / `lat` are approximate WGS-84 coordinates of the city centre (the
//!   main urban district), good to a kilometre or two: enough for labels and
//!   for generating demo data, not for navigation.
//! - `weight` is a relative population and economic weight, roughly the
//!   permanent population in millions (2020 census, rounded). Chongqing is
//!   counted by its urban core, not its whole municipality, which is mostly
//!   rural.

/// A city: a label on the map and an anchor for generated data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    /// Short Chinese name without the 市 suffix, e.g. `郑州`.
    pub name: &'static str,
    /// English (pinyin or customary) name, e.g. `Zhengzhou`, `Urumqi`.
    pub name_en: &'static str,
    /// Chinese name of the provincial-level division, e.g. `河南省`.
    pub province: &'static str,
    /// Longitude of the city centre, WGS-84 degrees east.
    pub lon: f64,
    /// Latitude of the city centre, WGS-84 degrees north.
    pub lat: f64,
    /// Relative population / economic weight (≈ millions of residents).
    pub weight: f64,
}

const fn c(
    name: &'static str,
    name_en: &'static str,
    province: &'static str,
    lon: f64,
    lat: f64,
    weight: f64,
) -> City {
    City {
        name,
        name_en,
        province,
        lon,
        lat,
        weight,
    }
}

/// The cities, grouped by province (municipalities first, then roughly from
/// north-east to south-west).
pub static CITIES: &[City] = &[
    // Municipalities (直辖市)
    c("北京", "Beijing", "北京市", 116.407, 39.904, 21.9),
    c("上海", "Shanghai", "上海市", 121.474, 31.230, 24.9),
    c("天津", "Tianjin", "天津市", 117.201, 39.085, 13.9),
    c("重庆", "Chongqing", "重庆市", 106.551, 29.563, 20.0),
    // 河北省
    c("石家庄", "Shijiazhuang", "河北省", 114.514, 38.042, 11.2),
    c("唐山", "Tangshan", "河北省", 118.180, 39.630, 7.7),
    c("保定", "Baoding", "河北省", 115.464, 38.874, 11.5),
    c("邯郸", "Handan", "河北省", 114.539, 36.625, 9.4),
    c("张家口", "Zhangjiakou", "河北省", 114.887, 40.824, 4.1),
    c("沧州", "Cangzhou", "河北省", 116.838, 38.304, 7.3),
    // 山西省
    c("太原", "Taiyuan", "山西省", 112.549, 37.870, 5.3),
    c("大同", "Datong", "山西省", 113.300, 40.077, 3.1),
    c("阳泉", "Yangquan", "山西省", 113.580, 37.857, 1.3),
    c("长治", "Changzhi", "山西省", 113.117, 36.195, 3.2),
    // 内蒙古自治区
    c("呼和浩特", "Hohhot", "内蒙古自治区", 111.749, 40.842, 3.4),
    c("包头", "Baotou", "内蒙古自治区", 109.840, 40.657, 2.7),
    c("鄂尔多斯", "Ordos", "内蒙古自治区", 109.781, 39.608, 2.2),
    c("赤峰", "Chifeng", "内蒙古自治区", 118.887, 42.258, 4.0),
    c(
        "呼伦贝尔",
        "Hulunbuir",
        "内蒙古自治区",
        119.766,
        49.212,
        2.2,
    ),
    // 辽宁省
    c("沈阳", "Shenyang", "辽宁省", 123.431, 41.805, 9.1),
    c("大连", "Dalian", "辽宁省", 121.615, 38.914, 7.5),
    c("鞍山", "Anshan", "辽宁省", 122.994, 41.108, 3.3),
    c("锦州", "Jinzhou", "辽宁省", 121.127, 41.095, 2.7),
    // 吉林省
    c("长春", "Changchun", "吉林省", 125.324, 43.817, 9.1),
    c("延吉", "Yanji", "吉林省", 129.509, 42.891, 0.7),
    // 黑龙江省
    c("哈尔滨", "Harbin", "黑龙江省", 126.535, 45.803, 10.0),
    c("大庆", "Daqing", "黑龙江省", 125.104, 46.589, 2.8),
    c("齐齐哈尔", "Qiqihar", "黑龙江省", 123.918, 47.354, 4.1),
    c("牡丹江", "Mudanjiang", "黑龙江省", 129.633, 44.552, 2.3),
    // 江苏省
    c("南京", "Nanjing", "江苏省", 118.797, 32.060, 9.3),
    c("苏州", "Suzhou", "江苏省", 120.585, 31.299, 12.7),
    c("无锡", "Wuxi", "江苏省", 120.312, 31.491, 7.5),
    c("常州", "Changzhou", "江苏省", 119.974, 31.811, 5.3),
    c("南通", "Nantong", "江苏省", 120.894, 31.981, 7.7),
    c("徐州", "Xuzhou", "江苏省", 117.284, 34.205, 9.1),
    c("扬州", "Yangzhou", "江苏省", 119.413, 32.394, 4.6),
    c("连云港", "Lianyungang", "江苏省", 119.222, 34.597, 4.6),
    // 浙江省
    c("杭州", "Hangzhou", "浙江省", 120.155, 30.274, 12.0),
    c("宁波", "Ningbo", "浙江省", 121.550, 29.875, 9.4),
    c("温州", "Wenzhou", "浙江省", 120.699, 27.994, 9.6),
    c("金华", "Jinhua", "浙江省", 119.647, 29.079, 7.1),
    c("嘉兴", "Jiaxing", "浙江省", 120.755, 30.746, 5.4),
    c("绍兴", "Shaoxing", "浙江省", 120.580, 30.030, 5.3),
    // 安徽省
    c("合肥", "Hefei", "安徽省", 117.227, 31.820, 9.4),
    c("芜湖", "Wuhu", "安徽省", 118.433, 31.353, 3.6),
    c("阜阳", "Fuyang", "安徽省", 115.815, 32.890, 8.2),
    c("蚌埠", "Bengbu", "安徽省", 117.389, 32.916, 3.3),
    // 福建省
    c("福州", "Fuzhou", "福建省", 119.296, 26.074, 8.3),
    c("厦门", "Xiamen", "福建省", 118.089, 24.480, 5.2),
    c("泉州", "Quanzhou", "福建省", 118.676, 24.874, 8.8),
    c("漳州", "Zhangzhou", "福建省", 117.647, 24.513, 5.1),
    // 江西省
    c("南昌", "Nanchang", "江西省", 115.858, 28.683, 6.3),
    c("赣州", "Ganzhou", "江西省", 114.935, 25.831, 9.0),
    c("九江", "Jiujiang", "江西省", 116.001, 29.705, 4.6),
    // 山东省
    c("济南", "Jinan", "山东省", 117.121, 36.651, 9.2),
    c("青岛", "Qingdao", "山东省", 120.383, 36.067, 10.1),
    c("烟台", "Yantai", "山东省", 121.448, 37.464, 7.1),
    c("潍坊", "Weifang", "山东省", 119.162, 36.707, 9.4),
    c("临沂", "Linyi", "山东省", 118.356, 35.104, 11.0),
    c("聊城", "Liaocheng", "山东省", 115.985, 36.457, 6.0),
    c("济宁", "Jining", "山东省", 116.587, 35.415, 8.4),
    c("淄博", "Zibo", "山东省", 118.055, 36.813, 4.7),
    // 河南省
    c("郑州", "Zhengzhou", "河南省", 113.625, 34.747, 12.6),
    c("洛阳", "Luoyang", "河南省", 112.454, 34.619, 7.1),
    c("南阳", "Nanyang", "河南省", 112.529, 32.991, 9.7),
    c("新乡", "Xinxiang", "河南省", 113.927, 35.303, 6.3),
    c("商丘", "Shangqiu", "河南省", 115.656, 34.414, 7.8),
    // 湖北省
    c("武汉", "Wuhan", "湖北省", 114.305, 30.593, 12.3),
    c("宜昌", "Yichang", "湖北省", 111.286, 30.692, 4.0),
    c("襄阳", "Xiangyang", "湖北省", 112.122, 32.009, 5.3),
    c("十堰", "Shiyan", "湖北省", 110.798, 32.629, 3.2),
    // 湖南省
    c("长沙", "Changsha", "湖南省", 112.939, 28.228, 10.0),
    c("株洲", "Zhuzhou", "湖南省", 113.134, 27.828, 3.9),
    c("衡阳", "Hengyang", "湖南省", 112.572, 26.894, 6.6),
    c("岳阳", "Yueyang", "湖南省", 113.129, 29.357, 5.1),
    c("怀化", "Huaihua", "湖南省", 109.998, 27.555, 4.6),
    // 广东省
    c("广州", "Guangzhou", "广东省", 113.264, 23.129, 18.7),
    c("深圳", "Shenzhen", "广东省", 114.058, 22.543, 17.6),
    c("东莞", "Dongguan", "广东省", 113.752, 23.021, 10.5),
    c("佛山", "Foshan", "广东省", 113.122, 23.022, 9.5),
    c("珠海", "Zhuhai", "广东省", 113.577, 22.271, 2.4),
    c("汕头", "Shantou", "广东省", 116.682, 23.354, 5.5),
    c("惠州", "Huizhou", "广东省", 114.416, 23.112, 6.0),
    c("湛江", "Zhanjiang", "广东省", 110.359, 21.271, 7.0),
    // 广西壮族自治区
    c("南宁", "Nanning", "广西壮族自治区", 108.366, 22.817, 8.7),
    c("柳州", "Liuzhou", "广西壮族自治区", 109.416, 24.326, 4.2),
    c("桂林", "Guilin", "广西壮族自治区", 110.290, 25.274, 4.9),
    c("北海", "Beihai", "广西壮族自治区", 109.120, 21.481, 1.9),
    // 海南省
    c("海口", "Haikou", "海南省", 110.199, 20.044, 2.9),
    c("三亚", "Sanya", "海南省", 109.512, 18.252, 1.0),
    // 四川省
    c("成都", "Chengdu", "四川省", 104.066, 30.572, 20.9),
    c("绵阳", "Mianyang", "四川省", 104.679, 31.467, 4.9),
    c("宜宾", "Yibin", "四川省", 104.643, 28.752, 4.6),
    c("南充", "Nanchong", "四川省", 106.111, 30.837, 5.6),
    c("泸州", "Luzhou", "四川省", 105.443, 28.872, 4.3),
    // 贵州省
    c("贵阳", "Guiyang", "贵州省", 106.630, 26.647, 6.0),
    c("遵义", "Zunyi", "贵州省", 106.927, 27.725, 6.6),
    c("六盘水", "Liupanshui", "贵州省", 104.830, 26.593, 3.0),
    // 云南省
    c("昆明", "Kunming", "云南省", 102.833, 24.880, 8.5),
    c("曲靖", "Qujing", "云南省", 103.796, 25.490, 5.8),
    c("玉溪", "Yuxi", "云南省", 102.547, 24.352, 2.2),
    c("大理", "Dali", "云南省", 100.229, 25.593, 0.8),
    // 西藏自治区
    c("拉萨", "Lhasa", "西藏自治区", 91.132, 29.660, 0.9),
    c("日喀则", "Shigatse", "西藏自治区", 88.881, 29.267, 0.8),
    c("林芝", "Nyingchi", "西藏自治区", 94.361, 29.649, 0.24),
    // 陕西省
    c("西安", "Xi'an", "陕西省", 108.940, 34.341, 13.0),
    c("宝鸡", "Baoji", "陕西省", 107.237, 34.362, 3.3),
    c("咸阳", "Xianyang", "陕西省", 108.709, 34.329, 4.2),
    c("榆林", "Yulin", "陕西省", 109.735, 38.285, 3.6),
    c("汉中", "Hanzhong", "陕西省", 107.023, 33.068, 3.2),
    // 甘肃省
    c("兰州", "Lanzhou", "甘肃省", 103.834, 36.061, 4.4),
    c("天水", "Tianshui", "甘肃省", 105.725, 34.581, 3.0),
    c("酒泉", "Jiuquan", "甘肃省", 98.494, 39.732, 1.1),
    c("张掖", "Zhangye", "甘肃省", 100.450, 38.925, 1.1),
    // 青海省
    c("西宁", "Xining", "青海省", 101.778, 36.617, 2.5),
    c("格尔木", "Golmud", "青海省", 94.903, 36.402, 0.25),
    // 宁夏回族自治区
    c("银川", "Yinchuan", "宁夏回族自治区", 106.231, 38.487, 2.9),
    c("吴忠", "Wuzhong", "宁夏回族自治区", 106.199, 37.986, 1.4),
    c(
        "石嘴山",
        "Shizuishan",
        "宁夏回族自治区",
        106.384,
        38.984,
        0.75,
    ),
    // 新疆维吾尔自治区
    c(
        "乌鲁木齐",
        "Urumqi",
        "新疆维吾尔自治区",
        87.617,
        43.826,
        4.1,
    ),
    c(
        "克拉玛依",
        "Karamay",
        "新疆维吾尔自治区",
        84.889,
        45.580,
        0.5,
    ),
    c("哈密", "Hami", "新疆维吾尔自治区", 93.515, 42.819, 0.67),
    c("库尔勒", "Korla", "新疆维吾尔自治区", 86.150, 41.760, 0.6),
    c("伊宁", "Yining", "新疆维吾尔自治区", 81.324, 43.917, 0.6),
    c("阿克苏", "Aksu", "新疆维吾尔自治区", 80.265, 41.169, 0.7),
    c("喀什", "Kashgar", "新疆维吾尔自治区", 75.990, 39.470, 0.7),
    c("和田", "Hotan", "新疆维吾尔自治区", 79.922, 37.114, 0.4),
];

/// Looks a city up by its short Chinese name (`郑州`) or its full name (`郑州市`).
pub fn by_name(name: &str) -> Option<&'static City> {
    let short = name.strip_suffix('市').unwrap_or(name);
    CITIES.iter().find(|c| c.name == short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_city_is_inside_chinas_rough_bbox() {
        for c in CITIES {
            assert!(
                (73.0..=135.0).contains(&c.lon) && (18.0..=54.0).contains(&c.lat),
                "{} ({}) at {},{} is outside China's bbox",
                c.name,
                c.name_en,
                c.lon,
                c.lat
            );
        }
    }

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut zh = HashSet::new();
        let mut en = HashSet::new();
        for c in CITIES {
            assert!(zh.insert(c.name), "duplicate name {}", c.name);
            assert!(en.insert(c.name_en), "duplicate name_en {}", c.name_en);
            assert!(!c.name.ends_with('市'), "{}: use the short name", c.name);
            assert!(
                c.province.ends_with('省')
                    || c.province.ends_with('市')
                    || c.province.ends_with("自治区"),
                "{}: odd province {}",
                c.name,
                c.province
            );
            assert!(c.weight > 0.0 && c.weight.is_finite(), "{}", c.name);
        }
    }

    #[test]
    fn covers_all_31_provincial_divisions_and_about_100_cities() {
        let provinces: HashSet<_> = CITIES.iter().map(|c| c.province).collect();
        assert_eq!(provinces.len(), 31, "{provinces:?}");
        assert!((90..=160).contains(&CITIES.len()));
    }

    #[test]
    fn east_outweighs_west() {
        let east: f64 = CITIES
            .iter()
            .filter(|c| c.lon > 110.0)
            .map(|c| c.weight)
            .sum();
        let west: f64 = CITIES
            .iter()
            .filter(|c| c.lon < 100.0)
            .map(|c| c.weight)
            .sum();
        assert!(east > 20.0 * west, "east {east} west {west}");
    }

    #[test]
    fn lookup_by_short_or_full_name() {
        assert_eq!(by_name("临沂").map(|c| c.name_en), Some("Linyi"));
        assert_eq!(by_name("聊城市").map(|c| c.name_en), Some("Liaocheng"));
        assert!(by_name("台北").is_none());
    }
}
