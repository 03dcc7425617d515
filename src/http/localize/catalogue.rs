//! The catalogue: every English reason, detail and title the server writes, with
//! its Chinese form. One catalogue serves problem+json answers and the import reports
//! (`super::imports`); order matters: the first template that matches wins, so the
//! specific ones come before the generic ones.
//!
//! In a template `{}` stands for any text (a value, a name, a number, a nested
//! reason), carried into the Chinese template in the same order. Values the user
//! gave are quoted '…' in English and “…” in Chinese.

/// (English template, Chinese template); `{}` is any text, in order.
pub(super) const CATALOGUE: &[(&str, &str)] = &[
    // Feature properties (src/model/properties.rs).
    ("is required", "必填"),
    (
        "is required (true for generated data)",
        "必填（生成的演示数据为 true）",
    ),
    ("must be a string, got {}", "应为文本，收到 {}"),
    (
        "must be an array of strings, got {}",
        "应为文本数组，收到 {}",
    ),
    (
        "must be a non-negative whole number, got {}",
        "应为非负整数，收到 {}",
    ),
    (
        "must be true or false, got {}",
        "应为 true 或 false，收到 {}",
    ),
    (
        "must be an array of amenity words, got {}",
        "应为设施词语的数组，收到 {}",
    ),
    ("expected one of {}, got {}", "应为以下之一：{}，收到 {}"),
    (
        "'{}' is not a date (YYYY-MM-DD)",
        "“{}”不是日期（年-月-日，YYYY-MM-DD）",
    ),
    (
        "'{}' contradicts the file name's layer '{}'",
        "“{}”与文件名所指图层“{}”不符",
    ),
    (
        "unknown property (see geodata/README.md)",
        "未知属性（见 geodata/README.md）",
    ),
    (
        "only fitness stations have a grade",
        "只有职工健身驿站有等级",
    ),
    (
        "{} is more than the park's {} enterprises",
        "{} 多于园区的企业数 {}",
    ),
    (
        "{} is more than the park's {} workers",
        "{} 多于园区的职工数 {}",
    ),
    (
        "{} contradicts the enterprise counts, which give {}",
        "{} 与企业数不符，按企业数应为 {}",
    ),
    (
        "unknown amenity '{}' (see geodata/README.md for the vocabulary)",
        "未知设施“{}”（词表见 geodata/README.md）",
    ),
    (
        "unknown amenities '{}' (see geodata/README.md)",
        "未知设施“{}”（词表见 geodata/README.md）",
    ),
    ("unknown layer '{}' (known: {})", "未知图层“{}”（可用：{}）"),
    (
        "cannot parse opening_hours '{}': {}",
        "无法读取开放时间“{}”：{}",
    ),
    ("expected \"Feature\"", "应为 \"Feature\""),
    (
        "feature id {} differs from properties.id",
        "要素 id {} 与 properties.id 不同",
    ),
    (
        "duplicate id (ids must be unique across all layers and files)",
        "id 重复（所有图层和文件中 id 须唯一）",
    ),
    ("must be a Point: {}", "应为 Point（点）：{}"),
    (
        "must be a Point, Polygon or MultiPolygon: {}",
        "应为 Point、Polygon 或 MultiPolygon：{}",
    ),
    ("a facility must be a Point", "设施的几何应为 Point（点）"),
    (
        "a position needs [lon, lat], got {} numbers",
        "坐标应为 [经度, 纬度]，收到 {} 个数",
    ),
    (
        "a polygon ring needs at least 4 positions, first equal to last",
        "多边形的环至少需要 4 个坐标，且首尾相同",
    ),
    ("a polygon needs a ring", "多边形至少需要一个环"),
    ("the polygon has no area", "多边形面积为零"),
    // Coordinates (src/model/position.rs).
    ("{} must be a finite number", "{} 应为有限的数"),
    (
        "latitude {} is outside -90..90 (longitude and latitude look swapped: GeoJSON order is [lon, lat])",
        "纬度 {} 超出 -90..90（经纬度似乎写反了：GeoJSON 的顺序是 [经度, 纬度]）",
    ),
    ("latitude {} is outside -90..90", "纬度 {} 超出 -90..90"),
    (
        "longitude {} is outside -180..180",
        "经度 {} 超出 -180..180",
    ),
    // Query parameters (src/http/params.rs).
    ("unknown parameter", "未知参数"),
    ("given more than once", "重复给出"),
    (
        "is empty: give a value, or leave the parameter out",
        "为空：请给出值，或省略此参数",
    ),
    ("'{}' is not a number", "“{}”不是数"),
    ("'{}' is not a whole number", "“{}”不是整数"),
    (
        "must be a finite number (not NaN or infinity)",
        "应为有限的数（不能是 NaN 或无穷大）",
    ),
    (
        "must be between {} and {}, got {}",
        "应在 {} 到 {} 之间，收到 {}",
    ),
    ("must be more than 0 metres, got {}", "应大于 0 米，收到 {}"),
    ("'{}' is not true or false", "“{}”不是 true 或 false"),
    ("has an empty item", "含有空项"),
    ("is required (WGS-84 degrees)", "必填（WGS-84 度）"),
    (
        "'{}' is not four finite numbers minlon,minlat,maxlon,maxlat",
        "“{}”不是四个有限的数 minlon,minlat,maxlon,maxlat",
    ),
    (
        "minlat {} is north of maxlat {}",
        "minlat {} 在 maxlat {} 以北",
    ),
    (
        "'{}' is not an RFC 3339 time such as 2026-11-23T20:00:00+08:00",
        "“{}”不是 RFC 3339 时间，例如 2026-11-23T20:00:00+08:00",
    ),
    // Siting bodies (src/http/coverage/siting.rs).
    (
        "is required (driver_home, courier_station, fitness_station)",
        "必填（driver_home、courier_station、fitness_station）",
    ),
    ("a whole number from {} to {}", " {} 到 {} 的整数"),
    ("a number of metres", "以米计的数"),
    ("a string", "文本"),
    ("a non-empty string", "非空文本"),
    (
        "[minlon, minlat, maxlon, maxlat]",
        " [minlon, minlat, maxlon, maxlat]",
    ),
    (
        "a list of none, partial, full",
        " none、partial、full 的列表",
    ),
    (
        "names no status: give none, partial or full, or leave it out",
        "没有给出状态：请给出 none、partial 或 full，或省略此项",
    ),
    (
        "radius must be more than 0 and at most {} metres, got {}",
        "半径应大于 0 且不超过 {} 米，收到 {}",
    ),
    ("unknown field ({})", "未知字段（可用：{}）"),
    ("unknown field (known: {})", "未知字段（可用：{}）"),
    ("must be a JSON object ({})", "应为 JSON 对象（{}）"),
    ("must be a JSON object", "应为 JSON 对象"),
    ("not JSON: {}", "不是 JSON：{}"),
    ("must be an array of Features", "应为 Feature 的数组"),
    ("{} features; at most {}", "{} 个要素；最多 {} 个"),
    ("must be a Point", "应为 Point（点）"),
    (
        "coordinates must be [lon, lat] numbers",
        "坐标应为 [经度, 纬度] 两个数",
    ),
    ("coordinates must be [lon, lat]", "坐标应为 [经度, 纬度]"),
    (
        "must be a whole number (an H3 resolution from 4 to 8)",
        "应为整数（H3 分辨率 4 到 8）",
    ),
    // Routes (src/route, src/http/along.rs).
    (
        "a GeoJSON LineString, an encoded polyline or 'lon,lat;lon,lat;…'",
        "应为 GeoJSON LineString、编码折线或“经度,纬度;经度,纬度;…”",
    ),
    (
        "needs depart (and speed_kmh, default 60)",
        "需要 depart（以及 speed_kmh，默认 60）",
    ),
    ("needs depart", "需要 depart"),
    (
        "resolution must be between {} and {}, got {}",
        "分辨率应在 {} 到 {} 之间，收到 {}",
    ),
    (
        "{} vertices; at most {} (simplify the route)",
        "{} 个点；最多 {} 个（请简化路线）",
    ),
    ("needs at least two points", "至少需要两个点"),
    ("{} km long; at most {} km", "长 {} 公里；最多 {} 公里"),
    ("not GPX: {}", "不是 GPX：{}"),
    ("the Feature has no geometry", "该 Feature 没有几何"),
    ("not a GeoJSON geometry: {}", "不是 GeoJSON 几何：{}"),
    ("'{}' is not 'lon,lat'", "“{}”不是“经度,纬度”"),
    (
        "not an encoded polyline (byte {} at {})",
        "不是编码折线（字节 {}，位置 {}）",
    ),
    (
        "{}: an encoded polyline has precision 5 or 6",
        "{}：编码折线的精度为 5 或 6",
    ),
    ("{} is outside {}..={}", "{} 超出 {}..={}"),
    (
        "'{}' is not an RFC 3339 instant: {}",
        "“{}”不是 RFC 3339 时刻：{}",
    ),
    // Imports: rows (src/import/convert.rs, text.rs), as `field: reason` items.
    ("missing ({} is empty)", "缺失（{}为空）"),
    ("missing", "缺失"),
    (
        "duplicate: row {} has the same id '{}'",
        "重复：第 {} 行的 id 同为“{}”",
    ),
    (
        "duplicate: row {} has the same name {} m away",
        "重复：第 {} 行名称相同，相距 {} 米",
    ),
    (
        "is a {}: only Point features can be imported",
        "是 {}：只能导入 Point（点）要素",
    ),
    ("{} '{}' is not a number", "{}“{}”不是数字"),
    ("{} '{}' is not a whole number", "{}“{}”不是整数"),
    ("{} '{}' is negative", "{}“{}”是负数"),
    ("{} '{}' is too large", "{}“{}”太大"),
    (
        "{} '{}' is not 'lon,lat' (e.g. 118.35,35.10)",
        "{}“{}”不是“经度,纬度”（例如 118.35,35.10）",
    ),
    (
        "(0, 0) is not a position (an empty cell exported as 0?)",
        "(0, 0) 不是有效位置（空单元格被导出成了 0？）",
    ),
    (
        "looks swapped: 经度 should be ~73..135 in China and 纬度 ~18..54 (got 经度 {}, 纬度 {})",
        "经纬度似乎写反了：在中国经度约为 73..135，纬度约为 18..54（收到经度 {}，纬度 {}）",
    ),
    (
        "({}, {}) is far outside China (73..135°E, 18..54°N); accepted, check it",
        "({}, {}) 远在中国境外（东经 73..135°，北纬 18..54°）；已接受，请核对",
    ),
    (
        "{} not in the vocabulary; kept in amenities_unrecognised",
        "{} 不在设施词表中；已保存在 amenities_unrecognised",
    ),
    (
        "'{}' not understood; kept in opening_hours_text (write it as e.g. 周一至周五 9:00-18:00 or Mo-Fr 09:00-18:00)",
        "无法识别“{}”；已原样保存在 opening_hours_text（请写成例如 周一至周五 9:00-18:00 或 Mo-Fr 09:00-18:00）",
    ),
    (
        "'{}' is not 简易型, 常规型 or 综合型; kept in notes",
        "“{}”不是 简易型、常规型 或 综合型；已记入备注（notes）",
    ),
    (
        "'{}' is not 未建会, 部分建会 or 已建会; kept in notes",
        "“{}”不是 未建会、部分建会 或 已建会；已记入备注（notes）",
    ),
    (
        "'{}' is not a park type we know; kept in notes",
        "“{}”不是已知的园区类型；已记入备注（notes）",
    ),
    (
        "'{}' is {}; stored as {}, noted in notes",
        "“{}”是{}；按 {} 保存，已记入备注（notes）",
    ),
    ("a lower bound", "下限"),
    ("approximate", "约数"),
    (
        "'{}' gives the year only, not the day",
        "“{}”只有年份，没有日期",
    ),
    (
        "'{}' has no day (YYYY-MM-DD)",
        "“{}”没有日（年-月-日，YYYY-MM-DD）",
    ),
    ("{}; kept in notes", "{}；已记入备注（notes）"),
    (
        "{} {} is more than the park's {} enterprises ({})",
        "{} {} 多于园区的企业数 {}（{}）",
    ),
    (
        "{} {} is more than the park's {} workers ({})",
        "{} {} 多于园区的职工数 {}（{}）",
    ),
    (
        "{} says {} but the enterprise counts give {}",
        "{}为 {}，但按企业数应为 {}",
    ),
    // Imports: what the registry adds (src/registry/import.rs, edit.rs).
    (
        "this token may import features of {} only",
        "此令牌只能导入{}的要素",
    ),
    ("id '{}' belongs to another layer", "id“{}”属于另一个图层"),
    (
        "feature id '{}' differs from properties.id '{}'",
        "要素 id“{}”与 properties.id“{}”不同",
    ),
    (
        "'{}' differs from the id in the address, '{}'",
        "“{}”与地址中的 id“{}”不同",
    ),
    (
        "is required (driver_home, courier_station, fitness_station or park)",
        "必填（driver_home、courier_station、fitness_station 或 park）",
    ),
    ("must be an object", "应为对象"),
    (
        "the body must be a GeoJSON Feature object",
        "请求体应为 GeoJSON Feature 对象",
    ),
    // Imports: a whole file refused (src/import/mod.rs) and the route's parameters.
    ("cannot read the file as {}: {}", "无法按 {} 读取文件：{}"),
    ("sheet '{}': {}", "工作表“{}”：{}"),
    ("invalid UTF-16", "不是有效的 UTF-16"),
    (
        "the text is neither UTF-8 nor GBK/GB18030: save it as CSV UTF-8",
        "文本既不是 UTF-8 也不是 GBK/GB18030：请另存为“CSV UTF-8”",
    ),
    (
        "no sheet named '{}' (the workbook has: {})",
        "没有名为“{}”的工作表（工作簿中有：{}）",
    ),
    (
        "no header row: the sheet is empty",
        "没有表头行：工作表是空的",
    ),
    (
        "no name column: expected a header such as 名称, 站点名称 or name, or --map name=… (the headers are: {})",
        "没有名称列：表头应为 名称、站点名称 或 name 等，或用 --map name=… 指定（现有表头：{}）",
    ),
    (
        "no coordinate columns: expected 经度 and 纬度 (lon, lat) or one 经纬度 column (lonlat), or --map lon=…,lat=… (the headers are: {})",
        "没有坐标列：表头应为 经度 和 纬度（lon、lat）或一列 经纬度（lonlat），或用 --map lon=…,lat=… 指定（现有表头：{}）",
    ),
    ("--map: {}", "--map：{}"),
    (
        "'{}' is not key=header (e.g. name=站点名称)",
        "“{}”不是 键=表头 的形式（例如 name=站点名称）",
    ),
    ("'{}' names no column", "“{}”没有指明列"),
    ("{} is mapped twice", "{} 被指定了两次"),
    (
        "unknown column key '{}' (known: {})",
        "未知的列键“{}”（可用：{}）",
    ),
    (
        "{}: the sheet has no column '{}' (its columns: {})",
        "{}：工作表没有“{}”列（现有列：{}）",
    ),
    (
        "unknown coordinate system '{}' (wgs84, cgcs2000, gcj02, bd09)",
        "未知坐标系“{}”（wgs84、cgcs2000、gcj02、bd09）",
    ),
    ("cannot write the report: {}", "无法生成报告：{}"),
    (
        "is required (driver_home, courier_station, fitness_station, park)",
        "必填（driver_home、courier_station、fitness_station、park）",
    ),
    (
        "is required (wgs84, cgcs2000, gcj02, bd09): Amap is gcj02, Baidu bd09",
        "必填（wgs84、cgcs2000、gcj02、bd09）：高德为 gcj02，百度为 bd09",
    ),
    (
        "a layer (driver_home, courier_station, fitness_station, park)",
        "图层（driver_home、courier_station、fitness_station、park）",
    ),
    (
        "a coordinate system (wgs84, cgcs2000, gcj02, bd09)",
        "坐标系（wgs84、cgcs2000、gcj02、bd09）",
    ),
    (
        "send the file as xlsx (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), csv (text/csv) or GeoJSON (application/geo+json), name it with file_name=, or upload it as multipart/form-data",
        "请以 xlsx（application/vnd.openxmlformats-officedocument.spreadsheetml.sheet）、csv（text/csv）或 GeoJSON（application/geo+json）发送文件，或用 file_name= 给出文件名，或以 multipart/form-data 上传",
    ),
    (
        "the multipart body has no file (send it in a field named file)",
        "multipart 请求体中没有文件（请放在名为 file 的字段中）",
    ),
    (
        "the multipart body cannot be read: {}",
        "无法读取 multipart 请求体：{}",
    ),
    ("no import {}", "没有编号为 {} 的导入"),
    // Tokens, origins, versions (src/http/edits.rs, src/registry).
    (
        "this needs a token: Authorization: Bearer <token> (waystation token create)",
        "需要令牌：Authorization: Bearer <令牌>（用 `waystation token create` 创建）",
    ),
    ("the token is unknown or revoked", "令牌无效或已被吊销"),
    (
        "writes are accepted from this server's own pages only, not from {}",
        "只接受本服务器自身页面发来的写入，不接受来自 {} 的写入",
    ),
    (
        "the token '{}' may edit features of {} only",
        "令牌“{}”只能编辑{}的要素",
    ),
    (
        "the token '{}' may handle reports of {} only",
        "令牌“{}”只能处理{}的报告",
    ),
    (
        "feature '{}' has changed: If-Match {} is not its current ETag {}",
        "要素“{}”已被修改：If-Match {} 不是其当前的 ETag {}",
    ),
    (
        "a feature with id '{}' exists already",
        "id 为“{}”的要素已存在",
    ),
    (
        "feature '{}' has changed since it was read",
        "要素“{}”在读取后已被修改",
    ),
    (
        "feature '{}' has no history entry {}",
        "要素“{}”没有第 {} 条历史记录",
    ),
    ("the body could not be read: {}", "无法读取请求体：{}"),
    ("the body is not JSON: {}", "请求体不是 JSON：{}"),
    (
        "'{}': a PATCH body is application/merge-patch+json",
        "“{}”：PATCH 的请求体应为 application/merge-patch+json",
    ),
    (
        "this server serves a data directory read-only: start it with a database (`waystation serve --db waystation.db`, or with no --data) to edit",
        "本服务器以只读方式提供数据目录：要编辑，请带数据库启动（`waystation serve --db waystation.db`，或不加 --data）",
    ),
    ("method not allowed", "此地址不接受该请求方法"),
    ("Method Not Allowed", "此地址不接受该请求方法"),
    ("no such route", "没有这个地址"),
    ("Not Found", "未找到"),
    (
        "Expected request with `Content-Type: application/json`",
        "请求应带 `Content-Type: application/json`",
    ),
    ("Unsupported Media Type", "不支持的媒体类型"),
    (
        "the request target (path and query string) is longer than {} bytes; send fewer or shorter parameters",
        "请求地址（路径和查询串）超过 {} 字节；请减少参数或缩短参数",
    ),
    (
        "the request's header fields are larger than {} bytes; send fewer or shorter headers",
        "请求头超过 {} 字节；请减少或缩短请求头",
    ),
    ("no report '{}'", "没有编号为“{}”的报告"),
    ("no report {}", "没有编号为 {} 的报告"),
    // Station pages and reports (src/http/station.rs), search, tiles.
    (
        "must be a host name or address with an optional port (letters, digits, '.', ':', '-', '[', ']')",
        "应为主机名或地址，可带端口（字母、数字、'.'、':'、'-'、'['、']'）",
    ),
    (
        "must be a host name or address with an optional port",
        "应为主机名或地址，可带端口",
    ),
    (
        "the page's URL cannot be a QR code: {}",
        "该页面地址无法生成二维码：{}",
    ),
    (
        "is required (closed, wrong_hours, wrong_place, other)",
        "必填（closed、wrong_hours、wrong_place、other）",
    ),
    (
        "is {} characters long; at most {}",
        "长 {} 个字符；最多 {} 个",
    ),
    (
        "the body is a JSON object: {\"kind\": …, \"note\": …}",
        "请求体应为 JSON 对象：{\"kind\": …, \"note\": …}",
    ),
    ("unknown field (kind, note)", "未知字段（可用：kind、note）"),
    ("must be a string", "应为文本"),
    (
        "'{}': send application/json or application/x-www-form-urlencoded",
        "“{}”：请发送 application/json 或 application/x-www-form-urlencoded",
    ),
    (
        "'{}': open, closed or all",
        "“{}”：应为 open、closed 或 all",
    ),
    (
        "is required: what to search for, 1 to {} characters",
        "必填：要搜索的内容，1 到 {} 个字符",
    ),
    (
        "is required with lon: give both or neither",
        "与 lon 一起必填：两者都给或都不给",
    ),
    (
        "is required with lat: give both or neither",
        "与 lat 一起必填：两者都给或都不给",
    ),
    (
        "'{}' is not a zoom from {} to {}",
        "“{}”不是 {} 到 {} 之间的缩放级别",
    ),
    (
        "{} is outside the zoom's tiles (0 to {})",
        "{} 超出该级别的瓦片范围（0 到 {}）",
    ),
    ("'{}' is not a tile {}", "“{}”不是瓦片的 {}"),
    (
        "'{}' should be the row followed by .mvt",
        "“{}”应为行号加 .mvt",
    ),
    ("no such tile", "没有这个瓦片"),
    (
        "'{}' is not a tile frame (wgs84 or gcj02)",
        "“{}”不是瓦片坐标系（wgs84 或 gcj02）",
    ),
    (
        "no tile set document '{}': ask for /tiles/{layers}.json",
        "没有瓦片集文档“{}”：请请求 /tiles/{layers}.json",
    ),
    (
        "a valid Host header is needed for tile URLs",
        "生成瓦片地址需要有效的 Host 请求头",
    ),
    ("malformed query string: {}", "查询串格式错误：{}"),
    // Answers too costly (src/http/handlers.rs, coverage).
    (
        "{} features match; one response holds at most {}: narrow it with bbox= or page with limit= and offset=",
        "匹配 {} 个要素；一次应答最多 {} 个：请用 bbox= 缩小范围，或用 limit= 和 offset= 分页",
    ),
    (
        "{} candidate sites; at most {}: use a coarser h3 resolution or a bbox",
        "{} 个候选点；最多 {} 个：请用更粗的 h3 分辨率或给出 bbox",
    ),
    (
        "{} candidates × {} demand points = {}; at most {}: give a bbox or fewer candidates",
        "{} 个候选点 × {} 个需求点 = {}；最多 {}：请给出 bbox 或减少候选点",
    ),
    (
        "{} {} facilities lie in {}; one catchment request covers at most {}: give a smaller bbox",
        "{} 个 {} 设施位于{}；一次服务范围请求最多 {} 个：请给出更小的 bbox",
    ),
    (
        "{} holds {} non-empty H3 cells at res={}; one answer holds at most {}: give a smaller bbox or use res={}",
        "{}有 {} 个非空 H3 格（res={}）；一次应答最多 {} 个：请给出更小的 bbox 或用 res={}",
    ),
    ("the bbox", "该 bbox 内"),
    ("the whole data (no bbox given)", "全部数据（未给出 bbox）"),
    // Answers axum writes (rejections, see problem::problem_for_every_error).
    ("Invalid URL: {}", "地址无效：{}"),
    ("Cannot parse `{}` to a `{}`", "无法把 `{}` 解析为 `{}`"),
    (
        "Failed to parse the request body as JSON: {}",
        "请求体不是有效的 JSON：{}",
    ),
    (
        "Failed to deserialize the JSON body into the target type: {}",
        "JSON 请求体与要求的结构不符：{}",
    ),
    (
        "Failed to buffer the request body: {}",
        "无法读取请求体：{}",
    ),
    ("length limit exceeded", "超过长度上限"),
    // Messages of the readers underneath (calamine, geojson, serde_json), nested in ours.
    ("Cannot detect file format", "无法识别文件格式"),
    (
        "Error while deserializing GeoJSON: {}",
        "GeoJSON 解析出错：{}",
    ),
    (
        "unknown variant `{}`, expected one of {} at line {} column {}",
        "未知的类型 `{}`，应为以下之一：{}（第 {} 行第 {} 列）",
    ),
    (
        "unknown variant `{}`, expected one of {}",
        "未知的类型 `{}`，应为以下之一：{}",
    ),
    (
        "missing field `{}` at line {} column {}",
        "缺少字段 `{}`（第 {} 行第 {} 列）",
    ),
    (
        "invalid type: {}, expected {} at line {} column {}",
        "类型不对：收到 {}，应为 {}（第 {} 行第 {} 列）",
    ),
    (
        "expected value at line {} column {}",
        "第 {} 行第 {} 列处应为一个值",
    ),
    (
        "EOF while parsing {} at line {} column {}",
        "解析{}时内容意外结束（第 {} 行第 {} 列）",
    ),
    (
        "trailing characters at line {} column {}",
        "第 {} 行第 {} 列后有多余字符",
    ),
    (
        "key must be a string at line {} column {}",
        "第 {} 行第 {} 列：键应为字符串",
    ),
    ("a value", "值"),
    ("a list", "列表"),
    ("an object", "对象"),
    // The OGC API (src/http/ogc/**).
    (
        "no collection '{}' (driver_home, courier_station, fitness_station, park)",
        "没有集合“{}”（driver_home、courier_station、fitness_station、park）",
    ),
    (
        "no feature '{}' in the collection {}",
        "没有要素“{}”（集合 {}）",
    ),
    (
        "'{}' is not a format of this server (json, html)",
        "“{}”不是本服务器提供的格式（json、html）",
    ),
    (
        "'{}' is not offered: this server serves {} (the default) and {}",
        "不提供“{}”：本服务器提供 {}（默认）和 {}",
    ),
    (
        "'{}' is not four (or six) numbers {}",
        "“{}”不是四个（或六个）数 {}",
    ),
    (
        "minlat,minlon,maxlat,maxlon (bbox-crs is latitude first)",
        "minlat,minlon,maxlat,maxlon（bbox-crs 为纬度在前）",
    ),
    (
        "'{}' is not a whole number of at least 1",
        "“{}”不是大于等于 1 的整数",
    ),
    (
        "'{}' is not a date (2024-01-01) or an RFC 3339 date-time (2024-01-01T08:00:00Z)",
        "“{}”不是日期（2024-01-01）或 RFC 3339 日期时间（2024-01-01T08:00:00Z）",
    ),
    (
        "an interval needs at least one end ('../..' is everything: leave datetime out)",
        "时间区间至少需要一端（“../..”表示全部：请省略 datetime）",
    ),
    (
        "the interval '{}' ends before it starts",
        "时间区间“{}”的结束早于开始",
    ),
    (
        "is not a queryable of {} (see /ogc/collections/{}/queryables)",
        "不是 {} 的可查询属性（见 /ogc/collections/{}/queryables）",
    ),
    ("'{}' is not one of {}", "“{}”不是以下之一：{}"),
    ("'{}' is not a date YYYY-MM-DD", "“{}”不是日期 YYYY-MM-DD"),
    (
        "'{}' is not offered (cql2-text, the default, or cql2-json)",
        "不提供“{}”（可用 cql2-text（默认）或 cql2-json）",
    ),
    ("is not valid cql2-json: {}", "不是有效的 cql2-json：{}"),
    ("is not valid cql2-text: {}", "不是有效的 cql2-text：{}"),
    (
        "nests {} levels of brackets: at most {} are taken",
        "括号嵌套 {} 层：最多 {} 层",
    ),
    (
        "has {} AND, OR and NOT: at most {} are taken",
        "含 {} 个 AND、OR 和 NOT：最多 {} 个",
    ),
    (
        "case- and accent-insensitive comparison is not offered",
        "不提供忽略大小写和重音的比较",
    ),
    (
        "of the spatial functions only S_INTERSECTS is offered",
        "空间函数只提供 S_INTERSECTS",
    ),
    (
        "temporal functions are not offered: compare updated with DATE('2024-01-01')",
        "不提供时间函数：请用 updated 与 DATE('2024-01-01') 比较",
    ),
    (
        "array functions are not offered (the amenities parameter filters on amenities)",
        "不提供数组函数（按设施筛选请用 amenities 参数）",
    ),
    ("arithmetic is not offered", "不提供算术运算"),
    (
        "'{}' is not a function of this server",
        "“{}”不是本服务器提供的函数",
    ),
    ("{} needs operands", "{} 需要操作数"),
    (
        "IS NULL takes a queryable, not {}",
        "IS NULL 的操作数应为可查询属性，而不是 {}",
    ),
    (
        "BETWEEN takes three operands, not {}",
        "BETWEEN 需要三个操作数，而不是 {} 个",
    ),
    ("IN takes a list, not {}", "IN 的操作数应为列表，而不是 {}"),
    ("IN needs at least one value", "IN 至少需要一个值"),
    (
        "'{}' alone is not a condition: compare it with a literal (e.g. {} = …)",
        "单独的“{}”不是条件：请与字面值比较（例如 {} = …）",
    ),
    ("{} is not a condition", "{} 不是条件"),
    (
        "{} takes one operand, not {}",
        "{} 需要一个操作数，而不是 {} 个",
    ),
    (
        "{} takes two operands, not {}",
        "{} 需要两个操作数，而不是 {} 个",
    ),
    (
        "'{}' is a queryable of other layers, not of {} (queryables: {})",
        "“{}”是其他图层的可查询属性，不属于 {}（可查询属性：{}）",
    ),
    (
        "'{}' is not a queryable of {} (queryables: {})",
        "“{}”不是 {} 的可查询属性（可查询属性：{}）",
    ),
    (
        "comparing two properties ({}, {}) is not offered: compare a queryable with a literal",
        "不提供两个属性（{}、{}）之间的比较：请用可查询属性与字面值比较",
    ),
    (
        "{} and {} are both literals: compare a queryable with a literal",
        "{} 和 {} 都是字面值：请用可查询属性与字面值比较",
    ),
    (
        "'{}' is a geometry: use S_INTERSECTS({}, …), not a comparison",
        "“{}”是几何：请用 S_INTERSECTS({}, …)，而不是比较",
    ),
    (
        "'{}' is {}, and {} is not: compare it with {}",
        "“{}”是{}，而 {} 不是：请与 {} 比较",
    ),
    ("a boolean", "布尔值"),
    ("a number", "数"),
    ("a date", "日期"),
    ("a string literal such as 'abc'", "文本字面值，例如 'abc'"),
    ("true or false", "true 或 false"),
    (
        "a date literal such as DATE('2024-01-01')",
        "日期字面值，例如 DATE('2024-01-01')",
    ),
    ("nothing", "任何值"),
    (
        "DATE takes a string, not {}",
        "DATE 的参数应为文本，而不是 {}",
    ),
    (
        "'{}' is an array: comparisons and the array functions are not offered (the amenities parameter filters on amenities)",
        "“{}”是数组：不提供比较和数组函数（按设施筛选请用 amenities 参数）",
    ),
    (
        "LIKE takes a queryable and a string pattern, not {} and {}",
        "LIKE 需要一个可查询属性和一个文本模式，而不是 {} 和 {}",
    ),
    (
        "'{}' is not text: LIKE compares text queryables with a pattern",
        "“{}”不是文本：LIKE 只比较文本类可查询属性与模式",
    ),
    (
        "'{}' is not a geometry: S_INTERSECTS takes '{}' and a geometry literal",
        "“{}”不是几何：S_INTERSECTS 需要“{}”和一个几何字面值",
    ),
    (
        "S_INTERSECTS takes '{}' once and a geometry literal",
        "S_INTERSECTS 需要“{}”（一次）和一个几何字面值",
    ),
    (
        "S_INTERSECTS({}, {}) names no property: one operand must be '{}'",
        "S_INTERSECTS({}, {}) 没有指明属性：其中一个操作数应为“{}”",
    ),
    ("a coordinate is not a finite number", "坐标不是有限的数"),
    (
        "({}, {}) is not a longitude in [-180, 180] and a latitude in [-90, 90]",
        "({}, {}) 不是 [-180, 180] 内的经度和 [-90, 90] 内的纬度",
    ),
    (
        "{} is not a BBOX of four (or six) numbers",
        "{} 不是由四个（或六个）数组成的 BBOX",
    ),
    (
        "the BBOX's south {} is north of its north {}",
        "BBOX 的南边界 {} 在其北边界 {} 以北",
    ),
    (
        "{} is not a geometry literal (BBOX(…), POINT(…), POLYGON(…), … or GeoJSON)",
        "{} 不是几何字面值（BBOX(…)、POINT(…)、POLYGON(…)、… 或 GeoJSON）",
    ),
    ("{} is not a usable geometry: {}", "{} 不是可用的几何：{}"),
    // Whole answers (details of src/http/problem.rs and the handlers).
    ("the data is still loading", "数据仍在加载，请稍后再试"),
    ("no feature with id '{}'", "没有 id 为“{}”的要素"),
    ("the body is larger than {} bytes", "请求体超过 {} 字节"),
    (
        "too many failed authentications from this address; retry in {} s",
        "此地址认证失败次数过多，请 {} 秒后再试",
    ),
    (
        "the server failed to answer; the cause has been logged",
        "服务器未能应答，原因已记入日志",
    ),
    // Generic forms, last: the specific ones above win.
    ("'{}' is not {}", "“{}”不是 {}"),
    ("must be {}, got {}", "应为{}，收到 {}"),
    ("unknown {} '{}' ({})", "未知的 {}“{}”（可用：{}）"),
    ("point {}: {}", "第 {} 个点：{}"),
    ("'{}': {}", "“{}”：{}"),
];

/// Chinese titles of the statuses problems are answered with.
pub(super) fn title(status: u64) -> Option<&'static str> {
    Some(match status {
        400 => "请求有误",
        401 => "未认证",
        403 => "无权操作",
        404 => "未找到",
        405 => "不允许的方法",
        409 => "冲突",
        412 => "版本已变",
        413 => "请求体过大",
        414 => "地址过长",
        415 => "不支持的媒体类型",
        422 => "无法处理的内容",
        429 => "请求过多",
        431 => "请求头过大",
        500 => "服务器内部错误",
        503 => "服务暂不可用",
        _ => return None,
    })
}
