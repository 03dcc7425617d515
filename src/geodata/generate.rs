//! The demo and benchmark data generator (`waystation gen`).
//!
//! [`generate`] writes four GeoJSON files of *synthetic* features into a folder:
//! `driver_home.synthetic.geojson`, `courier_station.synthetic.geojson`,
//! `fitness_station.synthetic.geojson` and `park.synthetic.geojson`. Every
//! feature says `"synthetic": true`, `"position_accuracy": "approximate"` and
//! `"source": "waystation gen seed=<seed>"`, so a planner can never mistake a
//! generated park for a real one; names carry a `（N号）`-style number and the
//! cities' real names only as a prefix.
//!
//! # What it looks like
//! - Facilities are split 15 % driver homes (司机之家), 70 % union rest stations
//!   (工会驿站) and 15 % worker fitness stations (职工健身驿站); parks are a
//!   separate count.
//! - Each feature is placed around a city of [`CITIES`] chosen by the city's
//!   weight, so the dense east gets many and the far west few. Rest and fitness
//!   stations fall off from the centre (a 2-D Gaussian whose width grows with
//!   the city); driver homes sit on the outskirts along a few logistics
//!   corridors per city; parks cluster in a few industrial zones per city. For
//!   coastal and lake-side cities a point that would fall in the water (or
//!   across the border into Hong Kong, Macao or Kinmen) is turned back towards
//!   land.
//! - Amenities, opening hours (OpenStreetMap syntax), grades and park counts
//!   follow the proportions in the union press reports (for example Shanghai's
//!   36 simple, 17 regular and 78 comprehensive fitness stations). A park's
//!   workers are log-normal with a median of 3,000, truncated to 50–80,000
//!   (about 1 park in 100 above 30,000, 1 in 400 above 50,000); its
//!   enterprises are the workers over a mean firm size of 15–80. Park counts
//!   are consistent: `unionised_enterprises ≤ enterprises`,
//!   `union_members ≤ workers`, and `union_status` is derived from the counts.
//! - Synthetic telephone numbers use the city's real area code but a local
//!   number that starts with `0`, which no Chinese subscriber number does: they
//!   look right and cannot ring anyone.
//!
//! # Determinism and speed
//! A layer is made in chunks of 8192 features; each chunk draws from its own
//! ChaCha8 streams of the seed, so chunks are made on all cores in parallel
//! and written in order, and the same seed gives byte-identical files whatever
//! the number of threads (the wall clock is never read: `updated` is
//! [`UPDATED`]). Features are serialized with `serde_json`, one per line,
//! straight into the chunk's buffer; at most a few chunks are in memory at
//! once, never the whole collection. Each file is written to a hidden
//! temporary file in the same folder and renamed into place when complete.
//! One million facilities and 100,000 parks (about 730 MB) take a few seconds
//! in a release build.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::model::{
    Amenity, AmenitySet, FacilityProperties, Grade, ParkProperties, ParkType, PositionAccuracy,
    UnionStatus,
};

use super::cities::{CITIES, City};

/// The `updated` date of every generated feature (fixed, for determinism).
pub const UPDATED: &str = "2026-11-01";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// Facilities in total, split 15 % / 70 % / 15 % over driver homes, rest
    /// stations and fitness stations.
    pub facilities: usize,
    /// Parks.
    pub parks: usize,
    /// Random seed; the same seed gives byte-identical files.
    pub seed: u64,
}

impl Default for GenOptions {
    /// The options the bundled `geodata/*.synthetic.geojson` were made with.
    fn default() -> Self {
        GenOptions {
            facilities: 3000,
            parks: 600,
            seed: 2026,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSummary {
    /// Facilities written (all three facility layers).
    pub facilities: usize,
    /// Parks written.
    pub parks: usize,
    /// The files written, in layer order: driver_home, courier_station,
    /// fitness_station, park.
    pub files: Vec<PathBuf>,
}

/// Why [`generate`] failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Creating the folder or writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes the four synthetic layer files into `out` (created if missing;
/// existing files are replaced).
pub fn generate(opts: &GenOptions, out: &Path) -> Result<GenSummary, GenError> {
    fs::create_dir_all(out).map_err(|source| GenError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let (dh, cs, fs) = split_facilities(opts.facilities);
    let jobs = [
        (Kind::DriverHome, dh),
        (Kind::CourierStation, cs),
        (Kind::FitnessStation, fs),
        (Kind::Park, opts.parks),
    ];
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 16);
    let files = jobs
        .iter()
        .map(|&(kind, n)| write_layer(kind, n, opts.seed, out, workers))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GenSummary {
        facilities: opts.facilities,
        parks: opts.parks,
        files,
    })
}

/// Driver homes, courier stations, fitness stations: 15 % / 70 % / 15 %.
fn split_facilities(n: usize) -> (usize, usize, usize) {
    let dh = (n as f64 * 0.15).round() as usize;
    let fs = (n as f64 * 0.15).round() as usize;
    let dh = dh.min(n);
    let fs = fs.min(n - dh);
    (dh, n - dh - fs, fs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    DriverHome,
    CourierStation,
    FitnessStation,
    Park,
}

impl Kind {
    fn layer(self) -> &'static str {
        match self {
            Kind::DriverHome => "driver_home",
            Kind::CourierStation => "courier_station",
            Kind::FitnessStation => "fitness_station",
            Kind::Park => "park",
        }
    }
    fn id_prefix(self) -> &'static str {
        match self {
            Kind::DriverHome => "syn-dh-",
            Kind::CourierStation => "syn-cs-",
            Kind::FitnessStation => "syn-fs-",
            Kind::Park => "syn-pk-",
        }
    }
    /// The layer's part of the ChaCha stream number (see [`rng_for`]).
    fn stream(self) -> u64 {
        match self {
            Kind::DriverHome => 1,
            Kind::CourierStation => 2,
            Kind::FitnessStation => 3,
            Kind::Park => 4,
        }
    }
}

fn write_layer(
    kind: Kind,
    n: usize,
    seed: u64,
    out: &Path,
    workers: usize,
) -> Result<PathBuf, GenError> {
    let path = out.join(format!("{}.synthetic.geojson", kind.layer()));
    let tmp = out.join(format!(".{}.synthetic.geojson.tmp", kind.layer()));
    let plan = Plan::new(kind, n, seed);
    let result = (|| -> io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
        write_chunks(&plan, workers, |chunk| file.write_all(chunk))?;
        file.write_all(b"\n]}\n")?;
        drop(file);
        fs::rename(&tmp, &path)
    })();
    match result {
        Ok(()) => Ok(path),
        Err(source) => {
            let _ = fs::remove_file(&tmp);
            Err(GenError::Io { path, source })
        }
    }
}

/// Features per chunk: the unit of parallel work, each with its own random
/// streams, written in order whatever thread made it.
const CHUNK: usize = 8192;

/// Generates the plan's chunks on `workers` threads and hands them to `sink`
/// in order. A failing sink stops the workers.
fn write_chunks(
    plan: &Plan,
    workers: usize,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let chunks = plan.chunks();
    if chunks == 0 {
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, io::Result<Vec<u8>>)>(workers * 2);
    std::thread::scope(|s| {
        for _ in 0..workers.min(chunks) {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks {
                        break;
                    }
                    let mut buf = Vec::with_capacity(Plan::chunk_range(plan.n, c).len() * 700);
                    let r = plan.write_chunk(c, &mut buf).map(|()| buf);
                    if tx.send((c, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Moved in, so that returning early drops it and the workers stop.
        let rx = rx;
        let mut pending = BTreeMap::new();
        let mut want = 0;
        for (c, r) in rx.iter() {
            pending.insert(c, r?);
            while let Some(buf) = pending.remove(&want) {
                sink(&buf)?;
                want += 1;
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Vocabulary and proportions

/// Probability of each amenity (in [`Amenity::ALL`] order) at a driver home:
/// parking, showers, laundry, beds, canteen (Hubei's 24-hour driver homes,
/// Linyi's haircuts and couple rooms).
const DH_AMENITIES: [f64; 24] = [
    0.97, 0.95, 0.80, 0.50, 0.30, 0.70, 0.05, 0.75, 0.90, 0.80, 0.85, 0.75, 0.50, 0.35, 0.90, 0.60,
    0.30, 0.70, 0.30, 0.15, 0.05, 0.15, 0.12, 0.10,
];
/// … at a rest station (工会驿站): water, microwave, charging, toilet, a seat,
/// air-conditioning; some legal aid, battery swap, medicine, haircuts.
const CS_AMENITIES: [f64; 24] = [
    0.60, 0.97, 0.60, 0.85, 0.35, 0.85, 0.10, 0.80, 0.95, 0.08, 0.02, 0.03, 0.02, 0.05, 0.00, 0.70,
    0.40, 0.50, 0.35, 0.10, 0.03, 0.03, 0.00, 0.15,
];
/// … at a fitness station, by grade: simple, regular, comprehensive.
const FS_AMENITIES: [[f64; 24]; 3] = [
    [
        0.30, 0.60, 0.10, 0.00, 0.00, 0.10, 0.00, 0.20, 0.60, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00,
        0.30, 0.05, 0.20, 0.10, 0.00, 1.00, 0.00, 0.00, 0.20,
    ],
    [
        0.80, 0.85, 0.30, 0.05, 0.05, 0.30, 0.00, 0.70, 0.70, 0.00, 0.30, 0.00, 0.00, 0.00, 0.00,
        0.60, 0.15, 0.50, 0.20, 0.00, 1.00, 0.00, 0.00, 0.30,
    ],
    [
        0.95, 0.95, 0.60, 0.10, 0.10, 0.50, 0.00, 0.90, 0.80, 0.05, 0.80, 0.05, 0.05, 0.05, 0.00,
        0.80, 0.30, 0.80, 0.40, 0.02, 1.00, 0.00, 0.00, 0.40,
    ],
];

/// Fitness-station grades with Shanghai's proportions (36 / 17 / 78 of 131).
const GRADES: [(Grade, f64); 3] = [
    (Grade::Simple, 36.0),
    (Grade::Regular, 17.0),
    (Grade::Comprehensive, 78.0),
];

/// Opening hours (OpenStreetMap syntax) and relative weights; `None` = unknown.
const DH_HOURS: &[(Option<&str>, f64)] = &[
    (Some("24/7"), 60.0),
    (Some("Mo-Su 06:00-23:00"), 18.0),
    (Some("Mo-Su 07:00-22:00"), 10.0),
    (None, 12.0),
];
/// Rest stations: nationally only about 1 in 15 is open 24 hours (12,100 of
/// 186,100 at the end of 2024), more in some cities (Liaocheng's QR-code
/// stations).
const CS_HOURS: &[(Option<&str>, f64)] = &[
    (Some("24/7"), 12.0),
    (Some("Mo-Su 08:00-20:00"), 22.0),
    (Some("Mo-Fr 08:00-20:00; PH off"), 18.0),
    (Some("Mo-Fr 09:00-18:00; PH off"), 12.0),
    (Some("Mo-Su 07:00-22:00"), 12.0),
    (Some("Mo-Fr 09:00-21:00; Sa,Su 09:00-17:00; PH off"), 12.0),
    (None, 12.0),
];
const FS_HOURS: &[(Option<&str>, f64)] = &[
    (Some("Mo-Fr 09:00-21:00; Sa,Su 09:00-17:00; PH off"), 25.0),
    (Some("Mo-Su 06:00-22:00"), 20.0),
    (Some("Mo-Fr 08:00-20:00; PH off"), 18.0),
    (Some("Mo-Fr 17:00-21:00; Sa,Su 09:00-21:00"), 15.0),
    (Some("24/7"), 5.0),
    (None, 17.0),
];

/// Park types: (id, Chinese word, English word, weight).
const PARK_TYPES: &[(ParkType, &str, &str, f64)] = &[
    (ParkType::Industrial, "工业园", "Industrial Park", 35.0),
    (ParkType::Logistics, "物流园", "Logistics Park", 25.0),
    (
        ParkType::DevelopmentZone,
        "经济开发区片区",
        "Development Zone Area",
        10.0,
    ),
    (
        ParkType::HighTechZone,
        "高新技术产业园",
        "High-tech Park",
        10.0,
    ),
    (
        ParkType::Agricultural,
        "农业产业园",
        "Agricultural Park",
        8.0,
    ),
    (
        ParkType::CultureIndustry,
        "文化创意产业园",
        "Culture Industry Park",
        5.0,
    ),
    (ParkType::Mixed, "综合产业园", "Mixed-use Park", 7.0),
];

/// Union status of a park before its counts are drawn: none / partial / full.
const STATUS_WEIGHTS: [f64; 3] = [22.0, 63.0, 15.0];

/// Common road names for synthetic addresses.
const ROADS: &[&str] = &[
    "人民路",
    "解放路",
    "建设路",
    "中山路",
    "和平路",
    "新华路",
    "胜利路",
    "文化路",
    "长江路",
    "黄河路",
    "科技路",
    "迎宾大道",
    "团结路",
    "幸福路",
    "光明路",
    "朝阳路",
    "民主路",
    "东风路",
    "青年路",
    "滨河路",
    "站前路",
    "复兴路",
    "振兴路",
    "发展大道",
    "学府路",
    "五一路",
    "八一路",
    "工业路",
];

/// Roads on the outskirts where driver homes are.
const CORRIDOR_ROADS: &[&str] = &[
    "物流大道",
    "货运大道",
    "环城公路",
    "外环路",
    "国道辅路",
    "开发区大道",
    "港城路",
    "公路港路",
];

const OPERATORS_DH: &[&str] = &[
    "总工会",
    "交通运输工会",
    "物流行业工会联合会",
    "货车司机工会联合会",
];
const OPERATORS_CS: &[&str] = &[
    "总工会",
    "总工会",
    "快递行业工会联合会",
    "交通运输工会",
    "环卫行业工会",
    "新就业形态劳动者工会联合会",
];
const OPERATORS_FS: &[&str] = &[
    "总工会",
    "总工会",
    "机关工会",
    "建设工会",
    "产业园区联合工会",
];

/// Nobody is placed further than this from the city centre.
const MAX_KM: f64 = 60.0;

/// Coastal and lake-side cities: (name, bearing of the land side in degrees
/// clockwise from north, half-width of the land sector, radius in km within
/// which every bearing is land). Points outside the land sector and beyond the
/// radius are turned into it. Shenzhen, Zhuhai and Xiamen also keep points out
/// of Hong Kong, Macao and Kinmen.
const LAND_SECTORS: &[(&str, f64, f64, f64)] = &[
    ("深圳", 0.0, 85.0, 1.5),
    ("珠海", 315.0, 70.0, 2.0),
    ("厦门", 315.0, 60.0, 4.0),
    ("青岛", 10.0, 70.0, 4.0),
    ("大连", 40.0, 40.0, 4.0),
    ("三亚", 0.0, 80.0, 2.0),
    ("海口", 180.0, 80.0, 2.0),
    ("北海", 80.0, 60.0, 2.0),
    ("上海", 270.0, 120.0, 30.0),
    ("天津", 270.0, 120.0, 40.0),
    ("宁波", 260.0, 110.0, 25.0),
    ("温州", 280.0, 110.0, 20.0),
    ("福州", 280.0, 110.0, 30.0),
    ("泉州", 320.0, 100.0, 8.0),
    ("漳州", 270.0, 120.0, 20.0),
    ("汕头", 320.0, 90.0, 4.0),
    ("湛江", 270.0, 90.0, 3.0),
    ("烟台", 180.0, 90.0, 2.0),
    ("连云港", 240.0, 110.0, 12.0),
    ("潍坊", 180.0, 120.0, 40.0),
    ("唐山", 0.0, 120.0, 45.0),
    ("惠州", 0.0, 120.0, 30.0),
    ("锦州", 0.0, 110.0, 12.0),
    ("苏州", 60.0, 130.0, 15.0),
    ("无锡", 45.0, 130.0, 10.0),
    ("昆明", 45.0, 140.0, 6.0),
    ("岳阳", 90.0, 120.0, 5.0),
    ("大理", 210.0, 140.0, 4.0),
];

/// Telephone area codes (区号) of the cities in [`CITIES`].
fn area_code(city: &str) -> Option<&'static str> {
    Some(match city {
        "北京" => "010",
        "上海" => "021",
        "天津" => "022",
        "重庆" => "023",
        "石家庄" => "0311",
        "唐山" => "0315",
        "保定" => "0312",
        "邯郸" => "0310",
        "张家口" => "0313",
        "沧州" => "0317",
        "太原" => "0351",
        "大同" => "0352",
        "阳泉" => "0353",
        "长治" => "0355",
        "呼和浩特" => "0471",
        "包头" => "0472",
        "鄂尔多斯" => "0477",
        "赤峰" => "0476",
        "呼伦贝尔" => "0470",
        "沈阳" => "024",
        "大连" => "0411",
        "鞍山" => "0412",
        "锦州" => "0416",
        "长春" => "0431",
        "延吉" => "0433",
        "哈尔滨" => "0451",
        "大庆" => "0459",
        "齐齐哈尔" => "0452",
        "牡丹江" => "0453",
        "南京" => "025",
        "苏州" => "0512",
        "无锡" => "0510",
        "常州" => "0519",
        "南通" => "0513",
        "徐州" => "0516",
        "扬州" => "0514",
        "连云港" => "0518",
        "杭州" => "0571",
        "宁波" => "0574",
        "温州" => "0577",
        "金华" => "0579",
        "嘉兴" => "0573",
        "绍兴" => "0575",
        "合肥" => "0551",
        "芜湖" => "0553",
        "阜阳" => "0558",
        "蚌埠" => "0552",
        "福州" => "0591",
        "厦门" => "0592",
        "泉州" => "0595",
        "漳州" => "0596",
        "南昌" => "0791",
        "赣州" => "0797",
        "九江" => "0792",
        "济南" => "0531",
        "青岛" => "0532",
        "烟台" => "0535",
        "潍坊" => "0536",
        "临沂" => "0539",
        "聊城" => "0635",
        "济宁" => "0537",
        "淄博" => "0533",
        "郑州" => "0371",
        "洛阳" => "0379",
        "南阳" => "0377",
        "新乡" => "0373",
        "商丘" => "0370",
        "武汉" => "027",
        "宜昌" => "0717",
        "襄阳" => "0710",
        "十堰" => "0719",
        "长沙" | "株洲" => "0731",
        "衡阳" => "0734",
        "岳阳" => "0730",
        "怀化" => "0745",
        "广州" => "020",
        "深圳" => "0755",
        "东莞" => "0769",
        "佛山" => "0757",
        "珠海" => "0756",
        "汕头" => "0754",
        "惠州" => "0752",
        "湛江" => "0759",
        "南宁" => "0771",
        "柳州" => "0772",
        "桂林" => "0773",
        "北海" => "0779",
        "海口" | "三亚" => "0898",
        "成都" => "028",
        "绵阳" => "0816",
        "宜宾" => "0831",
        "南充" => "0817",
        "泸州" => "0830",
        "贵阳" | "遵义" | "六盘水" => "0851",
        "昆明" => "0871",
        "曲靖" => "0874",
        "玉溪" => "0877",
        "大理" => "0872",
        "拉萨" => "0891",
        "日喀则" => "0892",
        "林芝" => "0894",
        "西安" | "咸阳" => "029",
        "宝鸡" => "0917",
        "榆林" => "0912",
        "汉中" => "0916",
        "兰州" => "0931",
        "天水" => "0938",
        "酒泉" => "0937",
        "张掖" => "0936",
        "西宁" => "0971",
        "格尔木" => "0979",
        "银川" => "0951",
        "吴忠" => "0953",
        "石嘴山" => "0952",
        "乌鲁木齐" => "0991",
        "克拉玛依" => "0990",
        "哈密" => "0902",
        "库尔勒" => "0996",
        "伊宁" => "0999",
        "阿克苏" => "0997",
        "喀什" => "0998",
        "和田" => "0903",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// The features as serialized (borrowed, so nothing is allocated per feature
// beyond the reused string buffers).

#[derive(Serialize)]
struct Feature<'a, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: Point,
    properties: P,
}

#[derive(Serialize)]
struct Point {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

/// The status the enterprise counts imply: 0 → none, all → full, else partial.
fn union_status(enterprises: u32, unionised: u32) -> UnionStatus {
    if unionised == 0 {
        UnionStatus::None
    } else if unionised >= enterprises {
        UnionStatus::Full
    } else {
        UnionStatus::Partial
    }
}

// ---------------------------------------------------------------------------
// The generator of one layer

/// Reusable string buffers, cleared for each feature.
#[derive(Default)]
struct Buffers {
    id: String,
    name: String,
    name_en: String,
    address: String,
    city: String,
    operator: String,
    phone: String,
    founded: String,
    as_of: String,
    amenities: AmenitySet,
}

/// A place a feature is put at, relative to its city.
struct Placed {
    lon: f64,
    lat: f64,
    district: &'static str,
}

/// Everything a layer's chunks share: the city weights, the per-city corridors
/// or zones, and where each chunk's running numbers start.
struct Plan {
    kind: Kind,
    seed: u64,
    n: usize,
    source: String,
    /// Cumulative city weights, for picking a city.
    cumulative: Vec<f64>,
    /// Per city: driver-home corridor bearings, or park zone centres (east,
    /// north in km).
    anchors: Vec<Vec<(f64, f64)>>,
    /// Per city: its land sector, if it is on a coast or a lake.
    land: Vec<Option<(f64, f64, f64)>>,
    /// Per city: its area code.
    area_codes: Vec<Option<&'static str>>,
    /// Per chunk, per city: the last running number (第N号) used before the
    /// chunk, so that the numbers run on across chunks.
    starts: Vec<Vec<u32>>,
}

/// What a random stream is for: the layer's set-up, the cities of a chunk, or
/// the rest of a chunk's features.
const PURPOSE_SETUP: u64 = 0;
const PURPOSE_CITIES: u64 = 1;
const PURPOSE_FEATURES: u64 = 2;

/// The random stream for one layer, purpose and chunk: independent streams of
/// the one seed, so that any thread can make any chunk.
fn rng_for(seed: u64, kind: Kind, purpose: u64, chunk: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(kind.stream() << 56 | purpose << 48 | chunk as u64);
    rng
}

fn pick_city(cumulative: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len().saturating_sub(1))
}

impl Plan {
    fn new(kind: Kind, n: usize, seed: u64) -> Self {
        let mut rng = rng_for(seed, kind, PURPOSE_SETUP, 0);
        let mut total = 0.0;
        let cumulative: Vec<f64> = CITIES
            .iter()
            .map(|c| {
                total += c.weight;
                total
            })
            .collect();
        // Driver homes: 3 to 6 logistics corridors per city (bearings, degrees).
        // Parks: 2 to 5 industrial zones per city (offsets in km), further out
        // in big cities.
        let anchors = CITIES
            .iter()
            .map(|c| match kind {
                Kind::DriverHome => {
                    let k = rng.random_range(3..=6);
                    (0..k)
                        .map(|_| (rng.random_range(0.0..360.0), 0.0))
                        .collect()
                }
                Kind::Park => {
                    let k = rng.random_range(2..=5);
                    (0..k)
                        .map(|_| {
                            let bearing: f64 = rng.random_range(0.0..360.0);
                            let d = 4.0 + c.weight.sqrt() + exponential(&mut rng, 6.0);
                            let d = d.min(MAX_KM - 10.0);
                            let b = bearing.to_radians();
                            (d * b.sin(), d * b.cos())
                        })
                        .collect()
                }
                _ => Vec::new(),
            })
            .collect();
        let land = CITIES
            .iter()
            .map(|c| {
                LAND_SECTORS
                    .iter()
                    .find(|s| s.0 == c.name)
                    .map(|s| (s.1, s.2, s.3))
            })
            .collect();
        // Which city each feature goes to is drawn from a stream of its own
        // per chunk; count them once here to know where the numbers start.
        let chunks = n.div_ceil(CHUNK);
        let mut running = vec![0u32; CITIES.len()];
        let mut starts = Vec::with_capacity(chunks);
        for c in 0..chunks {
            starts.push(running.clone());
            let mut crng = rng_for(seed, kind, PURPOSE_CITIES, c);
            for _ in Self::chunk_range(n, c) {
                running[pick_city(&cumulative, &mut crng)] += 1;
            }
        }
        Plan {
            kind,
            seed,
            n,
            source: format!("waystation gen seed={seed}"),
            cumulative,
            anchors,
            land,
            area_codes: CITIES.iter().map(|c| area_code(c.name)).collect(),
            starts,
        }
    }

    fn chunks(&self) -> usize {
        self.starts.len()
    }

    /// The 0-based feature indices of chunk `c`.
    fn chunk_range(n: usize, c: usize) -> std::ops::Range<usize> {
        c * CHUNK..((c + 1) * CHUNK).min(n)
    }

    /// Appends chunk `c`'s features to `out`, each on its own line, with the
    /// separating commas (none before the very first feature).
    fn write_chunk(&self, c: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let mut cities = rng_for(self.seed, self.kind, PURPOSE_CITIES, c);
        let mut g = ChunkGen {
            plan: self,
            rng: rng_for(self.seed, self.kind, PURPOSE_FEATURES, c),
            counters: self.starts[c].clone(),
            buf: Buffers::default(),
        };
        for i in Self::chunk_range(self.n, c) {
            if i > 0 {
                out.extend_from_slice(b",\n");
            }
            let ci = pick_city(&self.cumulative, &mut cities);
            g.counters[ci] += 1;
            let k = g.counters[ci];
            match self.kind {
                Kind::Park => g.write_park(&mut *out, i + 1, ci, k)?,
                _ => g.write_facility(&mut *out, i + 1, ci, k)?,
            }
        }
        Ok(())
    }
}

/// The state of one chunk being generated.
struct ChunkGen<'p> {
    plan: &'p Plan,
    rng: ChaCha8Rng,
    /// Per city: the last running number used.
    counters: Vec<u32>,
    buf: Buffers,
}

impl ChunkGen<'_> {
    /// Offset from the city centre in km (east, north) for this layer.
    fn offset(&mut self, ci: usize) -> (f64, f64) {
        let city = &CITIES[ci];
        let scale = city.weight.sqrt();
        for _ in 0..16 {
            let (dx, dy) = match self.plan.kind {
                Kind::CourierStation => {
                    let (x, y) = gaussian2(&mut self.rng);
                    let sigma = 2.5 + 1.4 * scale;
                    (x * sigma, y * sigma)
                }
                Kind::FitnessStation => {
                    let (x, y) = gaussian2(&mut self.rng);
                    let sigma = 2.0 + 1.1 * scale;
                    (x * sigma, y * sigma)
                }
                Kind::DriverHome => {
                    // On the outskirts, along one of the city's corridors.
                    let corridors = &self.plan.anchors[ci];
                    let k = self.rng.random_range(0..corridors.len());
                    let (bearing, _) = corridors[k];
                    let (jitter, lateral) = gaussian2(&mut self.rng);
                    let d = 5.0 + 0.8 * scale + exponential(&mut self.rng, 8.0 + 1.5 * scale);
                    let b = (bearing + jitter * 4.0).to_radians();
                    let lateral = lateral * 1.2;
                    (
                        d * b.sin() + lateral * b.cos(),
                        d * b.cos() - lateral * b.sin(),
                    )
                }
                Kind::Park => {
                    // Most in one of the city's industrial zones, some scattered.
                    if self.rng.random_bool(0.8) {
                        let zones = &self.plan.anchors[ci];
                        let k = self.rng.random_range(0..zones.len());
                        let (zx, zy) = zones[k];
                        let (x, y) = gaussian2(&mut self.rng);
                        (zx + x * 2.5, zy + y * 2.5)
                    } else {
                        let (x, y) = gaussian2(&mut self.rng);
                        let sigma = 6.0 + 2.0 * scale;
                        (x * sigma, y * sigma)
                    }
                }
            };
            if dx.hypot(dy) <= MAX_KM {
                return (dx, dy);
            }
        }
        (0.0, 0.0)
    }

    /// Puts an offset on the map: turns it towards land, names the part of
    /// town, converts to WGS-84 degrees rounded to 6 decimals (~0.1 m).
    fn place(&self, ci: usize, dx: f64, dy: f64) -> Placed {
        let city = &CITIES[ci];
        let d = dx.hypot(dy);
        let mut bearing = dx.atan2(dy).to_degrees().rem_euclid(360.0);
        if let Some((centre, half, free_km)) = self.plan.land[ci]
            && d > free_km
        {
            // Offset from the land direction in (-180, 180]; squeeze the whole
            // circle into the land sector.
            let off = (bearing - centre + 540.0).rem_euclid(360.0) - 180.0;
            if off.abs() > half {
                bearing = (centre + off / 180.0 * half).rem_euclid(360.0);
            }
        }
        let b = bearing.to_radians();
        let (dx, dy) = (d * b.sin(), d * b.cos());
        let lat = city.lat + dy / 110.574;
        let lon = city.lon + dx / (111.320 * city.lat.to_radians().cos());
        Placed {
            lon: round6(lon.clamp(73.5, 134.9)),
            lat: round6(lat.clamp(18.2, 53.5)),
            district: district(d, bearing),
        }
    }

    fn draw_amenities(&mut self, probs: &[f64; 24]) {
        self.buf.amenities = AmenitySet::default();
        for (a, &p) in Amenity::ALL.iter().zip(probs) {
            if p > 0.0 && self.rng.random::<f64>() < p {
                self.buf.amenities.insert(*a);
            }
        }
    }

    fn write_facility<W: Write>(&mut self, w: W, n: usize, ci: usize, k: u32) -> io::Result<()> {
        let city: &City = &CITIES[ci];
        let (dx, dy) = self.offset(ci);
        let p = self.place(ci, dx, dy);
        let variant = self.rng.random_range(0..8u32);
        let road_no = self.rng.random_range(1..=999u32);

        let b = &mut self.buf;
        b.id.clear();
        let _ = write!(b.id, "{}{:07}", self.plan.kind.id_prefix(), n);
        b.city.clear();
        let _ = write!(b.city, "{}市", city.name);
        b.name.clear();
        b.name_en.clear();
        b.address.clear();
        let c = city.name;
        let d = p.district;
        let road = ROADS[(variant as usize * 7 + k as usize) % ROADS.len()];
        let fitness = self.plan.kind == Kind::FitnessStation;
        let (hours_table, operators): (&[(Option<&str>, f64)], &[&str]) = match self.plan.kind {
            Kind::DriverHome => {
                let corridor =
                    CORRIDOR_ROADS[(variant as usize + k as usize) % CORRIDOR_ROADS.len()];
                let _ = match variant {
                    0..=2 => write!(b.name, "{c}市第{k}号司机之家"),
                    3..=5 => write!(b.name, "{c}{d}物流园司机之家（{k}号）"),
                    6 => write!(b.name, "{c}公路港司机之家（{k}号）"),
                    _ => write!(b.name, "{c}货运服务区司机之家（{k}号）"),
                };
                let _ = write!(b.name_en, "{} Driver Home No. {k}", city.name_en);
                let _ = write!(b.address, "{c}市{d}{corridor}{road_no}号");
                (DH_HOURS, OPERATORS_DH)
            }
            Kind::CourierStation => {
                let _ = match variant {
                    0..=3 => write!(b.name, "{c}市第{k}号工会驿站"),
                    4 => write!(b.name, "{c}市{d}户外劳动者服务站（{k}号）"),
                    5 => write!(b.name, "{c}市{road}小哥驿站（{k}号）"),
                    6 => write!(b.name, "{c}市{road}快递员之家（{k}号）"),
                    _ => write!(b.name, "{c}市{road}环卫工人爱心驿站（{k}号）"),
                };
                let _ = write!(b.name_en, "{} Union Rest Station No. {k}", city.name_en);
                let _ = write!(b.address, "{c}市{d}{road}{road_no}号");
                (CS_HOURS, OPERATORS_CS)
            }
            Kind::FitnessStation | Kind::Park => {
                let _ = match variant {
                    0..=4 => write!(b.name, "{c}市第{k}号职工健身驿站"),
                    _ => write!(b.name, "{c}市{d}职工健身驿站（{k}号）"),
                };
                let _ = write!(b.name_en, "{} Worker Fitness Station No. {k}", city.name_en);
                let _ = write!(b.address, "{c}市{d}{road}{road_no}号");
                (FS_HOURS, OPERATORS_FS)
            }
        };

        let grade = if fitness {
            let gi = weighted(&mut self.rng, GRADES.iter().map(|g| g.1));
            self.draw_amenities(&FS_AMENITIES[gi]);
            Some(GRADES[gi].0)
        } else {
            let probs = if self.plan.kind == Kind::DriverHome {
                &DH_AMENITIES
            } else {
                &CS_AMENITIES
            };
            self.draw_amenities(probs);
            None
        };
        let hours = hours_table[weighted(&mut self.rng, hours_table.iter().map(|h| h.1))].0;
        let operator = operators[self.rng.random_range(0..operators.len())];
        let has_phone = self.rng.random_bool(0.7);
        let local: u32 = self.rng.random_range(0..10_000_000);

        let b = &mut self.buf;
        b.operator.clear();
        let _ = write!(b.operator, "{c}市{operator}");
        b.phone.clear();
        let phone = match self.plan.area_codes[ci] {
            Some(code) if has_phone => {
                // Local part starts with 0: never a real subscriber number.
                let _ = write!(b.phone, "{code}-0{local:07}");
                Some(b.phone.as_str())
            }
            _ => None,
        };
        let props = FacilityProperties {
            id: Cow::Borrowed(&b.id),
            layer: None,
            name: Cow::Borrowed(&b.name),
            name_en: Some(Cow::Borrowed(&b.name_en)),
            address: Some(Cow::Borrowed(&b.address)),
            city: Some(Cow::Borrowed(&b.city)),
            district: Some(Cow::Borrowed(p.district)),
            amenities: b.amenities,
            opening_hours: hours.map(Cow::Borrowed),
            phone: phone.map(Cow::Borrowed),
            operator: Some(Cow::Borrowed(&b.operator)),
            grade,
            opening_hours_text: None,
            amenities_unrecognised: None,
            source: Cow::Borrowed(&self.plan.source),
            position_accuracy: PositionAccuracy::Approximate,
            synthetic: true,
            updated: Some(Cow::Borrowed(UPDATED)),
            notes: None,
        };
        let feature = Feature {
            kind: "Feature",
            id: &b.id,
            geometry: Point {
                kind: "Point",
                coordinates: [p.lon, p.lat],
            },
            properties: props,
        };
        serde_json::to_writer(w, &feature).map_err(io::Error::from)
    }

    fn write_park<W: Write>(&mut self, w: W, n: usize, ci: usize, k: u32) -> io::Result<()> {
        let city: &City = &CITIES[ci];
        let (dx, dy) = self.offset(ci);
        let p = self.place(ci, dx, dy);
        let ti = weighted(&mut self.rng, PARK_TYPES.iter().map(|t| t.3));
        let (park_type, word, word_en, _) = PARK_TYPES[ti];

        // Counts: workers from a truncated log-normal, enterprises from a mean
        // firm size of 15–80 workers (see [`park_counts`]).
        let rng = &mut self.rng;
        let (workers, enterprises) = park_counts(rng);
        let mut status = weighted(rng, STATUS_WEIGHTS.iter().copied());
        let rate: f64 = rng.random_range(0.05..0.95);
        if status == 1 && enterprises < 2 {
            // A single enterprise has a union or not: no partial.
            status = if rate < 0.5 { 0 } else { 2 };
        }
        let unionised = match status {
            0 => 0,
            2 => enterprises,
            _ => ((enterprises as f64 * rate).round() as u32).clamp(1, enterprises - 1),
        };
        let members = match status {
            0 => 0,
            2 => (workers as f64 * rng.random_range(0.70..0.98)).round() as u32,
            _ => {
                let share = unionised as f64 / enterprises as f64;
                (workers as f64 * share * rng.random_range(0.60..0.95)).round() as u32
            }
        }
        .min(workers);
        // A few parks have no worker count yet.
        let workers_known = rng.random_bool(0.97);
        // Counted between 2023-01-01 and 2026-09-30; founded 2003 or later.
        let as_of = date_between(rng, (2023, 1, 1), (2026, 9, 30));
        let founded = (unionised > 0).then(|| {
            let days = (as_of - ymd(2003, 1, 1)).num_days().max(1);
            ymd(2003, 1, 1) + chrono::Days::new(rng.random_range(0..days) as u64)
        });

        let b = &mut self.buf;
        b.id.clear();
        let _ = write!(b.id, "{}{:07}", self.plan.kind.id_prefix(), n);
        b.city.clear();
        let _ = write!(b.city, "{}市", city.name);
        b.name.clear();
        let _ = write!(b.name, "{}{}{word}（{k}号）", city.name, p.district);
        b.name_en.clear();
        let _ = write!(b.name_en, "{} {word_en} No. {k}", city.name_en);
        b.as_of.clear();
        let _ = write!(b.as_of, "{as_of}");
        b.founded.clear();
        if let Some(f) = founded {
            let _ = write!(b.founded, "{f}");
        }
        let props = ParkProperties {
            id: Cow::Borrowed(&b.id),
            layer: None,
            name: Cow::Borrowed(&b.name),
            name_en: Some(Cow::Borrowed(&b.name_en)),
            city: Some(Cow::Borrowed(&b.city)),
            district: Some(Cow::Borrowed(p.district)),
            park_type: Some(park_type),
            enterprises: Some(enterprises),
            unionised_enterprises: Some(unionised),
            workers: workers_known.then_some(workers),
            union_members: workers_known.then_some(members),
            union_status: Some(union_status(enterprises, unionised)),
            union_founded: founded.map(|_| Cow::Borrowed(b.founded.as_str())),
            counts_as_of: Some(Cow::Borrowed(&b.as_of)),
            source: Cow::Borrowed(&self.plan.source),
            position_accuracy: PositionAccuracy::Approximate,
            synthetic: true,
            updated: Some(Cow::Borrowed(UPDATED)),
            notes: None,
        };
        let feature = Feature {
            kind: "Feature",
            id: &b.id,
            geometry: Point {
                kind: "Point",
                coordinates: [p.lon, p.lat],
            },
            properties: props,
        };
        serde_json::to_writer(w, &feature).map_err(io::Error::from)
    }
}

// ---------------------------------------------------------------------------
// Park sizes

/// Median workers of a synthetic park. Most parks are a few thousand workers
/// strong; a few large zones reach tens of thousands.
const PARK_WORKERS_MEDIAN: f64 = 3_000.0;
/// Spread (σ of the natural logarithm) of a park's workers: with the median
/// above, 1 park in 100 has more than about 30,000 workers and 1 in 400 more
/// than 50,000.
const PARK_WORKERS_SIGMA: f64 = 1.0;
/// Fewest workers of a synthetic park (draws below are drawn again).
const PARK_WORKERS_MIN: f64 = 50.0;
/// Most workers of a synthetic park (draws above are drawn again).
const PARK_WORKERS_MAX: f64 = 80_000.0;
/// Range of a park's mean firm size (workers per enterprise), log-uniform.
const FIRM_SIZE: (f64, f64) = (15.0, 80.0);

/// A park's workers and enterprises: workers log-normal around
/// [`PARK_WORKERS_MEDIAN`], truncated to
/// [`PARK_WORKERS_MIN`]..=[`PARK_WORKERS_MAX`] (a draw outside is drawn again,
/// so there is no pile-up at the bounds); enterprises the workers divided by a
/// mean firm size drawn from [`FIRM_SIZE`], at least 1.
fn park_counts(rng: &mut ChaCha8Rng) -> (u32, u32) {
    let mut workers = PARK_WORKERS_MEDIAN;
    // Fewer than 1 draw in 1,000 is outside: 64 tries never all fail in practice,
    // and the median is a sane answer if they did.
    for _ in 0..64 {
        let (z, _) = gaussian2(rng);
        let w = PARK_WORKERS_MEDIAN * (PARK_WORKERS_SIGMA * z).exp();
        if (PARK_WORKERS_MIN..=PARK_WORKERS_MAX).contains(&w) {
            workers = w;
            break;
        }
    }
    let workers = workers.round() as u32;
    let firm_size = log_uniform(rng, FIRM_SIZE.0, FIRM_SIZE.1);
    let enterprises = ((f64::from(workers) / firm_size).round() as u32).max(1);
    (workers, enterprises)
}

// ---------------------------------------------------------------------------
// Small helpers

/// The part of town an offset falls in: the centre, a side of town (片区) or
/// the outskirts (郊) in one of four directions.
fn district(d_km: f64, bearing: f64) -> &'static str {
    const NEAR: [&str; 4] = ["城北片区", "城东片区", "城南片区", "城西片区"];
    const FAR: [&str; 4] = ["北郊", "东郊", "南郊", "西郊"];
    if d_km < 4.0 {
        return "中心城区";
    }
    let q = (((bearing + 45.0).rem_euclid(360.0)) / 90.0) as usize % 4;
    if d_km < 15.0 { NEAR[q] } else { FAR[q] }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Two independent standard normal numbers (Box–Muller).
fn gaussian2(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random();
    let r = (-2.0 * u1.ln()).sqrt();
    let t = 2.0 * PI * u2;
    (r * t.cos(), r * t.sin())
}

fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (rng.random_range(lo.ln()..hi.ln())).exp()
}

/// Index drawn with the given relative weights.
fn weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn date_between(rng: &mut ChaCha8Rng, from: (i32, u32, u32), to: (i32, u32, u32)) -> NaiveDate {
    let from = ymd(from.0, from.1, from.2);
    let to = ymd(to.0, to.1, to.2);
    let days = (to - from).num_days().max(0) as u64;
    from + chrono::Days::new(rng.random_range(0..=days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};

    /// A fresh, empty temporary folder for one test.
    fn tmp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("waystation-gen-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn read_features(path: &Path) -> Vec<Value> {
        let text = fs::read_to_string(path).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "FeatureCollection");
        v["features"].as_array().unwrap().clone()
    }

    fn run(name: &str, opts: GenOptions) -> (PathBuf, GenSummary) {
        let dir = tmp_dir(name);
        let summary = generate(&opts, &dir).unwrap();
        (dir, summary)
    }

    fn bytes(summary: &GenSummary) -> Vec<Vec<u8>> {
        summary.files.iter().map(|f| fs::read(f).unwrap()).collect()
    }

    const SMALL: GenOptions = GenOptions {
        facilities: 2000,
        parks: 400,
        seed: 7,
    };

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (d1, s1) = run("det-a", SMALL);
        let (d2, s2) = run("det-b", SMALL);
        let (d3, s3) = run("det-c", GenOptions { seed: 8, ..SMALL });
        let (b1, b2, b3) = (bytes(&s1), bytes(&s2), bytes(&s3));
        assert_eq!(b1, b2);
        for (x, y) in b1.iter().zip(&b3) {
            assert_ne!(x, y);
        }
        for d in [d1, d2, d3] {
            fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn files_counts_and_split() {
        let (dir, s) = run("counts", SMALL);
        assert_eq!((s.facilities, s.parks), (2000, 400));
        let names: Vec<_> = s
            .files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "driver_home.synthetic.geojson",
                "courier_station.synthetic.geojson",
                "fitness_station.synthetic.geojson",
                "park.synthetic.geojson"
            ]
        );
        let counts: Vec<_> = s.files.iter().map(|f| read_features(f).len()).collect();
        assert_eq!(counts, [300, 1400, 300, 400]);
        // No temporary files left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 4);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn split_adds_up() {
        for n in [0, 1, 2, 3, 6, 7, 10, 99, 3000, 1_000_001] {
            let (a, b, c) = split_facilities(n);
            assert_eq!(a + b + c, n, "{n}");
        }
        assert_eq!(split_facilities(3000), (450, 2100, 450));
    }

    #[test]
    fn zero_features_is_valid_geojson_and_overwrites() {
        let dir = tmp_dir("zero");
        generate(&SMALL, &dir).unwrap();
        let s = generate(
            &GenOptions {
                facilities: 0,
                parks: 0,
                seed: 1,
            },
            &dir,
        )
        .unwrap();
        for f in &s.files {
            assert!(read_features(f).is_empty());
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_feature_is_well_formed() {
        let (dir, s) = run("wellformed", SMALL);
        let vocab: HashSet<&str> = Amenity::ALL.iter().map(|a| a.id()).collect();
        let mut ids = HashSet::new();
        let mut hours = HashSet::new();
        let mut status_seen = HashMap::new();
        for (li, file) in s.files.iter().enumerate() {
            let kind = [
                Kind::DriverHome,
                Kind::CourierStation,
                Kind::FitnessStation,
                Kind::Park,
            ][li];
            for f in read_features(file) {
                assert_eq!(f["type"], "Feature");
                let p = &f["properties"];
                let id = p["id"].as_str().unwrap();
                assert_eq!(f["id"], p["id"]);
                assert!(id.starts_with(kind.id_prefix()), "{id}");
                assert!(ids.insert(id.to_owned()), "duplicate id {id}");
                assert_eq!(f["geometry"]["type"], "Point");
                let c = f["geometry"]["coordinates"].as_array().unwrap();
                let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
                assert!((73.0..=135.0).contains(&lon), "{id} lon {lon}");
                assert!((18.0..=54.0).contains(&lat), "{id} lat {lat}");
                assert_eq!(p["synthetic"], true);
                assert_eq!(p["position_accuracy"], "approximate");
                assert_eq!(p["source"], "waystation gen seed=7");
                assert_eq!(p["updated"], UPDATED);
                assert!(!p["name"].as_str().unwrap().is_empty());
                assert!(p["city"].as_str().unwrap().ends_with('市'));
                if kind == Kind::Park {
                    let e = p["enterprises"].as_u64().unwrap();
                    let u = p["unionised_enterprises"].as_u64().unwrap();
                    assert!(e >= 1, "{id}");
                    assert!(u <= e);
                    let expect = if u == 0 {
                        "none"
                    } else if u == e {
                        "full"
                    } else {
                        "partial"
                    };
                    assert_eq!(p["union_status"], expect, "{id}");
                    *status_seen.entry(expect).or_insert(0) += 1;
                    if let (Some(w), Some(m)) = (p["workers"].as_u64(), p["union_members"].as_u64())
                    {
                        assert!(m <= w, "{id}");
                        // enterprises = workers / firm size of 15–80, rounded, ≥ 1.
                        let (wf, ef) = (w as f64, e as f64);
                        assert!(wf >= (ef - 0.5) * 15.0 && wf <= (ef + 0.5) * 80.0, "{id}");
                    } else {
                        assert!(p["workers"].is_null() && p["union_members"].is_null());
                    }
                    let as_of = p["counts_as_of"].as_str().unwrap();
                    assert!(as_of.parse::<NaiveDate>().is_ok());
                    match p["union_founded"].as_str() {
                        Some(d) => {
                            assert!(u > 0);
                            assert!(d <= as_of, "{id}: founded {d} after count {as_of}");
                        }
                        None => assert_eq!(u, 0),
                    }
                    assert!(PARK_TYPES.iter().any(|t| p["park_type"] == t.0.id()));
                } else {
                    let am: Vec<_> = p["amenities"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap())
                        .collect();
                    assert!(am.iter().all(|a| vocab.contains(a)), "{id}: {am:?}");
                    let mut dedup = am.clone();
                    dedup.dedup();
                    assert_eq!(dedup, am);
                    if kind == Kind::FitnessStation {
                        assert!(am.contains(&"fitness_equipment"));
                        assert!(GRADES.iter().any(|g| p["grade"] == g.0.id()), "{id}");
                    } else {
                        assert!(p.get("grade").is_none() || p["grade"].is_null());
                    }
                    if let Some(h) = p["opening_hours"].as_str() {
                        hours.insert(h.to_owned());
                    }
                    if let Some(ph) = p["phone"].as_str() {
                        let (code, local) = ph.split_once('-').unwrap();
                        assert!(code.starts_with('0') && (3..=4).contains(&code.len()));
                        assert!(local.len() == 8 && local.starts_with('0'), "{ph}");
                    }
                    assert!(p["operator"].as_str().unwrap().contains("工会"));
                    for key in ["address", "district", "name_en"] {
                        assert!(p[key].is_string(), "{id}: {key}");
                    }
                }
            }
        }
        assert_eq!(ids.len(), 2400);
        assert!(hours.contains("24/7"));
        for s in ["none", "partial", "full"] {
            assert!(
                status_seen.get(s).copied().unwrap_or(0) > 10,
                "{status_seen:?}"
            );
        }
        fs::remove_dir_all(dir).unwrap();
    }

    /// Park sizes look like the country's: a median of a few thousand workers,
    /// a heavy but bounded tail, and counts that agree with each other.
    #[test]
    fn park_sizes_are_plausible_and_consistent() {
        let (dir, s) = run(
            "parksizes",
            GenOptions {
                facilities: 0,
                parks: 5000,
                seed: 11,
            },
        );
        let parks = read_features(&s.files[3]);
        assert_eq!(parks.len(), 5000);
        let mut workers = Vec::new();
        for f in &parks {
            let p = &f["properties"];
            let id = p["id"].as_str().unwrap();
            let e = p["enterprises"].as_u64().unwrap();
            let u = p["unionised_enterprises"].as_u64().unwrap();
            assert!(e >= 1 && u <= e, "{id}: {u} of {e} enterprises");
            let status = match u {
                0 => "none",
                _ if u == e => "full",
                _ => "partial",
            };
            assert_eq!(p["union_status"], status, "{id}");
            let (Some(w), Some(m)) = (p["workers"].as_u64(), p["union_members"].as_u64()) else {
                assert!(
                    p["workers"].is_null() && p["union_members"].is_null(),
                    "{id}"
                );
                continue;
            };
            assert!(m <= w, "{id}: {m} members of {w} workers");
            assert_eq!(
                m == 0,
                u == 0,
                "{id}: {m} members, {u} unionised enterprises"
            );
            // At least 15 and at most 80 workers an enterprise on average (rounding aside).
            assert!(
                e <= w.div_ceil(15) && w <= (e + 1) * 80,
                "{id}: {w} workers, {e} enterprises"
            );
            workers.push(w);
        }
        // About 3 % have no worker count.
        assert!(workers.len() > 4700, "{}", workers.len());
        workers.sort_unstable();
        let n = workers.len();
        let median = workers[n / 2];
        let p99 = workers[n * 99 / 100];
        let max = workers[n - 1];
        let over_50k = workers.iter().filter(|&&w| w > 50_000).count() as f64 / n as f64;
        println!(
            "parks: {n} with workers; median {median}, p90 {}, p99 {p99}, max {max}, min {}, > 50,000: {:.2} %",
            workers[n * 9 / 10],
            workers[0],
            over_50k * 100.0
        );
        assert!((1_000..=6_000).contains(&median), "median {median}");
        assert!(over_50k < 0.01, "{:.2} % above 50,000", over_50k * 100.0);
        assert!(max <= PARK_WORKERS_MAX as u64, "max {max}");
        assert!(workers[0] >= PARK_WORKERS_MIN as u64, "min {}", workers[0]);
        // A heavy tail all the same: the largest parks are ten times the median.
        assert!(p99 >= 5 * median, "p99 {p99}, median {median}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_opening_hours_expression_parses() {
        for table in [DH_HOURS, CS_HOURS, FS_HOURS] {
            for (h, _) in table {
                if let Some(h) = h {
                    assert!(h.parse::<opening_hours::OpeningHours>().is_ok(), "{h}");
                }
            }
        }
    }

    #[test]
    fn vocabulary_is_the_models() {
        // Every amenity has a probability in each table (they are zipped).
        assert_eq!(Amenity::ALL.len(), DH_AMENITIES.len());
        assert_eq!(Amenity::ALL.len(), CS_AMENITIES.len());
    }

    #[test]
    fn every_city_has_an_area_code_and_land_sectors_name_real_cities() {
        for c in CITIES {
            assert!(area_code(c.name).is_some(), "{}", c.name);
        }
        for s in LAND_SECTORS {
            assert!(CITIES.iter().any(|c| c.name == s.0), "{}", s.0);
            assert!(s.2 > 0.0 && s.2 <= 150.0, "{}", s.0);
        }
    }

    #[test]
    fn east_gets_more_than_west_and_shenzhen_stays_out_of_hong_kong() {
        let (dir, s) = run("spread", GenOptions { seed: 3, ..SMALL });
        let (mut east, mut west) = (0, 0);
        for file in &s.files {
            for f in read_features(file) {
                let c = f["geometry"]["coordinates"].as_array().unwrap();
                let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
                if lon > 110.0 {
                    east += 1;
                } else if lon < 100.0 {
                    west += 1;
                }
                // Hong Kong: south of the Shenzhen River, east of the estuary.
                let in_hk = (113.83..114.45).contains(&lon) && (22.15..22.49).contains(&lat);
                assert!(!in_hk, "{} at {lon},{lat}", f["id"]);
            }
        }
        assert!(east > 10 * west, "east {east} west {west}");
        assert!(west > 0);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn land_sector_turns_points_to_land() {
        let plan = Plan::new(Kind::CourierStation, 0, 1);
        let g = ChunkGen {
            plan: &plan,
            rng: rng_for(1, Kind::CourierStation, PURPOSE_FEATURES, 0),
            counters: Vec::new(),
            buf: Buffers::default(),
        };
        let sz = CITIES.iter().position(|c| c.name == "深圳").unwrap();
        // 10 km due south of Futian would be in Hong Kong.
        let p = g.place(sz, 0.0, -10.0);
        assert!(p.lat > CITIES[sz].lat, "{}", p.lat);
        // Inside the free radius nothing moves.
        let p = g.place(sz, 0.0, -1.0);
        assert!(p.lat < CITIES[sz].lat);
    }

    #[test]
    fn chunks_do_not_depend_on_threads_and_numbers_run_on() {
        let n = 2 * CHUNK + 100;
        let plan = Plan::new(Kind::CourierStation, n, 5);
        assert_eq!(plan.chunks(), 3);
        let collect = |workers| {
            let mut out = Vec::new();
            write_chunks(&plan, workers, |c| {
                out.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
            out
        };
        let one = collect(1);
        assert_eq!(one, collect(4));
        let text = format!("[{}]", String::from_utf8(one).unwrap());
        let features: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(features.len(), n);
        // Running numbers go on across chunks: (city, number) is never repeated.
        let names: HashSet<_> = features
            .iter()
            .map(|f| f["properties"]["name_en"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names.len(), n);
        let last = features[n - 1]["id"].as_str().unwrap();
        assert_eq!(last, format!("syn-cs-{n:07}"));
    }

    #[test]
    fn a_failing_sink_stops_the_workers() {
        let plan = Plan::new(Kind::Park, 6 * CHUNK, 5);
        let mut calls = 0;
        let err = write_chunks(&plan, 2, |_| {
            calls += 1;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(calls, 1);
    }

    #[test]
    fn districts() {
        assert_eq!(district(1.0, 123.0), "中心城区");
        assert_eq!(district(10.0, 90.0), "城东片区");
        assert_eq!(district(10.0, 359.0), "城北片区");
        assert_eq!(district(30.0, 180.0), "南郊");
        assert_eq!(district(30.0, 270.0), "西郊");
    }

    #[test]
    fn io_errors_name_the_path() {
        let dir = tmp_dir("ioerr");
        fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("file");
        fs::write(&blocker, b"x").unwrap();
        let err = generate(&SMALL, &blocker.join("sub")).unwrap_err();
        let GenError::Io { path, .. } = &err;
        assert!(path.starts_with(&blocker));
        assert!(err.to_string().starts_with("cannot write"));
        fs::remove_dir_all(dir).unwrap();
    }

    /// The bundled `geodata/*.synthetic.geojson` are exactly what the
    /// generator writes for the default options (3000 / 600 / seed 2026).
    #[test]
    fn bundled_synthetic_files_are_regenerable() {
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        let (dir, s) = run("bundled", GenOptions::default());
        for f in &s.files {
            let name = f.file_name().unwrap();
            let want = fs::read(bundled.join(name)).unwrap_or_default();
            assert!(
                fs::read(f).unwrap() == want,
                "geodata/{} is stale: run `waystation gen --facilities 3000 --parks 600 --seed 2026 --out geodata`",
                name.to_string_lossy()
            );
        }
        fs::remove_dir_all(dir).unwrap();
    }

    /// Regenerates the bundled files: `cargo test --lib regenerate_bundled -- --ignored`.
    #[test]
    #[ignore]
    fn regenerate_bundled() {
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
        generate(&GenOptions::default(), &bundled).unwrap();
    }

    /// Timing at full scale: `cargo test --release --lib gen_one_million -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn gen_one_million() {
        let dir = tmp_dir("1m");
        let t = std::time::Instant::now();
        generate(
            &GenOptions {
                facilities: 1_000_000,
                parks: 100_000,
                seed: 1,
            },
            &dir,
        )
        .unwrap();
        let elapsed = t.elapsed();
        let size: u64 = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        println!("1,000,000 facilities + 100,000 parks: {elapsed:?}, {size} bytes");
        fs::remove_dir_all(dir).unwrap();
    }
}
