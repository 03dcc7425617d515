//! Which column is which: the headers staff actually write (Chinese or English, with
//! their common aliases), matched case-, space- and width-insensitively, and `--map`
//! overrides.
//!
//! A header is compared by its key: full-width folded to ASCII, lower-cased, with
//! spaces, `_`, `-`, `*`, `:` and anything in brackets removed, so `经度（GCJ-02）`,
//! ` Longitude `, `*名称：` and `opening_hours` / `Opening Hours` all match.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use super::ImportError;
use super::text::halfwidth;
use crate::model::Layer;

macro_rules! columns {
    ($($variant:ident = $key:literal: [$($alias:literal),* $(,)?];)*) => {
        /// A field of our schema that a sheet column can hold.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Column {
            $(
                #[doc = concat!("`", $key, "`")]
                $variant,
            )*
        }

        impl Column {
            /// Every column, in documentation order.
            pub const ALL: &'static [Column] = &[$(Column::$variant),*];

            /// The English key used in `--map` and in our GeoJSON (`opening_hours`, …).
            pub fn key(self) -> &'static str {
                match self { $(Column::$variant => $key),* }
            }

            /// The headers recognised for this column besides its key.
            pub fn aliases(self) -> &'static [&'static str] {
                match self { $(Column::$variant => &[$($alias),*]),* }
            }
        }
    };
}

columns! {
    Id = "id": ["编号", "站点编号", "驿站编号", "园区编号", "code"];
    Name = "name": [
        "名称", "站点名称", "驿站名称", "站名", "园区名称", "司机之家名称", "阵地名称",
        "服务站名称", "场所名称", "名字",
    ];
    NameEn = "name_en": ["英文名称", "英文名", "english name"];
    Address = "address": ["地址", "详细地址", "具体地址", "所在地址", "站点地址", "地点"];
    Lon = "lon": ["经度", "东经", "lng", "long", "longitude", "x", "lon_gcj02", "lon_bd09"];
    Lat = "lat": ["纬度", "北纬", "latitude", "y", "lat_gcj02", "lat_bd09"];
    LonLat = "lonlat": ["经纬度", "坐标", "经纬度坐标", "地理坐标", "coordinates", "lnglat", "位置坐标"];
    City = "city": ["城市", "市", "所在城市", "所属城市", "地市", "所属地市"];
    District = "district": ["区县", "区", "县", "县区", "所在区县", "所属区县", "区域"];
    Hours = "opening_hours": [
        "开放时间", "服务时间", "营业时间", "开放时段", "hours", "opening hours",
    ];
    Amenities = "amenities": [
        "设施", "服务项目", "配套设施", "服务设施", "服务内容", "功能", "配置", "facilities",
    ];
    Phone = "phone": ["电话", "联系电话", "服务电话", "联系方式", "tel", "telephone"];
    Operator = "operator": ["所属工会", "运营单位", "管理单位", "建设单位", "主办单位", "责任单位"];
    Enterprises = "enterprises": ["企业数", "企业数量", "企业总数", "入驻企业数"];
    UnionisedEnterprises = "unionised_enterprises": [
        "已建会企业数", "建会企业数", "已建会企业", "unionized_enterprises",
    ];
    Workers = "workers": ["职工数", "职工人数", "职工总数", "从业人员", "从业人数"];
    UnionMembers = "union_members": ["会员数", "工会会员数", "会员人数", "入会职工数"];
    UnionFounded = "union_founded": ["建会时间", "建会日期", "工会成立时间"];
    CountsAsOf = "counts_as_of": ["统计时间", "统计日期", "数据截止", "截止日期"];
    ParkType = "park_type": ["园区类型", "园区类别"];
    UnionStatus = "union_status": ["建会状态", "建会情况", "是否建会"];
    Notes = "notes": ["备注", "说明"];
    Grade = "grade": ["等级", "驿站等级", "建设类型", "类型", "级别"];
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Column {
    type Err = ImportError;
    /// An English key (`name`, `lon`, `opening_hours`, …) or any recognised header.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = header_key(s);
        Column::ALL
            .iter()
            .copied()
            .find(|c| header_key(c.key()) == key)
            .or_else(|| recognise(s))
            .ok_or_else(|| {
                let keys: Vec<&str> = Column::ALL.iter().map(|c| c.key()).collect();
                ImportError::BadMap(format!(
                    "unknown column key '{s}' (known: {})",
                    keys.join(", ")
                ))
            })
    }
}

/// The header a GeoJSON file's geometry type is read into (see `read`).
pub(crate) const GEOMETRY_HEADER: &str = "geometry";

/// The comparison key of a header (see the module documentation).
pub(crate) fn header_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars().map(halfwidth) {
        match c {
            '(' | '[' | '【' | '〔' => depth += 1,
            ')' | ']' | '】' | '〕' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_whitespace() => {}
            '_' | '-' | '*' | ':' | '.' | '\u{200B}' | '\u{FEFF}' => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

static ALIASES: LazyLock<HashMap<String, Column>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for &c in Column::ALL {
        map.entry(header_key(c.key())).or_insert(c);
        for alias in c.aliases() {
            map.entry(header_key(alias)).or_insert(c);
        }
    }
    map
});

/// The column a header names, if it is one we know.
pub(crate) fn recognise(header: &str) -> Option<Column> {
    ALIASES.get(&header_key(header)).copied()
}

/// The sheet's columns resolved: which column index holds which field.
#[derive(Clone, Debug, Default)]
pub struct ColumnMap {
    /// Each field's columns: the first is read, the others where it is empty (a
    /// GeoJSON file whose features name the same field `name` or `站点名称`).
    cols: HashMap<Column, Vec<usize>>,
    geometry: Option<usize>,
    /// Headers that name nothing we know (left out of the import).
    pub ignored: Vec<String>,
    /// Remarks on the columns worth showing the user once ("开放时间 is ignored:
    /// parks have no opening hours", "站点名称 also looks like name: read where 名称
    /// is empty").
    pub notes: Vec<String>,
}

impl ColumnMap {
    /// The index of the column holding `column`, if any.
    pub fn get(&self, column: Column) -> Option<usize> {
        self.cols.get(&column).and_then(|v| v.first().copied())
    }

    /// Every column holding `column`, the one read first first.
    pub(crate) fn all(&self, column: Column) -> &[usize] {
        self.cols.get(&column).map_or(&[], Vec::as_slice)
    }

    /// The GeoJSON geometry-type column, if the sheet came from GeoJSON.
    pub(crate) fn geometry(&self) -> Option<usize> {
        self.geometry
    }

    /// Each recognised column with the header it was found under, in column order.
    pub fn recognised<'h>(&self, headers: &'h [String]) -> Vec<(Column, &'h str)> {
        let mut out: Vec<(Column, &str)> = self
            .cols
            .iter()
            .filter_map(|(c, v)| Some((*c, headers.get(*v.first()?)?.as_str())))
            .collect();
        out.sort_by_key(|(c, _)| self.get(*c));
        out
    }

    /// Resolves `headers` for `layer`: `map` first, then the headers in order (the
    /// first column to name a field wins). Fails when no column holds the name or
    /// the coordinates, or when `map` names a header the sheet does not have.
    pub fn resolve(
        headers: &[String],
        layer: Layer,
        map: &[(Column, String)],
    ) -> Result<ColumnMap, ImportError> {
        let mut out = ColumnMap::default();
        let mut taken = vec![false; headers.len()];
        for (column, wanted) in map {
            let key = header_key(wanted);
            let found = headers
                .iter()
                .position(|h| h.trim() == wanted.trim())
                .or_else(|| headers.iter().position(|h| header_key(h) == key));
            let Some(i) = found else {
                return Err(ImportError::BadMap(format!(
                    "{}={wanted}: the sheet has no column '{wanted}' (its columns: {})",
                    column.key(),
                    headers.join(", ")
                )));
            };
            out.cols.insert(*column, vec![i]);
            taken[i] = true;
        }
        for (i, header) in headers.iter().enumerate() {
            if taken[i] || header.trim().is_empty() {
                continue;
            }
            let key = header_key(header);
            if key == GEOMETRY_HEADER {
                out.geometry = Some(i);
                continue;
            }
            if key == header_key(super::STATUS_HEADER) || key == header_key(super::REASON_HEADER) {
                // The columns of an earlier import's report: not data.
                continue;
            }
            match recognise(header) {
                Some(c) if map.iter().any(|(m, _)| *m == c) => {
                    out.notes.push(format!(
                        "column '{header}' is ignored: --map names another column for {c}"
                    ));
                    out.ignored.push(header.clone());
                }
                Some(c) => {
                    let found = out.cols.entry(c).or_default();
                    if let Some(&first) = found.first() {
                        out.notes.push(format!(
                            "column '{header}' also looks like {c}: read where '{}' is empty",
                            headers[first]
                        ));
                    }
                    found.push(i);
                }
                None => out.ignored.push(header.clone()),
            }
        }
        if out.get(Column::Name).is_none() {
            return Err(ImportError::NoNameColumn {
                headers: headers.to_vec(),
            });
        }
        let pair = out.get(Column::Lon).is_some() && out.get(Column::Lat).is_some();
        if !pair && out.get(Column::LonLat).is_none() {
            return Err(ImportError::NoCoordinateColumns {
                headers: headers.to_vec(),
            });
        }
        for (c, header) in out.recognised(headers) {
            if let Some(why) = not_for_layer(c, layer) {
                out.notes
                    .push(format!("column '{header}' ({c}) is ignored: {why}"));
            }
        }
        Ok(out)
    }
}

/// Why `column` has no place in `layer`, if it has none.
pub(crate) fn not_for_layer(column: Column, layer: Layer) -> Option<&'static str> {
    use Column::*;
    match column {
        Address | Hours | Amenities | Phone | Operator if !layer.is_facility() => {
            Some("parks have no address, opening hours, amenities, phone or operator")
        }
        Enterprises | UnionisedEnterprises | Workers | UnionMembers | UnionFounded | CountsAsOf
        | ParkType | UnionStatus
            if layer.is_facility() =>
        {
            Some("only parks have enterprise and worker counts, a park type or a union status")
        }
        Grade if layer != Layer::FitnessStation => Some("only fitness stations have a grade"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Every header the issue lists is recognised, whatever its case, spacing,
    /// width or bracketed remark.
    #[test]
    fn headers_in_chinese_and_english_with_aliases() {
        use Column::*;
        let cases: &[(&str, Column)] = &[
            ("名称", Name),
            ("站点名称", Name),
            ("驿站名称", Name),
            ("Name", Name),
            ("地址", Address),
            ("详细地址", Address),
            ("ADDRESS", Address),
            ("经度", Lon),
            ("东经", Lon),
            ("lon", Lon),
            ("LNG", Lon),
            ("Longitude", Lon),
            ("x", Lon),
            ("纬度", Lat),
            ("北纬", Lat),
            ("lat", Lat),
            ("Latitude", Lat),
            ("Y", Lat),
            ("经纬度", LonLat),
            ("坐标", LonLat),
            ("lonlat", LonLat),
            ("Coordinates", LonLat),
            ("城市", City),
            ("市", City),
            ("city", City),
            ("区县", District),
            ("区", District),
            ("县", District),
            ("District", District),
            ("开放时间", Hours),
            ("服务时间", Hours),
            ("营业时间", Hours),
            ("opening_hours", Hours),
            ("Opening Hours", Hours),
            ("设施", Amenities),
            ("服务项目", Amenities),
            ("配套设施", Amenities),
            ("amenities", Amenities),
            ("电话", Phone),
            ("联系电话", Phone),
            ("phone", Phone),
            ("所属工会", Operator),
            ("运营单位", Operator),
            ("operator", Operator),
            ("企业数", Enterprises),
            ("已建会企业数", UnionisedEnterprises),
            ("职工数", Workers),
            ("会员数", UnionMembers),
            ("建会时间", UnionFounded),
            ("统计时间", CountsAsOf),
            ("id", Id),
            ("编号", Id),
            (" 经度（GCJ-02） ", Lon),
            ("*名称：", Name),
            ("纬度(北纬)", Lat),
            ("区（县）", District),
            ("ＬＮＧ", Lon),
            ("经 度", Lon),
            ("union_members", UnionMembers),
        ];
        for (header, want) in cases {
            assert_eq!(recognise(header), Some(*want), "{header}");
        }
        assert_eq!(recognise("序号"), None);
        assert_eq!(recognise("负责人"), None);
        for &c in Column::ALL {
            assert_eq!(c.key().parse::<Column>().unwrap(), c);
        }
    }

    #[test]
    fn resolve_uses_map_first_and_requires_name_and_coordinates() {
        let h = headers(&["序号", "站点名称", "东经x", "北纬y", "名称", "开放时间"]);
        let err = ColumnMap::resolve(&h, Layer::CourierStation, &[]).unwrap_err();
        assert!(
            matches!(err, ImportError::NoCoordinateColumns { .. }),
            "{err}"
        );
        let map = vec![
            (Column::Lon, "东经x".to_owned()),
            (Column::Lat, "北纬Y".to_owned()),
        ];
        let cols = ColumnMap::resolve(&h, Layer::CourierStation, &map).unwrap();
        assert_eq!(cols.get(Column::Lon), Some(2));
        assert_eq!(cols.get(Column::Lat), Some(3));
        assert_eq!(cols.get(Column::Name), Some(1));
        assert_eq!(cols.get(Column::Hours), Some(5));
        assert_eq!(cols.ignored, vec!["序号".to_owned()]);
        assert!(
            cols.notes[0].contains("also looks like name"),
            "{:?}",
            cols.notes
        );

        let parks = ColumnMap::resolve(&h, Layer::Park, &map).unwrap();
        assert!(
            parks.notes.iter().any(|n| n.contains("开放时间")),
            "{:?}",
            parks.notes
        );

        let err = ColumnMap::resolve(&headers(&["经纬度", "地址"]), Layer::Park, &[]).unwrap_err();
        assert!(matches!(err, ImportError::NoNameColumn { .. }));
        let err =
            ColumnMap::resolve(&h, Layer::Park, &[(Column::Lon, "东经z".into())]).unwrap_err();
        assert!(err.to_string().contains("no column '东经z'"), "{err}");
        let lonlat = ColumnMap::resolve(&headers(&["名称", "坐标"]), Layer::Park, &[]).unwrap();
        assert_eq!(lonlat.get(Column::LonLat), Some(1));
    }
}
