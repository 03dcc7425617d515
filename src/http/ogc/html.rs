//! The HTML pages of `/ogc`: plain, readable, bilingual, with no outside assets.
//!
//! Each page is drawn from the same JSON document the JSON answer holds, so it
//! shows everything that answer does, every link included as an `<a>` (what the
//! OGC HTML conformance class asks). Every string from the data goes through
//! [`escape`].

use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::Value;

use super::super::station::escape;
use super::items::segment;
use super::{Base, Format};
use crate::model::{Amenity, Layer};

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;\
margin:0;color:#1d2430;background:#fafbfc}header{background:#b3261e;color:#fff;padding:.6em 1.2em}\
header a{color:#fff}nav.crumbs{font-size:.9em}main{padding:1em 1.2em;max-width:80em}\
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.15em;margin:1.4em 0 .4em}\
table{border-collapse:collapse;background:#fff;font-size:.92em}th,td{border:1px solid #d5d9e0;padding:.25em .5em;\
text-align:left;vertical-align:top}th{background:#eef1f5}.wide{overflow-x:auto}.muted{color:#5b6575}\
.pager a{display:inline-block;margin:.4em .6em .4em 0;padding:.3em .8em;border:1px solid #b3261e;border-radius:4px;\
text-decoration:none;color:#b3261e}code,pre{font-family:ui-monospace,monospace;font-size:.9em}\
pre{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid #d5d9e0;padding:.5em}\
ul.links li{margin:.15em 0}";

/// A whole page: `crumbs` are (path under `/ogc`, label) pairs leading here.
fn page(base: &Base, title: &str, crumbs: &[(String, &str)], body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · 驿站地图 OGC API</title><style>{STYLE}</style></head><body>\
         <header><nav class=\"crumbs\"><a href=\"{}\">驿站地图 OGC API – Features</a>",
        escape(title),
        escape(&base.ogc_f("", Format::Html)),
    );
    for (path, label) in crumbs {
        let _ = write!(
            out,
            " › <a href=\"{}\">{}</a>",
            escape(&base.ogc_f(path, Format::Html)),
            escape(label)
        );
    }
    let _ = writeln!(
        out,
        "</nav></header><main><h1>{}</h1>{body}</main></body></html>",
        escape(title)
    );
    out
}

/// Every link of a document, as a list.
fn links(doc: &Value) -> String {
    let mut out = String::from("<h2>链接 Links</h2><ul class=\"links\">");
    for l in doc["links"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "<li><a href=\"{}\" rel=\"{}\" type=\"{}\">{}</a> <span class=\"muted\">({} · {})</span></li>",
            escape(str_of(&l["href"])),
            escape(str_of(&l["rel"])),
            escape(str_of(&l["type"])),
            escape(str_of(&l["title"])),
            escape(str_of(&l["rel"])),
            escape(str_of(&l["type"])),
        );
    }
    out.push_str("</ul>");
    out
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The order properties are shown in (the GeoJSON's own order; serde_json's
/// maps are sorted by key).
const ORDER: &[&str] = &[
    "id",
    "name",
    "name_en",
    "layer",
    "address",
    "city",
    "district",
    "amenities",
    "opening_hours",
    "phone",
    "operator",
    "grade",
    "park_type",
    "union_status",
    "enterprises",
    "unionised_enterprises",
    "workers",
    "union_members",
    "union_founded",
    "counts_as_of",
    "source",
    "position_accuracy",
    "synthetic",
    "updated",
    "notes",
];

/// Sorts property names into [`ORDER`], unknown ones last.
fn in_order(keys: &mut [&str]) {
    keys.sort_by_key(|k| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
}

/// A property's label in both languages.
fn label(key: &str) -> String {
    let (zh, en) = match key {
        "id" => ("编号", "Id"),
        "layer" => ("图层", "Layer"),
        "name" => ("名称", "Name"),
        "name_en" => ("英文名称", "English name"),
        "address" => ("地址", "Address"),
        "city" => ("城市", "City"),
        "district" => ("区县", "District"),
        "amenities" => ("服务设施", "Amenities"),
        "opening_hours" => ("开放时间", "Opening hours"),
        "phone" => ("电话", "Phone"),
        "operator" => ("运营单位", "Operator"),
        "grade" => ("等级", "Grade"),
        "park_type" => ("园区类型", "Park type"),
        "enterprises" => ("企业数", "Enterprises"),
        "unionised_enterprises" => ("已建会企业数", "Unionised enterprises"),
        "workers" => ("职工数", "Workers"),
        "union_members" => ("会员数", "Union members"),
        "union_status" => ("建会状态", "Union status"),
        "union_founded" => ("建会时间", "Union founded"),
        "counts_as_of" => ("统计日期", "Counts as of"),
        "source" => ("来源", "Source"),
        "position_accuracy" => ("位置精度", "Position accuracy"),
        "synthetic" => ("演示数据", "Synthetic"),
        "updated" => ("更新日期", "Updated"),
        "notes" => ("备注", "Notes"),
        other => return escape(other),
    };
    format!("{zh}<br><span class=\"muted\">{en}</span>")
}

/// A property's value, with the Chinese word for coded values.
fn value(key: &str, v: &Value) -> String {
    match (key, v) {
        (_, Value::Null) => "<span class=\"muted\">—</span>".into(),
        (_, Value::Bool(b)) => if *b { "是 true" } else { "否 false" }.into(),
        (_, Value::Number(n)) => n.to_string(),
        ("union_status", Value::String(s)) => {
            let zh = match s.as_str() {
                "none" => "未建会",
                "partial" => "部分建会",
                "full" => "全部建会",
                _ => "",
            };
            format!("{zh} {}", escape(s))
        }
        ("amenities", Value::Array(items)) => items
            .iter()
            .map(|a| {
                let id = str_of(a);
                match Amenity::from_str(id) {
                    Ok(a) => format!("{}<span class=\"muted\">·{}</span>", a.name_zh(), a.id()),
                    Err(_) => escape(id),
                }
            })
            .collect::<Vec<_>>()
            .join("、"),
        (_, Value::String(s)) => escape(s),
        (_, Value::Array(items)) => items
            .iter()
            .map(|i| value("", i))
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => format!("<code>{}</code>", escape(&other.to_string())),
    }
}

/// A geometry: a point's coordinates, or the shape's GeoJSON.
fn geometry(g: &Value) -> String {
    match (str_of(&g["type"]), g["coordinates"].as_array()) {
        ("Point", Some(c)) => format!(
            "{}, {}",
            c.first().map(Value::to_string).unwrap_or_default(),
            c.get(1).map(Value::to_string).unwrap_or_default()
        ),
        (kind, _) => format!(
            "<details><summary>{}</summary><pre>{}</pre></details>",
            escape(kind),
            escape(&g.to_string())
        ),
    }
}

fn layer_title(layer: Layer) -> String {
    format!("{} · {}", layer.name_zh(), layer.name_en())
}

/// A table of the collections: name, count, extent, onward links.
fn collection_table(base: &Base, collections: &Value, counts: &[usize; 4]) -> String {
    let mut out = String::from(
        "<table><tr><th>数据集<br><span class=\"muted\">Collection</span></th>\
         <th>要素数<br><span class=\"muted\">Features</span></th>\
         <th>范围<br><span class=\"muted\">Extent (CRS84)</span></th>\
         <th>更新日期<br><span class=\"muted\">Updated</span></th><th></th></tr>",
    );
    for (c, count) in collections.as_array().into_iter().flatten().zip(counts) {
        let id = str_of(&c["id"]);
        let bbox = c["extent"]["spatial"]["bbox"][0]
            .as_array()
            .map(|b| {
                b.iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let interval = c["extent"]["temporal"]["interval"][0]
            .as_array()
            .map(|i| {
                i.iter()
                    .map(|t| str_of(t).get(..10).unwrap_or("").to_owned())
                    .collect::<Vec<_>>()
                    .join(" – ")
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><a href=\"{}\">{}</a><br><span class=\"muted\">{}</span></td><td>{count}</td><td>{}</td>\
             <td>{}</td><td><a href=\"{}\">要素 Items</a> · <a href=\"{}\">可查询属性 Queryables</a></td></tr>",
            escape(&base.ogc_f(&format!("/collections/{id}"), Format::Html)),
            escape(str_of(&c["title"])),
            escape(id),
            escape(&bbox),
            escape(&interval),
            escape(&base.ogc(&format!("/collections/{id}/items?limit=100&f=html"))),
            escape(&base.ogc_f(&format!("/collections/{id}/queryables"), Format::Html)),
        );
    }
    out.push_str("</table>");
    out
}

/// The landing page.
pub fn landing(base: &Base, doc: &Value, collections: &Value, counts: &[usize; 4]) -> String {
    let mut body = format!("<p>{}</p>", escape(str_of(&doc["description"])));
    body.push_str("<h2>数据集 Collections</h2>");
    body.push_str(&collection_table(base, collections, counts));
    let _ = write!(
        body,
        "<h2>在 QGIS 或 GDAL 中使用 · Use in QGIS or GDAL</h2>\
         <p>QGIS：图层 › 添加图层 › 添加 WFS / OGC API – Features 图层，地址填 <code>{0}</code>。<br>\
         QGIS: Layer › Add Layer › Add WFS / OGC API – Features Layer, with the URL <code>{0}</code>.</p>\
         <pre>ogrinfo -so OAPIF:{0}\nogr2ogr -f GPKG park.gpkg OAPIF:{0} park</pre>",
        escape(&base.ogc("")),
    );
    body.push_str(&links(doc));
    page(base, str_of(&doc["title"]), &[], &body)
}

/// The conformance classes.
pub fn conformance(base: &Base, doc: &Value) -> String {
    let mut body =
        String::from("<p>本服务符合以下标准类。This server conforms to these classes:</p><ul>");
    for c in doc["conformsTo"].as_array().into_iter().flatten() {
        let _ = write!(body, "<li><a href=\"{0}\">{0}</a></li>", escape(str_of(c)));
    }
    body.push_str("</ul>");
    body.push_str(&links(doc));
    page(
        base,
        "符合的标准类 Conformance",
        &[("/conformance".into(), "Conformance")],
        &body,
    )
}

/// The collections.
pub fn collections(base: &Base, doc: &Value, counts: &[usize; 4]) -> String {
    let mut body = collection_table(base, &doc["collections"], counts);
    body.push_str(&links(doc));
    page(
        base,
        "数据集 Collections",
        &[("/collections".into(), "数据集 Collections")],
        &body,
    )
}

/// One collection.
pub fn collection(base: &Base, layer: Layer, doc: &Value, count: usize) -> String {
    let mut body = format!(
        "<p>{}</p><table><tr><th>编号 Id</th><td><code>{}</code></td></tr>\
         <tr><th>要素数 Features</th><td>{count}</td></tr>",
        escape(str_of(&doc["description"])),
        escape(str_of(&doc["id"])),
    );
    let spatial = &doc["extent"]["spatial"];
    if let Some(b) = spatial["bbox"][0].as_array() {
        let _ = write!(
            body,
            "<tr><th>空间范围 Spatial extent</th><td>{}<br><span class=\"muted\">{}</span></td></tr>",
            escape(
                &b.iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            escape(str_of(&spatial["crs"])),
        );
    }
    if let Some(i) = doc["extent"]["temporal"]["interval"][0].as_array() {
        let _ = write!(
            body,
            "<tr><th>时间范围 Temporal extent</th><td>{}</td></tr>",
            escape(
                &i.iter()
                    .map(|t| str_of(t).to_owned())
                    .collect::<Vec<_>>()
                    .join(" – ")
            ),
        );
    }
    let _ = write!(
        body,
        "<tr><th>要素类型 Item type</th><td>{}</td></tr><tr><th>坐标系 CRS</th><td>{}</td></tr></table>\
         <p class=\"pager\"><a href=\"{}\">浏览要素 Browse the features</a>\
         <a href=\"{}\">可查询属性 Queryables</a></p>",
        escape(str_of(&doc["itemType"])),
        escape(
            &doc["crs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| str_of(c).to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        escape(&base.ogc(&format!("/collections/{layer}/items?limit=100&f=html"))),
        escape(&base.ogc_f(&format!("/collections/{layer}/queryables"), Format::Html)),
    );
    body.push_str(&links(doc));
    let title = layer_title(layer);
    page(
        base,
        &title,
        &[
            ("/collections".into(), "数据集 Collections"),
            (format!("/collections/{layer}"), &title),
        ],
        &body,
    )
}

/// A page of features: counts, pager, one row per feature with every property.
pub fn items(base: &Base, layer: Layer, offset: usize, doc: &Value) -> String {
    let features: &[Value] = doc["features"].as_array().map_or(&[], Vec::as_slice);
    let matched = doc["numberMatched"].as_u64().unwrap_or(0);
    let returned = doc["numberReturned"].as_u64().unwrap_or(0);
    let mut body = if returned == 0 {
        format!(
            "<p>共 {matched} 个要素，本页没有要素。{matched} features match; none on this page.</p>"
        )
    } else {
        format!(
            "<p>共 {matched} 个要素，本页第 {}–{} 个。{matched} features match; this page holds {}–{}.<br>\
             <span class=\"muted\">timeStamp {}</span></p>",
            offset + 1,
            offset as u64 + returned,
            offset + 1,
            offset as u64 + returned,
            escape(str_of(&doc["timeStamp"])),
        )
    };
    let mut pager = String::from("<p class=\"pager\">");
    let page_links = doc["links"].as_array().map_or(&[][..], Vec::as_slice);
    for (rel, text) in [("prev", "‹ 上一页 Previous"), ("next", "下一页 Next ›")] {
        let Some(l) = page_links.iter().find(|l| l["rel"] == rel) else {
            continue;
        };
        let _ = write!(
            pager,
            "<a href=\"{}\" rel=\"{}\">{text}</a>",
            escape(str_of(&l["href"])),
            escape(str_of(&l["rel"]))
        );
    }
    pager.push_str("</p>");
    body.push_str(&pager);
    // Every property any feature of the page has.
    let mut keys: Vec<&str> = Vec::new();
    for f in features {
        for k in f["properties"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
        {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    in_order(&mut keys);
    body.push_str("<div class=\"wide\"><table><tr>");
    for k in &keys {
        let _ = write!(body, "<th>{}</th>", label(k));
    }
    body.push_str("<th>几何<br><span class=\"muted\">Geometry (lon, lat)</span></th></tr>");
    for f in features {
        body.push_str("<tr>");
        for k in &keys {
            let v = &f["properties"][*k];
            if *k == "id" {
                let id = str_of(v);
                let _ = write!(
                    body,
                    "<td><a href=\"{}\">{}</a></td>",
                    escape(&base.ogc_f(
                        &format!("/collections/{layer}/items/{}", segment(id)),
                        Format::Html
                    )),
                    escape(id)
                );
            } else {
                let _ = write!(body, "<td>{}</td>", value(k, v));
            }
        }
        let _ = write!(body, "<td>{}</td></tr>", geometry(&f["geometry"]));
    }
    body.push_str("</table></div>");
    body.push_str(&pager);
    body.push_str(&links(doc));
    let title = layer_title(layer);
    page(
        base,
        &format!("{title} · 要素 Items"),
        &[
            ("/collections".into(), "数据集 Collections"),
            (format!("/collections/{layer}"), &title),
            (
                format!("/collections/{layer}/items?limit=100"),
                "要素 Items",
            ),
        ],
        &body,
    )
}

/// One feature: every property, its geometry, and onward links.
pub fn item(base: &Base, layer: Layer, doc: &Value) -> String {
    let id = str_of(&doc["id"]);
    let name = str_of(&doc["properties"]["name"]);
    let mut body = String::from("<table>");
    let mut keys: Vec<&str> = doc["properties"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .map(String::as_str)
        .collect();
    in_order(&mut keys);
    for k in keys {
        let _ = write!(
            body,
            "<tr><th>{}</th><td>{}</td></tr>",
            label(k),
            value(k, &doc["properties"][k])
        );
    }
    let _ = write!(
        body,
        "<tr><th>几何<br><span class=\"muted\">Geometry (lon, lat)</span></th><td>{}</td></tr></table>\
         <p class=\"pager\"><a href=\"/s/{}\">站点页面 Station page</a></p>",
        geometry(&doc["geometry"]),
        segment(id),
    );
    body.push_str(&links(doc));
    let title = layer_title(layer);
    let heading = if name.is_empty() { id } else { name };
    page(
        base,
        heading,
        &[
            ("/collections".into(), "数据集 Collections"),
            (format!("/collections/{layer}"), &title),
            (format!("/collections/{layer}/items/{}", segment(id)), id),
        ],
        &body,
    )
}

/// The queryables of a layer.
pub fn queryables(base: &Base, layer: Layer, doc: &Value) -> String {
    let mut body = format!(
        "<p>{}</p><table><tr><th>参数 Parameter</th><th>名称 Title</th><th>类型 Type</th><th>取值 Values</th></tr>",
        escape(str_of(&doc["description"]))
    );
    for (name, s) in doc["properties"].as_object().into_iter().flatten() {
        let kind = match (str_of(&s["type"]), str_of(&s["format"])) {
            (t, "") => t.to_owned(),
            (t, f) => format!("{t} ({f})"),
        };
        let values = s["enum"]
            .as_array()
            .or(s["items"]["enum"].as_array())
            .map(|e| {
                e.iter()
                    .map(|v| str_of(v).to_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(str_of(&s["title"])),
            escape(&kind),
            escape(&values)
        );
    }
    let _ = write!(
        body,
        "</table><p>例 Example: <a href=\"{0}\">{0}</a></p>",
        escape(&base.ogc(&format!(
            "/collections/{layer}/items?{}&limit=100&f=html",
            if layer == Layer::Park {
                "union_status=none"
            } else {
                "synthetic=false"
            }
        ))),
    );
    body.push_str(&links(doc));
    let title = layer_title(layer);
    page(
        base,
        &format!("{title} · 可查询属性 Queryables"),
        &[
            ("/collections".into(), "数据集 Collections"),
            (format!("/collections/{layer}"), &title),
            (
                format!("/collections/{layer}/queryables"),
                "可查询属性 Queryables",
            ),
        ],
        &body,
    )
}

/// The API definition: each path with its operation and parameters.
pub fn api(base: &Base, doc: &Value) -> String {
    let components = &doc["components"]["parameters"];
    let mut body = format!(
        "<p>{}</p><p>OpenAPI 3.0 (JSON): <a href=\"{1}\">{1}</a> · 服务地址 Server: <code>{2}</code></p>",
        escape(str_of(&doc["info"]["description"])),
        escape(&base.openapi()),
        escape(str_of(&doc["servers"][0]["url"])),
    );
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let op = &item["get"];
        let _ = write!(
            body,
            "<h2>GET <code>{}</code></h2><p>{}</p>",
            escape(path),
            escape(str_of(&op["summary"]))
        );
        if let Some(d) = op["description"].as_str() {
            let _ = write!(body, "<p class=\"muted\">{}</p>", escape(d));
        }
        body.push_str("<table><tr><th>参数 Parameter</th><th>位置 In</th><th>说明 Description</th><th>模式 Schema</th></tr>");
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = match p["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/parameters/"))
            {
                Some(name) => &components[name],
                None => p,
            };
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape(str_of(&p["name"])),
                escape(str_of(&p["in"])),
                escape(str_of(&p["description"])),
                escape(&p["schema"].to_string()),
            );
        }
        body.push_str("</table><p class=\"muted\">");
        let codes: Vec<&str> = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(c, _)| c.as_str())
            .collect();
        let _ = write!(body, "响应 Responses: {}</p>", escape(&codes.join(", ")));
    }
    page(
        base,
        "接口文档 API definition",
        &[("/api".into(), "API")],
        &body,
    )
}
