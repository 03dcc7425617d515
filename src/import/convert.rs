//! One sheet row to one GeoJSON Feature in our schema, or the reasons it cannot be.
//!
//! For each row, in order: the coordinates (missing, not numbers, (0, 0), out of
//! range, swapped, outside China) and their conversion to WGS-84; the name; the
//! layer's own fields (hours, amenities, grade for facilities; counts, dates, type
//! and union status for parks); then duplicates of an earlier accepted row of the
//! same sheet (same id, or same name within 100 m). Problems reject the row; warnings
//! do not. Features are built as `serde_json::Value`s with absent fields left out.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::columns::{Column, ColumnMap, not_for_layer};
use super::text::{Count, clean, fold, parse_coordinate, parse_count, parse_date};
use super::{ImportError, Options, Sheet, SheetRow, amenities, hours};
use crate::geodata::coords::{Crs, to_wgs84_exact};
use crate::index::sphere::haversine_m;
use crate::model::{Grade, LonLat, ParkType, UnionStatus};

/// Two rows with the same name closer than this are the same place.
const DUPLICATE_RADIUS_M: f64 = 100.0;

/// What became of one row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowOutcome {
    /// The row's number as the user sees it ([`SheetRow::number`]).
    pub row: usize,
    /// The Feature, or every reason the row cannot be imported.
    pub feature: Result<Value, Vec<RowProblem>>,
    /// Things the user should know that do not stop the row (hours kept as text,
    /// unknown amenity words, a position outside China, a count given as a lower bound).
    pub warnings: Vec<String>,
}

impl RowOutcome {
    /// The problems as one line (`lon: missing; name: missing`), empty when the row
    /// was accepted: what the report's reason column shows.
    pub fn reason(&self) -> String {
        match &self.feature {
            Ok(_) => String::new(),
            Err(problems) => problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Why a row cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowProblem {
    /// The field at fault: `lon`, `lat`, `lonlat`, `geometry`, `name`, `id`, or
    /// `properties.<key>` (`properties.union_members`, …).
    pub field: String,
    /// Why, naming the user's own column where it helps.
    pub reason: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Converts every row of `sheet`, calling `progress(done, total)` now and then (and
/// once at the end). Fails only when the columns cannot be resolved (no name column,
/// no coordinate columns, a bad `--map`); a bad row is a rejected [`RowOutcome`].
pub fn convert(
    sheet: &Sheet,
    opts: &Options,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<RowOutcome>, ImportError> {
    let cols = ColumnMap::resolve(&sheet.headers, opts.layer, &opts.map)?;
    let mut state = State {
        sheet,
        cols: &cols,
        opts,
        crs: opts.crs.crs(),
        source: opts.source.clone().unwrap_or_else(|| "import".to_owned()),
        updated: opts.today.format("%Y-%m-%d").to_string(),
        hours: HashMap::new(),
        ids: HashMap::new(),
        names: HashMap::new(),
    };
    let total = sheet.rows.len();
    let mut out = Vec::with_capacity(total);
    for (i, row) in sheet.rows.iter().enumerate() {
        out.push(state.row(row));
        if (i + 1) % 1000 == 0 {
            progress(i + 1, total);
        }
    }
    progress(total, total);
    Ok(out)
}

/// What the conversion keeps from row to row.
struct State<'a> {
    sheet: &'a Sheet,
    cols: &'a ColumnMap,
    opts: &'a Options,
    crs: Crs,
    source: String,
    updated: String,
    /// Hours text → OSM expression (or `None`): a sheet repeats a few schedules many
    /// times, and validating one costs a parse.
    hours: HashMap<String, Option<String>>,
    /// Accepted ids → row number.
    ids: HashMap<String, usize>,
    /// Accepted names (folded, without spaces) → their rows and positions.
    names: HashMap<String, Vec<(usize, LonLat)>>,
}

/// One row's problems, warnings and properties as they are gathered.
struct Row<'r> {
    cells: &'r [String],
    problems: Vec<RowProblem>,
    warnings: Vec<String>,
    props: Map<String, Value>,
    /// Remarks appended to `notes` (partial dates, lower bounds, unknown categories).
    notes: Vec<String>,
}

impl Row<'_> {
    fn problem(&mut self, field: &str, reason: String) {
        self.problems.push(RowProblem {
            field: field.to_owned(),
            reason,
        });
    }
}

impl State<'_> {
    fn header(&self, c: Column) -> &str {
        self.cols
            .get(c)
            .and_then(|i| self.sheet.headers.get(i))
            .map_or(c.key(), String::as_str)
    }

    /// The trimmed cell of `column`, `None` when the column is absent or the cell empty.
    fn cell<'r>(&self, row: &Row<'r>, column: Column) -> Option<&'r str> {
        self.cols.all(column).iter().find_map(|&i| {
            let s = clean(row.cells.get(i)?);
            (!s.is_empty()).then_some(s)
        })
    }

    /// A cell of a column that applies to this layer.
    fn field<'r>(&self, row: &Row<'r>, column: Column) -> Option<&'r str> {
        if not_for_layer(column, self.opts.layer).is_some() {
            return None;
        }
        self.cell(row, column)
    }

    fn row(&mut self, sheet_row: &SheetRow) -> RowOutcome {
        let mut row = Row {
            cells: &sheet_row.cells,
            problems: Vec::new(),
            warnings: Vec::new(),
            props: Map::new(),
            notes: Vec::new(),
        };
        let position = self.position(&mut row);
        let name = self.cell(&row, Column::Name).map(|s| s.to_owned());
        if name.is_none() {
            let h = self.header(Column::Name).to_owned();
            row.problem("name", format!("missing ({h} is empty)"));
        }
        let id = self.cell(&row, Column::Id).map(|s| s.to_owned());

        row.props
            .insert("layer".into(), Value::from(self.opts.layer.id()));
        if let Some(id) = &id {
            row.props.insert("id".into(), Value::from(id.as_str()));
        }
        if let Some(name) = &name {
            row.props.insert("name".into(), Value::from(name.as_str()));
        }
        for (column, key) in [
            (Column::NameEn, "name_en"),
            (Column::Address, "address"),
            (Column::City, "city"),
            (Column::District, "district"),
            (Column::Phone, "phone"),
            (Column::Operator, "operator"),
        ] {
            if let Some(v) = self.field(&row, column) {
                row.props.insert(key.into(), Value::from(v));
            }
        }
        if self.opts.layer.is_facility() {
            self.facility(&mut row);
        } else {
            self.park(&mut row);
        }

        // Duplicates of an earlier accepted row.
        if row.problems.is_empty()
            && let (Some(name), Some(p)) = (&name, position)
        {
            if let Some(id) = &id
                && let Some(first) = self.ids.get(id)
            {
                row.problem(
                    "id",
                    format!("duplicate: row {first} has the same id '{id}'"),
                );
            }
            let key: String = fold(name).chars().filter(|c| !c.is_whitespace()).collect();
            if let Some((first, d)) = self.names.get(&key).and_then(|seen| {
                seen.iter()
                    .map(|(r, q)| (*r, haversine_m(p, *q)))
                    .find(|(_, d)| *d < DUPLICATE_RADIUS_M)
            }) {
                row.problem(
                    "name",
                    format!(
                        "duplicate: row {first} has the same name {:.0} m away",
                        d.round()
                    ),
                );
            }
            if row.problems.is_empty() {
                if let Some(id) = &id {
                    self.ids.insert(id.clone(), sheet_row.number);
                }
                self.names
                    .entry(key)
                    .or_default()
                    .push((sheet_row.number, p));
            }
        }

        let mut notes: Vec<String> = self
            .cell(&row, Column::Notes)
            .map(|s| s.to_owned())
            .into_iter()
            .collect();
        notes.append(&mut row.notes);
        if !notes.is_empty() {
            row.props
                .insert("notes".into(), Value::from(notes.join("; ")));
        }
        row.props
            .insert("source".into(), Value::from(self.source.as_str()));
        row.props
            .insert("position_accuracy".into(), Value::from("address"));
        row.props.insert("synthetic".into(), Value::from(false));
        row.props
            .insert("updated".into(), Value::from(self.updated.as_str()));

        let feature = match (position, row.problems.is_empty()) {
            (Some(p), true) => {
                let mut f = json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [p.lon(), p.lat()]},
                    "properties": Value::Object(row.props),
                });
                if let Some(id) = id
                    && let Some(obj) = f.as_object_mut()
                {
                    obj.insert("id".into(), Value::from(id));
                }
                Ok(f)
            }
            _ => Err(row.problems),
        };
        RowOutcome {
            row: sheet_row.number,
            feature,
            warnings: row.warnings,
        }
    }

    /// The row's WGS-84 position, or problems; warnings for a position outside China.
    fn position(&self, row: &mut Row<'_>) -> Option<LonLat> {
        if let Some(kind) = self.cols.geometry().and_then(|i| row.cells.get(i)) {
            match kind.as_str() {
                "Point" | "" => {}
                "none" => {
                    row.problem("geometry", "missing".into());
                    return None;
                }
                other => {
                    row.problem(
                        "geometry",
                        format!("is a {other}: only Point features can be imported"),
                    );
                    return None;
                }
            }
        }
        let (lon_h, lat_h) = (
            self.header(Column::Lon).to_owned(),
            self.header(Column::Lat).to_owned(),
        );
        let pair = (self.cell(row, Column::Lon), self.cell(row, Column::Lat));
        let combined = self.cell(row, Column::LonLat);
        let (lon, lat, field_lon, field_lat) = match (pair, combined) {
            ((Some(lon), Some(lat)), _) => {
                let lon_v = parse_coordinate(lon);
                let lat_v = parse_coordinate(lat);
                if lon_v.is_none() {
                    row.problem("lon", format!("{lon_h} '{lon}' is not a number"));
                }
                if lat_v.is_none() {
                    row.problem("lat", format!("{lat_h} '{lat}' is not a number"));
                }
                (lon_v?, lat_v?, "lon", "lat")
            }
            (_, Some(text)) => {
                let h = self.header(Column::LonLat).to_owned();
                let folded = fold(text);
                let parts: Vec<&str> = folded
                    .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                    .filter(|p| !p.is_empty())
                    .collect();
                let values: Option<Vec<f64>> = parts.iter().map(|p| parse_coordinate(p)).collect();
                match values.as_deref() {
                    Some([lon, lat]) => (*lon, *lat, "lonlat", "lonlat"),
                    _ => {
                        row.problem(
                            "lonlat",
                            format!("{h} '{text}' is not 'lon,lat' (e.g. 118.35,35.10)"),
                        );
                        return None;
                    }
                }
            }
            ((lon, lat), None) => {
                if self.cols.get(Column::Lon).is_none() {
                    let h = self.header(Column::LonLat).to_owned();
                    row.problem("lonlat", format!("missing ({h} is empty)"));
                } else {
                    if lon.is_none() {
                        row.problem("lon", format!("missing ({lon_h} is empty)"));
                    }
                    if lat.is_none() {
                        row.problem("lat", format!("missing ({lat_h} is empty)"));
                    }
                }
                return None;
            }
        };
        if lon == 0.0 && lat == 0.0 {
            row.problem(
                field_lon,
                "(0, 0) is not a position (an empty cell exported as 0?)".into(),
            );
            return None;
        }
        let swapped = || {
            format!(
                "looks swapped: 经度 should be ~73..135 in China and 纬度 ~18..54 \
                 (got 经度 {lon}, 纬度 {lat})"
            )
        };
        if !(-90.0..=90.0).contains(&lat) {
            if (-90.0..=90.0).contains(&lon) && (-180.0..=180.0).contains(&lat) {
                row.problem(field_lon, swapped());
            } else {
                row.problem(field_lat, format!("latitude {lat} is outside -90..90"));
                if !(-180.0..=180.0).contains(&lon) {
                    row.problem(field_lon, format!("longitude {lon} is outside -180..180"));
                }
            }
            return None;
        }
        if !(-180.0..=180.0).contains(&lon) {
            row.problem(field_lon, format!("longitude {lon} is outside -180..180"));
            return None;
        }
        if !in_china(lon, lat) {
            if in_china(lat, lon) {
                row.problem(field_lon, swapped());
                return None;
            }
            row.warnings.push(format!(
                "{field_lon}: ({lon}, {lat}) is far outside China (73..135°E, 18..54°N); \
                 accepted, check it"
            ));
        }
        let (wlon, wlat) = match self.crs {
            Crs::Wgs84 => (lon, lat),
            crs => {
                let (x, y) = to_wgs84_exact(crs, lon, lat);
                // Centimetres: the exact inverse is good to a millimetre.
                ((x * 1e7).round() / 1e7, (y * 1e7).round() / 1e7)
            }
        };
        match LonLat::new(wlon, wlat) {
            Ok(p) => Some(p),
            Err(e) => {
                row.problem(field_lon, e.to_string());
                None
            }
        }
    }

    fn facility(&mut self, row: &mut Row<'_>) {
        let (set, unknown) = self
            .field(row, Column::Amenities)
            .map(amenities::parse)
            .unwrap_or_default();
        row.props.insert(
            "amenities".into(),
            Value::Array(set.iter().map(|a| Value::from(a.id())).collect()),
        );
        if !unknown.is_empty() {
            row.warnings.push(format!(
                "amenities: {} not in the vocabulary; kept in amenities_unrecognised",
                unknown
                    .iter()
                    .map(|w| format!("'{w}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            row.props.insert(
                "amenities_unrecognised".into(),
                Value::Array(unknown.into_iter().map(Value::from).collect()),
            );
        }
        if let Some(text) = self.field(row, Column::Hours) {
            let osm = match self.hours.get(text) {
                Some(cached) => cached.clone(),
                None => {
                    let osm = hours::to_osm(text);
                    self.hours.insert(text.to_owned(), osm.clone());
                    osm
                }
            };
            match osm {
                Some(osm) => {
                    row.props.insert("opening_hours".into(), Value::from(osm));
                }
                None => {
                    row.warnings.push(format!(
                        "properties.opening_hours: '{text}' not understood; kept in \
                         opening_hours_text (write it as e.g. 周一至周五 9:00-18:00 or \
                         Mo-Fr 09:00-18:00)"
                    ));
                    row.props
                        .insert("opening_hours_text".into(), Value::from(text));
                }
            }
        }
        if let Some(text) = self.field(row, Column::Grade) {
            match grade(text) {
                Some(g) => {
                    row.props.insert("grade".into(), Value::from(g.id()));
                }
                None => {
                    let h = self.header(Column::Grade);
                    row.warnings.push(format!(
                        "properties.grade: '{text}' is not 简易型, 常规型 or 综合型; kept in notes"
                    ));
                    row.notes.push(format!("{h}: {text}"));
                }
            }
        }
    }

    fn park(&mut self, row: &mut Row<'_>) {
        let mut counts: [Option<u32>; 4] = [None; 4];
        let keys = [
            (Column::Enterprises, "enterprises"),
            (Column::UnionisedEnterprises, "unionised_enterprises"),
            (Column::Workers, "workers"),
            (Column::UnionMembers, "union_members"),
        ];
        for (slot, (column, key)) in counts.iter_mut().zip(keys) {
            let Some(text) = self.field(row, column) else {
                continue;
            };
            let h = self.header(column).to_owned();
            match parse_count(text) {
                Ok(Count {
                    value,
                    lower_bound,
                    approximate,
                }) => {
                    *slot = Some(value);
                    row.props.insert(key.into(), Value::from(value));
                    if lower_bound || approximate {
                        let what = if lower_bound {
                            "a lower bound"
                        } else {
                            "approximate"
                        };
                        row.warnings.push(format!(
                            "properties.{key}: '{text}' is {what}; stored as {value}, noted in notes"
                        ));
                        row.notes.push(format!("{h}: {text} ({what})"));
                    }
                }
                Err(why) => row.problem(&format!("properties.{key}"), format!("{h} {why}")),
            }
        }
        let [enterprises, unionised, workers, members] = counts;
        if let (Some(all), Some(part)) = (enterprises, unionised)
            && part > all
        {
            row.problem(
                "properties.unionised_enterprises",
                format!(
                    "{} {part} is more than the park's {all} enterprises ({})",
                    self.header(Column::UnionisedEnterprises),
                    self.header(Column::Enterprises)
                ),
            );
        }
        if let (Some(all), Some(part)) = (workers, members)
            && part > all
        {
            row.problem(
                "properties.union_members",
                format!(
                    "{} {part} is more than the park's {all} workers ({})",
                    self.header(Column::UnionMembers),
                    self.header(Column::Workers)
                ),
            );
        }
        let derived = match (enterprises, unionised) {
            (Some(_), Some(0)) => Some(UnionStatus::None),
            (Some(all), Some(part)) if part >= all => Some(UnionStatus::Full),
            (Some(_), Some(_)) => Some(UnionStatus::Partial),
            _ => None,
        };
        let given = self.field(row, Column::UnionStatus).and_then(|text| {
            let status = union_status(text);
            if status.is_none() {
                let h = self.header(Column::UnionStatus);
                row.warnings.push(format!(
                    "properties.union_status: '{text}' is not 未建会, 部分建会 or 已建会; kept in notes"
                ));
                row.notes.push(format!("{h}: {text}"));
            }
            status
        });
        if let (Some(g), Some(d)) = (given, derived)
            && g != d
        {
            row.problem(
                "properties.union_status",
                format!(
                    "{} says {} but the enterprise counts give {}",
                    self.header(Column::UnionStatus),
                    g.id(),
                    d.id()
                ),
            );
        }
        if let Some(s) = derived.or(given) {
            row.props.insert("union_status".into(), Value::from(s.id()));
        }
        if let Some(text) = self.field(row, Column::ParkType) {
            match park_type(text) {
                Some(t) => {
                    row.props.insert("park_type".into(), Value::from(t.id()));
                }
                None => {
                    let h = self.header(Column::ParkType);
                    row.warnings.push(format!(
                        "properties.park_type: '{text}' is not a park type we know; kept in notes"
                    ));
                    row.notes.push(format!("{h}: {text}"));
                }
            }
        }
        for (column, key) in [
            (Column::UnionFounded, "union_founded"),
            (Column::CountsAsOf, "counts_as_of"),
        ] {
            let Some(text) = self.field(row, column) else {
                continue;
            };
            match parse_date(text) {
                Ok(d) => {
                    row.props
                        .insert(key.into(), Value::from(d.format("%Y-%m-%d").to_string()));
                }
                Err(why) => {
                    let h = self.header(column);
                    row.warnings
                        .push(format!("properties.{key}: {why}; kept in notes"));
                    row.notes.push(format!("{h}: {text}"));
                }
            }
        }
    }
}

/// Whether a point lies in the box around China (the broad box `coordtransform`
/// starts from): inside it a position is plausible, outside it "far outside".
fn in_china(lon: f64, lat: f64) -> bool {
    (73.0..=135.2).contains(&lon) && (18.0..=54.0).contains(&lat)
}

fn grade(text: &str) -> Option<Grade> {
    if let Ok(g) = text.to_ascii_lowercase().parse::<Grade>() {
        return Some(g);
    }
    let t = text.trim_end_matches(['型', '类']);
    match t {
        "简易" | "简单" => Some(Grade::Simple),
        "常规" | "标准" => Some(Grade::Regular),
        "综合" => Some(Grade::Comprehensive),
        _ => None,
    }
}

fn union_status(text: &str) -> Option<UnionStatus> {
    if let Ok(s) = text.to_ascii_lowercase().parse::<UnionStatus>() {
        return Some(s);
    }
    match text {
        "未建会" | "未建" | "无" | "否" | "没有" | "未建立" => Some(UnionStatus::None),
        "部分建会" | "部分" | "部分已建" => Some(UnionStatus::Partial),
        "已建会" | "已建" | "全部建会" | "全部" | "是" | "已建立" | "全覆盖" => {
            Some(UnionStatus::Full)
        }
        _ => None,
    }
}

fn park_type(text: &str) -> Option<ParkType> {
    if let Ok(t) = text.to_ascii_lowercase().parse::<ParkType>() {
        return Some(t);
    }
    Some(match text {
        "工业园区" | "工业园" | "产业园" | "产业园区" | "工业集中区" => {
            ParkType::Industrial
        }
        "物流园区" | "物流园" | "物流中心" | "物流基地" => ParkType::Logistics,
        "开发区" | "经济开发区" | "经开区" | "经济技术开发区" => {
            ParkType::DevelopmentZone
        }
        "高新区" | "高新技术产业开发区" | "高新园区" | "科技园" => {
            ParkType::HighTechZone
        }
        "农业园区" | "农业产业园" | "现代农业园" | "农业园" => {
            ParkType::Agricultural
        }
        "文化产业园" | "文创园" | "文化创意产业园" => ParkType::CultureIndustry,
        "综合" | "综合园区" | "混合" => ParkType::Mixed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_words() {
        assert_eq!(grade("综合型"), Some(Grade::Comprehensive));
        assert_eq!(grade("简易型"), Some(Grade::Simple));
        assert_eq!(grade("regular"), Some(Grade::Regular));
        assert_eq!(grade("豪华型"), None);
        assert_eq!(union_status("未建会"), Some(UnionStatus::None));
        assert_eq!(union_status("full"), Some(UnionStatus::Full));
        assert_eq!(union_status("不清楚"), None);
        assert_eq!(park_type("物流园区"), Some(ParkType::Logistics));
        assert_eq!(park_type("high_tech_zone"), Some(ParkType::HighTechZone));
        assert_eq!(park_type("游乐园"), None);
    }
}
