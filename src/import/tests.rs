//! End-to-end tests of the importer: a workbook built here as staff would fill it,
//! CSV in the encodings Excel writes, GeoJSON, the report, and the speed.

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
use serde_json::Value;

use super::*;
use crate::index::sphere::haversine_m;
use crate::model::{Layer, LonLat};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn opts(layer: Layer, crs: InputCrs) -> Options {
    Options {
        crs,
        ..Options::new(layer, today())
    }
}

fn run(sheet: &Sheet, opts: &Options) -> Vec<RowOutcome> {
    let mut calls = Vec::new();
    let out = convert(sheet, opts, &mut |done, total| calls.push((done, total))).unwrap();
    assert_eq!(calls.last(), Some(&(sheet.rows.len(), sheet.rows.len())));
    out
}

fn props(o: &RowOutcome) -> &serde_json::Map<String, Value> {
    let f = o
        .feature
        .as_ref()
        .unwrap_or_else(|e| panic!("row {}: {e:?}", o.row));
    f["properties"].as_object().unwrap()
}

fn position(o: &RowOutcome) -> LonLat {
    let f = o.feature.as_ref().unwrap();
    let c = f["geometry"]["coordinates"].as_array().unwrap();
    LonLat::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap()).unwrap()
}

fn problems(o: &RowOutcome) -> &[RowProblem] {
    o.feature.as_ref().err().map_or(&[], Vec::as_slice)
}

/// Every accepted feature passes the loader's own validation (given the id the
/// store would assign).
fn assert_valid(layer: Layer, outcomes: &[RowOutcome]) {
    for (i, o) in outcomes.iter().enumerate() {
        let Ok(f) = &o.feature else { continue };
        let mut f = f.clone();
        if f.get("id").is_none() {
            let id = format!("test-{i}");
            f["id"] = Value::from(id.as_str());
            f["properties"]["id"] = Value::from(id);
        }
        let bytes = serde_json::to_vec(&f).unwrap();
        if let Err(problems) = crate::geodata::validate_feature(layer, &bytes) {
            panic!("row {}: {problems:?}\n{f}", o.row);
        }
    }
}

/// Known WGS-84 positions (Linyi, Beijing, Shanghai, Zhengzhou, Chengdu).
const TRUE: [(f64, f64); 5] = [
    (118.356_4, 35.104_6),
    (116.397_5, 39.908_7),
    (121.473_7, 31.230_4),
    (113.625_4, 34.746_6),
    (104.066_5, 30.572_3),
];

fn gcj(i: usize) -> (f64, f64) {
    coordtransform::wgs84_to_gcj02(TRUE[i].0, TRUE[i].1)
}

/// A station sheet as staff fill it: a title row, Chinese headers, Amap (GCJ-02)
/// coordinates as number cells, Chinese hours and amenities, and the usual slips.
fn station_workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("驿站台账").unwrap();
    ws.write_string(0, 0, "临沂市户外劳动者服务站点台账（2026年3月）")
        .unwrap();
    let headers = [
        "序号",
        "编号",
        "站点名称",
        "详细地址",
        "经度",
        "纬度",
        "开放时间",
        "服务项目",
        "联系电话",
        "所属工会",
        "区县",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    // (name, id, lon, lat, hours, amenities)
    let (l, b, s, z, c) = (gcj(0), gcj(1), gcj(2), gcj(3), gcj(4));
    let near_l = (l.0 + 0.000_15, l.1); // about 14 m east
    let rows: Vec<(&str, &str, f64, f64, &str, &str)> = vec![
        (
            "临沂兰山驿站",
            "cs-linyi-lanshan",
            l.0,
            l.1,
            "每天 8:00-20:00",
            "热水、微波炉，手机充电",
        ),
        ("北京驿站", "", b.0, b.1, "24小时", "卫生间、饮用水、按摩椅"),
        (
            "上海驿站",
            "",
            s.0,
            s.1,
            "周一至周五 9:00-18:00，周六 9:00-12:00",
            "wifi 空调",
        ),
        ("郑州驿站", "", z.1, z.0, "工作日 9:00-17:00", "淋浴"),
        ("零点驿站", "", 0.0, 0.0, "", ""),
        ("", "", c.0, c.1, "", ""),
        ("临沂兰山驿站", "", near_l.0, near_l.1, "", ""),
        (
            "成都驿站",
            "",
            c.0,
            c.1,
            "夏季8:00-20:00，冬季9:00-18:00",
            "阅读/理发",
        ),
    ];
    for (i, (name, id, lon, lat, hours, amenities)) in rows.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_number(r, 0, i as f64 + 1.0).unwrap();
        if !id.is_empty() {
            ws.write_string(r, 1, *id).unwrap();
        }
        if !name.is_empty() {
            ws.write_string(r, 2, *name).unwrap();
        }
        ws.write_string(r, 3, format!("{name}路{}号", i + 1))
            .unwrap();
        ws.write_number(r, 4, *lon).unwrap();
        ws.write_number(r, 5, *lat).unwrap();
        if !hours.is_empty() {
            ws.write_string(r, 6, *hours).unwrap();
        }
        if !amenities.is_empty() {
            ws.write_string(r, 7, *amenities).unwrap();
        }
        ws.write_number(r, 8, 13_800_138_000.0 + i as f64).unwrap();
        ws.write_string(r, 9, "临沂市兰山区总工会").unwrap();
        ws.write_string(r, 10, "兰山区").unwrap();
    }
    book.save_to_buffer().unwrap()
}

/// The workbook: each row's outcome, and accepted points within 0.5 m of
/// the true WGS-84 positions after the GCJ-02 → WGS-84 conversion.
#[test]
fn xlsx_stations_from_amap_coordinates() {
    let bytes = station_workbook();
    let sheet = read(&bytes, Format::Xlsx, None).unwrap();
    assert_eq!(sheet.sheet_name.as_deref(), Some("驿站台账"));
    assert_eq!(sheet.header_row, 2);
    assert_eq!(sheet.preamble.len(), 1);
    assert_eq!(
        sheet.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
        (3..=10).collect::<Vec<_>>()
    );
    // Full precision for coordinates, whole numbers without ".0".
    assert_eq!(sheet.rows[0].cells[4], text::float_text(gcj(0).0));
    assert_eq!(sheet.rows[0].cells[0], "1");
    assert_eq!(sheet.rows[0].cells[8], "13800138000");

    let o = opts(Layer::CourierStation, InputCrs::Gcj02);
    let cols = columns(&sheet, &o).unwrap();
    assert_eq!(cols.ignored, ["序号"]);
    let out = run(&sheet, &o);
    assert_eq!(out.len(), 8);
    assert_eq!(
        out.iter().map(|o| o.row).collect::<Vec<_>>(),
        (3..=10).collect::<Vec<_>>()
    );

    // Row 3: Linyi, every field.
    let p = props(&out[0]);
    assert_eq!(p["id"], "cs-linyi-lanshan");
    assert_eq!(out[0].feature.as_ref().unwrap()["id"], "cs-linyi-lanshan");
    assert_eq!(p["layer"], "courier_station");
    assert_eq!(p["name"], "临沂兰山驿站");
    assert_eq!(p["opening_hours"], "Mo-Su 08:00-20:00");
    assert_eq!(
        p["amenities"],
        serde_json::json!(["hot_water", "microwave", "charging"])
    );
    assert_eq!(p["phone"], "13800138000");
    assert_eq!(p["operator"], "临沂市兰山区总工会");
    assert_eq!(p["district"], "兰山区");
    assert_eq!(p["source"], "import");
    assert_eq!(p["position_accuracy"], "address");
    assert_eq!(p["synthetic"], false);
    assert_eq!(p["updated"], "2026-03-01");
    assert!(p.get("city").is_none(), "absent, not null");
    assert!(out[0].warnings.is_empty(), "{:?}", out[0].warnings);

    // Row 4: Beijing, 24/7, one unknown amenity word kept.
    let p = props(&out[1]);
    assert!(p.get("id").is_none());
    assert!(out[1].feature.as_ref().unwrap().get("id").is_none());
    assert_eq!(p["opening_hours"], "24/7");
    assert_eq!(
        p["amenities"],
        serde_json::json!(["toilet", "drinking_water"])
    );
    assert_eq!(p["amenities_unrecognised"], serde_json::json!(["按摩椅"]));
    assert!(
        out[1].warnings[0].contains("按摩椅"),
        "{:?}",
        out[1].warnings
    );

    // Row 5: Shanghai, combined hours.
    let p = props(&out[2]);
    assert_eq!(p["opening_hours"], "Mo-Fr 09:00-18:00; Sa 09:00-12:00");
    assert_eq!(
        p["amenities"],
        serde_json::json!(["air_conditioning", "wifi"])
    );

    // Row 6: lon and lat swapped.
    let pr = problems(&out[3]);
    assert_eq!(pr.len(), 1, "{pr:?}");
    assert_eq!(pr[0].field, "lon");
    assert!(
        pr[0]
            .reason
            .contains("looks swapped: 经度 should be ~73..135 in China"),
        "{}",
        pr[0].reason
    );

    // Row 7: (0, 0).
    let pr = problems(&out[4]);
    assert!(pr[0].reason.contains("(0, 0)"), "{pr:?}");

    // Row 8: no name.
    let pr = problems(&out[5]);
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].field, "name");
    assert!(pr[0].reason.contains("站点名称"), "{}", pr[0].reason);

    // Row 9: the Linyi station again, 14 m away.
    let pr = problems(&out[6]);
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].field, "name");
    assert!(pr[0].reason.contains("row 3"), "{}", pr[0].reason);
    assert!(out[6].reason().starts_with("name: duplicate: row 3"));

    // Row 10: hours not understood, kept verbatim.
    let p = props(&out[7]);
    assert!(p.get("opening_hours").is_none());
    assert_eq!(p["opening_hours_text"], "夏季8:00-20:00，冬季9:00-18:00");
    assert_eq!(p["amenities"], serde_json::json!(["reading", "haircut"]));
    assert!(
        out[7]
            .warnings
            .iter()
            .any(|w| w.contains("opening_hours_text"))
    );

    // Accepted points land within 0.5 m of the truth.
    for (o, truth) in [(&out[0], 0), (&out[1], 1), (&out[2], 2), (&out[7], 4)] {
        let t = LonLat::new(TRUE[truth].0, TRUE[truth].1).unwrap();
        let d = haversine_m(position(o), t);
        assert!(d < 0.5, "row {}: {d} m from the truth", o.row);
    }
    assert_valid(Layer::CourierStation, &out);

    // Read as WGS-84, the same sheet is hundreds of metres off: the crs matters.
    let raw = run(&sheet, &opts(Layer::CourierStation, InputCrs::Wgs84));
    let t = LonLat::new(TRUE[0].0, TRUE[0].1).unwrap();
    assert!(haversine_m(position(&raw[0]), t) > 100.0);
}

/// A park sheet: combined coordinates, lenient counts, dates in every form, and
/// the count checks.
#[test]
fn xlsx_parks_counts_and_dates() {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let headers = [
        "园区名称",
        "经纬度",
        "企业数",
        "已建会企业数",
        "职工数",
        "会员数",
        "建会时间",
        "统计时间",
        "园区类型",
        "备注",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let date = XFormat::new().set_num_format("yyyy-mm-dd");
    // Row 2: date cell, thousands separators, units.
    ws.write_string(1, 0, "财源物流园").unwrap();
    ws.write_string(1, 1, "118.35,35.10").unwrap();
    ws.write_string(1, 2, "1,234").unwrap();
    ws.write_string(1, 3, "１２００家").unwrap();
    ws.write_string(1, 4, "5000人").unwrap();
    ws.write_number(1, 5, 4000.0).unwrap();
    ws.write_datetime_with_format(1, 6, ExcelDateTime::from_ymd(2022, 8, 10).unwrap(), &date)
        .unwrap();
    ws.write_string(1, 7, "2024/3/1").unwrap();
    ws.write_string(1, 8, "物流园区").unwrap();
    // Row 3: full-width comma, a serial date, a lower bound, a partial date.
    ws.write_string(2, 0, "驼岭头园区").unwrap();
    ws.write_string(2, 1, "113.58，37.86").unwrap();
    ws.write_string(2, 2, "300余家").unwrap();
    ws.write_number(2, 3, 0.0).unwrap();
    ws.write_number(2, 6, 44783.0).unwrap();
    ws.write_string(2, 7, "2022年8月").unwrap();
    ws.write_string(2, 9, "阳泉高新区").unwrap();
    // Row 4: space-separated coordinates, counts that contradict each other.
    ws.write_string(3, 0, "矛盾园区").unwrap();
    ws.write_string(3, 1, "118.40 35.20").unwrap();
    ws.write_number(3, 2, 10.0).unwrap();
    ws.write_number(3, 3, 12.0).unwrap();
    ws.write_number(3, 4, 100.0).unwrap();
    ws.write_number(3, 5, 150.0).unwrap();
    // Row 5: a fraction where a count goes, and a bad coordinate pair.
    ws.write_string(4, 0, "小数园区").unwrap();
    ws.write_string(4, 1, "118.4").unwrap();
    ws.write_number(4, 2, 12.5).unwrap();
    // Row 6: swapped in China only when swapped (both within ±90).
    ws.write_string(5, 0, "西部园区").unwrap();
    ws.write_string(5, 1, "35.5,80.2").unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let sheet = read(&bytes, Format::Xlsx, None).unwrap();
    assert_eq!(sheet.rows[0].cells[6], "2022-08-10");
    let out = run(&sheet, &opts(Layer::Park, InputCrs::Wgs84));

    let p = props(&out[0]);
    assert_eq!(p["layer"], "park");
    assert_eq!(p["enterprises"], 1234);
    assert_eq!(p["unionised_enterprises"], 1200);
    assert_eq!(p["workers"], 5000);
    assert_eq!(p["union_members"], 4000);
    assert_eq!(p["union_status"], "partial");
    assert_eq!(p["union_founded"], "2022-08-10");
    assert_eq!(p["counts_as_of"], "2024-03-01");
    assert_eq!(p["park_type"], "logistics");
    assert_eq!(position(&out[0]), LonLat::new(118.35, 35.1).unwrap());
    assert!(p.get("amenities").is_none() && p.get("opening_hours").is_none());

    let p = props(&out[1]);
    assert_eq!(p["enterprises"], 300);
    assert_eq!(p["unionised_enterprises"], 0);
    assert_eq!(p["union_status"], "none");
    assert_eq!(p["union_founded"], "2022-08-10");
    assert!(p.get("counts_as_of").is_none());
    let notes = p["notes"].as_str().unwrap();
    assert!(notes.starts_with("阳泉高新区"), "{notes}");
    assert!(notes.contains("300余家 (a lower bound)"), "{notes}");
    assert!(notes.contains("统计时间: 2022年8月"), "{notes}");
    assert_eq!(out[1].warnings.len(), 2, "{:?}", out[1].warnings);

    let pr = problems(&out[2]);
    let fields: Vec<&str> = pr.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "properties.unionised_enterprises",
            "properties.union_members"
        ]
    );
    assert!(
        pr[0].reason.contains("12 is more than the park's 10"),
        "{}",
        pr[0].reason
    );

    let pr = problems(&out[3]);
    let fields: Vec<&str> = pr.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["lonlat", "properties.enterprises"], "{pr:?}");
    assert!(pr[1].reason.contains("not a whole number"));

    let pr = problems(&out[4]);
    assert!(pr[0].reason.contains("looks swapped"), "{pr:?}");
    assert_valid(Layer::Park, &out);
}

/// Each coordinate slip gets its own reason; a place far outside China is only a
/// warning.
#[test]
fn coordinate_reasons() {
    let csv = "名称,经度,纬度\n\
               缺经度,,35.1\n\
               非数字,一一八,35.1\n\
               超范围,200,35.1\n\
               纬度超范围,118,95\n\
               零点,0,0\n\
               对调,35.1,118.35\n\
               巴黎,2.35,48.86\n\
               全角,１１８．３５,３５．１０\n";
    let sheet = read(csv.as_bytes(), Format::Csv, None).unwrap();
    let out = run(&sheet, &opts(Layer::DriverHome, InputCrs::Wgs84));
    let first = |i: usize| problems(&out[i])[0].clone();
    assert_eq!(first(0).field, "lon");
    assert!(first(0).reason.contains("missing (经度 is empty)"));
    assert!(first(1).reason.contains("is not a number"));
    assert!(first(2).reason.contains("outside -180..180"));
    assert_eq!(first(3).field, "lat");
    assert!(first(3).reason.contains("outside -90..90"));
    assert!(first(4).reason.contains("(0, 0)"));
    assert!(first(5).reason.contains("looks swapped"));
    assert!(out[6].feature.is_ok());
    assert!(out[6].warnings[0].contains("far outside China"));
    assert_eq!(position(&out[7]), LonLat::new(118.35, 35.1).unwrap());
    assert_valid(Layer::DriverHome, &out);
}

/// Duplicates within a sheet: same id anywhere, same name within 100 m; the same
/// name farther away is a different place (chains have many "XX驿站").
#[test]
fn duplicates_within_the_sheet() {
    let csv = "id,name,lon,lat\n\
               a,甲,118.35,35.10\n\
               a,乙,119.00,36.00\n\
               ,甲 ,118.3505,35.1003\n\
               ,甲,118.40,35.10\n";
    let sheet = read(csv.as_bytes(), Format::Csv, None).unwrap();
    let out = run(&sheet, &opts(Layer::CourierStation, InputCrs::Wgs84));
    assert!(out[0].feature.is_ok());
    let pr = problems(&out[1]);
    assert_eq!(
        (pr[0].field.as_str(), pr[0].reason.contains("row 2")),
        ("id", true)
    );
    let pr = problems(&out[2]);
    assert_eq!(pr[0].field, "name");
    assert!(pr[0].reason.contains("row 2"));
    assert!(out[3].feature.is_ok(), "{:?}", out[3]);
}

/// GBK (what Excel on a Chinese Windows saves as "CSV") and UTF-8 with BOM give
/// the same features as UTF-8.
#[test]
fn csv_in_gbk_and_with_bom() {
    let text = "驿站名称,地址,坐标,营业时间,配套设施,城市\n\
                兰山司机之家,临沂市兰山区财源路1号,\"118.3564,35.1046\",8点-20点,\"淋浴、洗衣机、货车停车\",临沂市\n";
    let o = opts(Layer::DriverHome, InputCrs::Wgs84);
    let utf8 = run(&read(text.as_bytes(), Format::Csv, None).unwrap(), &o);
    let p = props(&utf8[0]);
    assert_eq!(p["opening_hours"], "Mo-Su 08:00-20:00");
    assert_eq!(
        p["amenities"],
        serde_json::json!(["shower", "laundry", "truck_parking"])
    );
    assert_eq!(p["city"], "临沂市");
    assert_eq!(p["address"], "临沂市兰山区财源路1号");

    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    let from_gbk = run(&read(&gbk, Format::Csv, None).unwrap(), &o);
    assert_eq!(from_gbk, utf8);

    let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let from_bom = run(&read(&bom, Format::Csv, None).unwrap(), &o);
    assert_eq!(from_bom, utf8);
    assert_valid(Layer::DriverHome, &utf8);
}

/// GeoJSON in, with English or Chinese keys, converted from BD-09 like any sheet;
/// a polygon is refused with its reason.
#[test]
fn geojson_input() {
    let (blon, blat) = coordtransform::wgs84_to_bd09(TRUE[1].0, TRUE[1].1);
    let text = serde_json::json!({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "fs-bj-1",
             "geometry": {"type": "Point", "coordinates": [blon, blat]},
             "properties": {"name": "北京健身驿站", "grade": "综合型",
                            "amenities": ["fitness_equipment", "shower"],
                            "opening_hours": "Mo-Fr 08:00-18:00"}},
            {"type": "Feature",
             "geometry": {"type": "Point", "coordinates": [blon + 0.01, blat]},
             "properties": {"站点名称": "第二站", "开放时间": "全天", "等级": "简易型"}},
            {"type": "Feature",
             "geometry": {"type": "Polygon", "coordinates": [[[116.0, 39.0], [116.1, 39.0], [116.1, 39.1], [116.0, 39.0]]]},
             "properties": {"name": "多边形"}}
        ]
    })
    .to_string();
    let sheet = read(text.as_bytes(), Format::GeoJson, None).unwrap();
    let out = run(&sheet, &opts(Layer::FitnessStation, InputCrs::Bd09));
    assert_eq!(out.iter().map(|o| o.row).collect::<Vec<_>>(), [1, 2, 3]);
    let p = props(&out[0]);
    assert_eq!(p["id"], "fs-bj-1");
    assert_eq!(p["grade"], "comprehensive");
    assert_eq!(p["opening_hours"], "Mo-Fr 08:00-18:00");
    assert_eq!(
        p["amenities"],
        serde_json::json!(["shower", "fitness_equipment"])
    );
    let t = LonLat::new(TRUE[1].0, TRUE[1].1).unwrap();
    assert!(haversine_m(position(&out[0]), t) < 0.5);
    let p = props(&out[1]);
    assert_eq!(p["name"], "第二站");
    assert_eq!(p["opening_hours"], "24/7");
    assert_eq!(p["grade"], "simple");
    let pr = problems(&out[2]);
    assert_eq!(pr[0].field, "geometry");
    assert!(pr[0].reason.contains("Polygon"));
    assert_valid(Layer::FitnessStation, &out);

    // The report of a GeoJSON import lists the features in order under the header.
    let statuses: Vec<(usize, String, String)> = out
        .iter()
        .map(|o| {
            let status = if o.feature.is_ok() {
                "accepted"
            } else {
                "rejected"
            };
            (o.row, status.to_owned(), o.reason())
        })
        .collect();
    let report = read(&report_xlsx(&sheet, &statuses).unwrap(), Format::Xlsx, None).unwrap();
    assert_eq!(
        report.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    let status_col = report
        .headers
        .iter()
        .position(|h| h == STATUS_HEADER)
        .unwrap();
    assert_eq!(report.rows[2].cells[status_col], "rejected");
}

/// `--map` picks columns the aliases do not know; a source and a layer are written.
#[test]
fn map_and_options() {
    let map = Options::parse_map("name=站点, lon=东经坐标，lat = 北纬坐标").unwrap();
    assert_eq!(
        map,
        [
            (Column::Name, "站点".to_owned()),
            (Column::Lon, "东经坐标".to_owned()),
            (Column::Lat, "北纬坐标".to_owned())
        ]
    );
    assert!(Options::parse_map("name").is_err());
    assert!(Options::parse_map("nom=站点").is_err());
    assert!(Options::parse_map("name=a,name=b").is_err());
    assert!(Options::parse_map("name=").is_err());

    let csv = "站点,东经坐标,北纬坐标\n甲,118.35,35.1\n";
    let sheet = read(csv.as_bytes(), Format::Csv, None).unwrap();
    let mut o = opts(Layer::CourierStation, InputCrs::Cgcs2000);
    assert!(matches!(
        convert(&sheet, &o, &mut |_, _| {}),
        Err(ImportError::NoNameColumn { .. })
    ));
    o.map = map;
    o.source = Some("台账 2026-03".into());
    let out = run(&sheet, &o);
    assert_eq!(props(&out[0])["source"], "台账 2026-03");
    assert_eq!(position(&out[0]), LonLat::new(118.35, 35.1).unwrap());

    for (s, want) in [
        ("wgs84", InputCrs::Wgs84),
        ("WGS-84", InputCrs::Wgs84),
        ("cgcs2000", InputCrs::Cgcs2000),
        ("GCJ-02", InputCrs::Gcj02),
        ("gcj02", InputCrs::Gcj02),
        ("BD09", InputCrs::Bd09),
        ("bd-09", InputCrs::Bd09),
    ] {
        assert_eq!(s.parse::<InputCrs>().unwrap(), want, "{s}");
    }
    assert!(matches!(
        "mercator".parse::<InputCrs>(),
        Err(ImportError::BadCrs(_))
    ));

    use std::path::Path;
    assert_eq!(
        Format::from_path(Path::new("a/台账.XLSX")),
        Some(Format::Xlsx)
    );
    assert_eq!(Format::from_path(Path::new("a.csv")), Some(Format::Csv));
    assert_eq!(
        Format::from_path(Path::new("a.geojson")),
        Some(Format::GeoJson)
    );
    assert_eq!(
        Format::from_path(Path::new("a.json")),
        Some(Format::GeoJson)
    );
    assert_eq!(Format::from_path(Path::new("a.docx")), None);
    assert_eq!(Format::from_path(Path::new("a")), None);
}

/// File-level errors: unreadable bytes, an unknown sheet, no header, no columns.
#[test]
fn file_errors() {
    assert!(matches!(
        read(b"not a zip", Format::Xlsx, None),
        Err(ImportError::Unreadable { .. })
    ));
    let bytes = station_workbook();
    let err = read(&bytes, Format::Xlsx, Some("Sheet9")).unwrap_err();
    assert!(matches!(err, ImportError::NoSuchSheet { .. }));
    assert!(err.to_string().contains("驿站台账"), "{err}");
    assert!(read(&bytes, Format::Xlsx, Some(" 驿站台账 ")).is_ok());

    let mut book = Workbook::new();
    book.add_worksheet();
    let empty = book.save_to_buffer().unwrap();
    assert!(matches!(
        read(&empty, Format::Xlsx, None),
        Err(ImportError::NoHeaderRow)
    ));

    let sheet = read("名称,地址\n甲,乙\n".as_bytes(), Format::Csv, None).unwrap();
    assert!(matches!(
        convert(&sheet, &opts(Layer::Park, InputCrs::Wgs84), &mut |_, _| {}),
        Err(ImportError::NoCoordinateColumns { .. })
    ));
}

/// 100,000 rows: well under 15 s in release (about a second); the bound here is
/// loose because unit tests run unoptimised.
#[test]
fn a_hundred_thousand_rows() {
    let hours = [
        "每天 8:00-20:00",
        "24小时",
        "周一至周五 9:00-18:00，周六 9:00-12:00",
    ];
    let mut csv = String::from("编号,站点名称,经度,纬度,开放时间,服务项目,电话\n");
    for i in 0..100_000u32 {
        let lon = 100.0 + f64::from(i % 300) * 0.1 + f64::from(i) * 1e-6;
        let lat = 25.0 + f64::from(i / 300 % 60) * 0.2;
        csv.push_str(&format!(
            "cs-{i},第{i}号工会驿站,{lon:.6},{lat:.6},{},热水、微波炉、充电,0539-{i:07}\n",
            hours[i as usize % 3]
        ));
    }
    let started = std::time::Instant::now();
    let sheet = read(csv.as_bytes(), Format::Csv, None).unwrap();
    let out = run(&sheet, &opts(Layer::CourierStation, InputCrs::Gcj02));
    let took = started.elapsed();
    assert_eq!(out.len(), 100_000);
    assert!(out.iter().all(|o| o.feature.is_ok()));
    assert!(took.as_secs_f64() < 60.0, "{took:?}");
    eprintln!("100,000 rows read and converted in {took:?}");
}
