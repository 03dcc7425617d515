//! A page for every station, its QR code, a poster for its door, and the public's
//! problem reports.
//!
//! - `GET /s/{id}`: a small server-rendered page, good on a phone and complete
//!   without JavaScript: the name, open now or not (evaluated now, in China time,
//!   with the dataset's schedules), the hours, the amenities as icons with words,
//!   phone, address, the navigation links the API gives, where the record comes
//!   from, and a form to report a problem. Chinese; `?lang=en` English. Open Graph
//!   tags make a shared link show the station's name in chat apps. Parks get a page
//!   too (union status and counts, no report form). Unknown ids: a 404 page.
//!   Other query parameters are ignored, not refused: chat apps append their own
//!   (`from=singlemessage`) to shared links.
//! - `GET /s/{id}/qr.svg`: the QR code of the page's absolute URL, built from the
//!   `Host` header (and `X-Forwarded-Proto`); a malformed `Host` gets 400.
//! - `GET /s/{id}/poster`: an A4 sheet for the station's door: name, hours,
//!   amenities and the QR code, in Chinese and English.
//! - `POST /api/v1/features/{id}/reports`: a report (`kind`, optional `note`), from
//!   the page's form (form-urlencoded: 303 back to the page, which thanks the
//!   sender) or as JSON (201). At most [`REPORT_LIMIT`] per sender per hour, then
//!   429 with `Retry-After`. Read-only servers answer 405 and show no form.
//! - `GET /api/v1/reports?status=open|closed|all&limit=` and
//!   `POST /api/v1/reports/{n}/close`: for editors (the same tokens as edits).
//!
//! Every string that comes from the data is HTML-escaped by [`escape`] (or
//! [`escape_into`]) on its way into a page.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::{Value, json};

use super::AppState;
use super::edits::{self, ClientAddr};
use super::params::Params;
use super::problem::ApiError;
use crate::geodata::FeatureRef;
use crate::geodata::coords::{NavLinks, nav_links};
use crate::index::Atlas;
use crate::model::{
    Amenity, AmenitySet, Facility, Grade, Layer, LonLat, Park, ParkType, PositionAccuracy,
    Provenance, UnionStatus,
};
use crate::registry::REPORT_LIMIT;
use crate::store::{Filed, MAX_NOTE_CHARS, ReportKind, ReportStatus};

/// The largest report body read (a note of 500 characters is at most 2 kB).
const MAX_REPORT_BYTES: usize = 16 << 10;
/// The most reports one listing holds.
const MAX_LISTED: usize = 10_000;

/// The station pages: `/s/{id}`, its QR code and its poster.
pub(super) fn pages() -> Router<Arc<AppState>> {
    Router::new()
        .route("/s/{id}", get(page))
        .route("/s/{id}/qr.svg", get(qr))
        .route("/s/{id}/poster", get(poster))
}

/// The report routes, under `/api/v1`.
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<Arc<AppState>> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(report))
        .routes(utoipa_axum::routes!(reports))
        .routes(utoipa_axum::routes!(close_report))
}

// ---------------------------------------------------------------------------
// Escaping and small HTML helpers

/// Appends `s` to `out` with `&`, `<`, `>`, `"` and `'` escaped: safe in element
/// content and in quoted attribute values.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `s` HTML-escaped (see [`escape_into`]).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// `s` as one URL path segment: unreserved characters kept, every other byte
/// percent-encoded.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The page's language: Chinese unless `lang=en`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn html(self) -> &'static str {
        self.pick("zh-CN", "en")
    }

    /// What to append to a link so that it keeps the language.
    fn query(self, first: bool) -> &'static str {
        match (self, first) {
            (Lang::Zh, _) => "",
            (Lang::En, true) => "?lang=en",
            (Lang::En, false) => "&lang=en",
        }
    }
}

/// What a station page's query says: the language, and whether a report was just
/// sent. Everything else is ignored.
struct PageQuery {
    lang: Lang,
    reported: bool,
}

impl PageQuery {
    fn parse(query: Option<&str>) -> Self {
        let mut q = PageQuery {
            lang: Lang::Zh,
            reported: false,
        };
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "lang" if v.eq_ignore_ascii_case("en") => q.lang = Lang::En,
                "reported" if v == "1" => q.reported = true,
                _ => {}
            }
        }
        q
    }
}

fn html_response(status: StatusCode, body: String, cache: &'static str) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            // og:url and the QR code name the host the page was asked from.
            (
                header::VARY,
                HeaderValue::from_static("Host, X-Forwarded-Proto"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A whole page: `head` goes into `<head>` after the title, `body` into `<body>`.
fn document(lang: Lang, title: &str, head: &str, class: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>",
        lang.html()
    );
    escape_into(&mut out, title);
    out.push_str("</title>\n");
    out.push_str(head);
    out.push_str(
        "<link rel=\"stylesheet\" href=\"/base.css\">\n<link rel=\"stylesheet\" href=\"/station.css\">\n</head>\n<body class=\"",
    );
    out.push_str(class);
    out.push_str("\">\n");
    out.push_str(body);
    out.push_str("</body>\n</html>\n");
    out
}

/// A short page that says what went wrong, with a link back (to the station when
/// `back` names one, else to the map).
fn message_page(
    status: StatusCode,
    lang: Lang,
    title: &str,
    text: &str,
    back: Option<&str>,
) -> Response {
    let mut body = String::from("<main class=\"card message\">\n<h1>");
    escape_into(&mut body, title);
    body.push_str("</h1>\n<p>");
    escape_into(&mut body, text);
    body.push_str("</p>\n<p class=\"links\">");
    if let Some(id) = back {
        let _ = write!(
            body,
            "<a class=\"btn\" href=\"/s/{}{}\">{}</a> ",
            escape(&segment(id)),
            lang.query(true),
            lang.pick("返回站点页面", "Back to the station")
        );
    }
    let _ = write!(
        body,
        "<a class=\"btn\" href=\"/{}\">{}</a></p>\n</main>\n",
        lang.query(true),
        lang.pick("返回驿站地图", "Back to the map")
    );
    let page = document(
        lang,
        &format!("{title} · {}", lang.pick("驿站地图", "Waystation map")),
        "<meta name=\"robots\" content=\"noindex\">\n",
        "station",
        &body,
    );
    html_response(status, page, "no-store")
}

fn not_found_page(lang: Lang) -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        lang,
        lang.pick("找不到这个站点", "No such station"),
        lang.pick(
            "它可能已被删除，或者链接有误。",
            "It may have been removed, or the link is wrong.",
        ),
        None,
    )
}

fn loading_page(lang: Lang) -> Response {
    let mut r = message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        lang.pick("正在加载数据", "Loading the data"),
        lang.pick(
            "服务刚刚启动，请几秒钟后刷新。",
            "The server has just started: reload in a few seconds.",
        ),
        None,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// How long a page may be kept: a minute on a read-only server, else revalidated
/// every time (an edit must show at once). The open-now state changes too.
fn page_cache(state: &AppState) -> &'static str {
    if state.registry.get().is_some() {
        "no-cache"
    } else {
        "public, max-age=60"
    }
}

/// `scheme://host` of the request: `Host` (or the URI's authority), which may hold
/// only letters, digits, `.`, `:`, `-` and the brackets of an IPv6 address;
/// `X-Forwarded-Proto: https` from a proxy makes it https.
fn base_url(headers: &HeaderMap, uri: &Uri) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let valid = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b));
    if !valid {
        return Err(ApiError::param(
            "Host",
            "must be a host name or address with an optional port (letters, digits, '.', ':', '-', '[', ']')",
        ));
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    Ok(format!("{}://{host}", if https { "https" } else { "http" }))
}

/// The station page's absolute URL (what the QR code holds and og:url names).
fn page_url(base: &str, id: &str) -> String {
    format!("{base}/s/{}", segment(id))
}

/// The map centred on a station, with its card open.
fn map_link(p: LonLat, id: &str, lang: Lang) -> String {
    format!(
        "/?center={:.6},{:.6}&zoom=16&feature={}{}",
        p.lon(),
        p.lat(),
        segment(id),
        lang.query(false)
    )
}

// ---------------------------------------------------------------------------
// Words

fn layer_word(layer: Layer, lang: Lang) -> &'static str {
    match layer {
        Layer::DriverHome => lang.pick("司机之家", "Driver home"),
        Layer::CourierStation => lang.pick("工会驿站", "Union rest station"),
        Layer::FitnessStation => lang.pick("职工健身驿站", "Worker fitness station"),
        Layer::Park => lang.pick("工业园区", "Industrial park"),
    }
}

fn amenity_word(a: Amenity, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => a.name_zh(),
        Lang::En => a.name_en(),
    }
}

fn accuracy_word(a: PositionAccuracy, lang: Lang) -> &'static str {
    match a {
        PositionAccuracy::Surveyed => lang.pick("实测位置", "surveyed on site"),
        PositionAccuracy::Address => lang.pick("按地址定位", "placed from the address"),
        PositionAccuracy::District => lang.pick(
            "仅到区县：地图上的点不是确切位置",
            "district only: the point is not the exact place",
        ),
        PositionAccuracy::Approximate => lang.pick(
            "大致位置：地图上的点不是确切位置",
            "approximate: the point is not the exact place",
        ),
    }
}

fn grade_word(g: Grade, lang: Lang) -> &'static str {
    match g {
        Grade::Simple => lang.pick("简易型", "Simple"),
        Grade::Regular => lang.pick("常规型", "Regular"),
        Grade::Comprehensive => lang.pick("综合型", "Comprehensive"),
    }
}

fn union_word(s: UnionStatus, lang: Lang) -> &'static str {
    match s {
        UnionStatus::None => lang.pick("未建会", "No union"),
        UnionStatus::Partial => lang.pick("部分建会", "Partly unionised"),
        UnionStatus::Full => lang.pick("全部建会", "Fully unionised"),
    }
}

fn park_type_word(t: ParkType, lang: Lang) -> &'static str {
    match t {
        ParkType::Industrial => lang.pick("工业园区", "Industrial park"),
        ParkType::Logistics => lang.pick("物流园区", "Logistics park"),
        ParkType::DevelopmentZone => lang.pick("开发区", "Development zone"),
        ParkType::HighTechZone => lang.pick("高新区", "High-tech zone"),
        ParkType::Agricultural => lang.pick("农业 / 养殖园区", "Agricultural park"),
        ParkType::CultureIndustry => lang.pick("文化产业园", "Culture-industry park"),
        ParkType::Mixed => lang.pick("综合园区", "Mixed park"),
    }
}

fn kind_word(k: ReportKind, lang: Lang) -> &'static str {
    match k {
        ReportKind::Closed => lang.pick("已关闭或不存在", "Closed, or not there"),
        ReportKind::WrongHours => lang.pick("开放时间不对", "Wrong opening hours"),
        ReportKind::WrongPlace => lang.pick("位置不对", "Wrong place"),
        ReportKind::Other => lang.pick("其他问题", "Something else"),
    }
}

/// Opening hours (OpenStreetMap syntax) for people: `24/7` in words, and in Chinese
/// the day names too (as the map page does).
fn hours_words(text: &str, lang: Lang) -> String {
    if text.trim() == "24/7" {
        return lang.pick("全天 24 小时", "open 24 hours").to_owned();
    }
    if lang == Lang::En {
        return text.to_owned();
    }
    let word = |w: &str| -> Option<&'static str> {
        Some(match w {
            "Mo" => "周一",
            "Tu" => "周二",
            "We" => "周三",
            "Th" => "周四",
            "Fr" => "周五",
            "Sa" => "周六",
            "Su" => "周日",
            "PH" => "法定节假日",
            "off" | "closed" => "休息",
            _ => return None,
        })
    };
    let mut out = String::with_capacity(text.len() * 2);
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if c.is_ascii_alphabetic() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            let w = &text[s..i];
            out.push_str(word(w).unwrap_or(w));
        }
        if i < text.len() {
            out.push(c);
        }
    }
    out
}

/// The open-now state, evaluated now; `None` when the hours are unknown.
fn open_now(atlas: &Atlas, f: &Facility) -> Option<bool> {
    f.hours
        .and_then(|h| atlas.schedules().is_open(h, Utc::now()))
}

fn hours_text(atlas: &Atlas, f: &Facility, lang: Lang) -> Option<String> {
    f.hours
        .map(|h| hours_words(atlas.schedules().text(h), lang))
}

// ---------------------------------------------------------------------------
// Icons: simple line drawings on a 24-unit grid, stroked in the text colour.

fn icon_shapes(a: Amenity) -> &'static str {
    match a {
        Amenity::Toilet => {
            r#"<circle cx="7" cy="4.5" r="2"/><path d="M5 22v-6H3.5L5.5 9h3l2 7H9v6"/><circle cx="17" cy="4.5" r="2"/><path d="M15 22V9h4v13M17 15v7"/>"#
        }
        Amenity::DrinkingWater => r#"<path d="M12 3s-6 7-6 11a6 6 0 0 0 12 0c0-4-6-11-6-11z"/>"#,
        Amenity::HotWater => {
            r#"<path d="M4 10h12v6a4 4 0 0 1-4 4H8a4 4 0 0 1-4-4zM16 12h2a2 2 0 0 1 0 4h-2M8 3c-1 1.5 1 2.5 0 4M12 3c-1 1.5 1 2.5 0 4"/>"#
        }
        Amenity::Microwave => {
            r#"<rect x="2" y="5" width="20" height="14" rx="2"/><rect x="5" y="8" width="10" height="8" rx="1"/><path d="M18.5 9v.01M18.5 12v.01"/>"#
        }
        Amenity::Fridge => {
            r#"<rect x="6" y="2" width="12" height="20" rx="2"/><path d="M6 10h12M9 5v2M9 13v3"/>"#
        }
        Amenity::Charging => r#"<path d="M13 2 4 14h7l-1 8 9-12h-7z"/>"#,
        Amenity::BatterySwap => {
            r#"<rect x="2" y="7" width="17" height="10" rx="2"/><path d="M22 10.5v3M11 9l-2.5 3h3L9 15"/>"#
        }
        Amenity::AirConditioning => {
            r#"<path d="M12 2v20M3.3 7l17.4 10M3.3 17 20.7 7M9.5 3.5 12 6l2.5-2.5M9.5 20.5 12 18l2.5 2.5"/>"#
        }
        Amenity::Seating => r#"<path d="M2 10h11M4 10v10M11 10v10M16 4v16M16 14h5v6"/>"#,
        Amenity::RestBeds => {
            r#"<path d="M2 5v15M2 16h20v4M22 16v-4a3 3 0 0 0-3-3h-9v7"/><circle cx="6" cy="12" r="2"/>"#
        }
        Amenity::Shower => {
            r#"<path d="M4 21V8a4 4 0 0 1 4-4h5v3M9 7h8M11 11v1M13 11v2M15 11v1M11 15v1M13 16v1M15 15v1"/>"#
        }
        Amenity::Laundry => {
            r#"<rect x="4" y="2" width="16" height="20" rx="2"/><circle cx="12" cy="13" r="5"/><path d="M7 5.5h2"/>"#
        }
        Amenity::Canteen => r#"<path d="M7 2v20M4 2v6a3 3 0 0 0 6 0V2M17 22V2c-2 0-4 3-4 8h4"/>"#,
        Amenity::Meals => r#"<path d="M3 12h18a9 9 0 0 1-18 0zM13 3l-3 8M19 3l-6 8"/>"#,
        Amenity::TruckParking => {
            r#"<path d="M1 5h13v11H1zM14 9h4l4 4v3h-8z"/><circle cx="5.5" cy="18" r="2"/><circle cx="17.5" cy="18" r="2"/>"#
        }
        Amenity::FirstAid => {
            r#"<rect x="3" y="6" width="18" height="15" rx="2"/><path d="M9 6V3h6v3M12 10v7M8.5 13.5h7"/>"#
        }
        Amenity::Medicine => r#"<path d="M10.5 20.5a5 5 0 0 1-7-7l7-7a5 5 0 0 1 7 7zM7 10l7 7"/>"#,
        Amenity::Wifi => {
            r#"<path d="M2 8.5a15 15 0 0 1 20 0M5 12a10 10 0 0 1 14 0M8.5 15.5a5 5 0 0 1 7 0M12 19.5v.01"/>"#
        }
        Amenity::Reading => {
            r#"<path d="M2 4h7a3 3 0 0 1 3 3v14a2.5 2.5 0 0 0-2.5-2.5H2zM22 4h-7a3 3 0 0 0-3 3v14a2.5 2.5 0 0 1 2.5-2.5H22z"/>"#
        }
        Amenity::LegalAid => {
            r#"<path d="M12 3v18M7 21h10M4 7h16M4 7l-2.5 6a2.5 2.5 0 0 0 5 0zM20 7l-2.5 6a2.5 2.5 0 0 0 5 0z"/>"#
        }
        Amenity::FitnessEquipment => r#"<path d="M6 6v12M18 6v12M3 9v6M21 9v6M6 12h12"/>"#,
        Amenity::Haircut => {
            r#"<circle cx="6" cy="6" r="3"/><circle cx="6" cy="18" r="3"/><path d="M20 4 8.1 15.9M14.5 14.5 20 20M8.1 8.1 12 12"/>"#
        }
        Amenity::CoupleRoom => {
            r#"<path d="M12 20s-8-4.7-8-10.5A4.5 4.5 0 0 1 12 7a4.5 4.5 0 0 1 8 2.5C20 15.3 12 20 12 20z"/>"#
        }
        Amenity::QrEntry => {
            r#"<rect x="3" y="3" width="7" height="7"/><rect x="14" y="3" width="7" height="7"/><rect x="3" y="14" width="7" height="7"/><path d="M14 14h3v3h-3zM21 14v.01M14 21h.01M17.5 21H21v-3.5"/>"#
        }
    }
}

fn icon(a: Amenity) -> String {
    format!(
        "<svg class=\"ic\" viewBox=\"0 0 24 24\" aria-hidden=\"true\" focusable=\"false\">{}</svg>",
        icon_shapes(a)
    )
}

/// The amenities as a list of icons with words; `both`: Chinese with English under it.
fn amenity_list(out: &mut String, amenities: AmenitySet, lang: Lang, both: bool) {
    // Many amenities get a denser grid (the poster must stay one sheet).
    let many = amenities.iter().count() > 10;
    out.push_str(if many {
        "<ul class=\"amenities many\">\n"
    } else {
        "<ul class=\"amenities\">\n"
    });
    for a in amenities.iter() {
        let _ = write!(
            out,
            "<li data-amenity=\"{}\">{}<span>{}",
            a.id(),
            icon(a),
            amenity_word(a, lang)
        );
        if both {
            let _ = write!(out, "<small lang=\"en\">{}</small>", a.name_en());
        }
        out.push_str("</span></li>\n");
    }
    out.push_str("</ul>\n");
}

// ---------------------------------------------------------------------------
// The pages

/// One row of a definition list, the value escaped; nothing when it is absent.
fn fact(out: &mut String, label: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        let _ = write!(out, "<div><dt>{label}</dt><dd>");
        escape_into(out, v);
        out.push_str("</dd></div>\n");
    }
}

/// Phone numbers as `tel:` links (a field may hold several, separated by `/`, `、`,
/// `,`, `;` or spaces between numbers).
fn phone_links(out: &mut String, phone: &str) {
    let mut first = true;
    for part in phone
        .split(['/', '、', ',', '，', ';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let dial: String = part
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        if !first {
            out.push_str("<br>");
        }
        first = false;
        if dial.len() >= 3 {
            let _ = write!(out, "<a class=\"tel\" href=\"tel:{}\">", escape(&dial));
            escape_into(out, part);
            out.push_str("</a>");
        } else {
            escape_into(out, part);
        }
    }
}

fn nav_buttons(out: &mut String, links: &NavLinks, lang: Lang) {
    let _ = writeln!(
        out,
        "<nav class=\"go\" aria-label=\"{}\">",
        lang.pick("导航", "Directions")
    );
    for (class, url, label) in [
        ("amap", &links.amap, lang.pick("高德地图", "Amap")),
        ("baidu", &links.baidu, lang.pick("百度地图", "Baidu Maps")),
        ("apple", &links.apple, lang.pick("苹果地图", "Apple Maps")),
        ("osm", &links.osm, "OpenStreetMap"),
    ] {
        let _ = writeln!(
            out,
            "<a class=\"btn nav-{class}\" href=\"{}\" rel=\"noopener noreferrer\">{label}</a>",
            escape(url)
        );
    }
    out.push_str("</nav>\n");
}

fn demo_badge(out: &mut String, p: &Provenance, lang: Lang) {
    if p.synthetic {
        let _ = writeln!(
            out,
            "<p class=\"demo\"><strong>演示数据 / demo data</strong> {}</p>",
            lang.pick(
                "此条为生成的演示数据，不是真实设施。",
                "Generated for the demo: not a real place."
            )
        );
    }
}

fn provenance(out: &mut String, p: &Provenance, lang: Lang) {
    let _ = write!(
        out,
        "<section class=\"source\">\n<h2>{}</h2>\n<dl>\n",
        lang.pick("数据来源", "Where this comes from")
    );
    fact(out, lang.pick("来源", "Source"), Some(&p.source));
    fact(
        out,
        lang.pick("位置精度", "Position"),
        Some(accuracy_word(p.position_accuracy, lang)),
    );
    fact(
        out,
        lang.pick("演示数据", "Demo data"),
        Some(if p.synthetic {
            "是 / yes (演示数据 / demo data)"
        } else {
            lang.pick("否", "no")
        }),
    );
    fact(out, lang.pick("更新于", "Updated"), p.updated.as_deref());
    out.push_str("</dl>\n</section>\n");
}

/// The top bar: back to the map, and the other language.
fn top_bar(out: &mut String, id: &str, position: LonLat, lang: Lang) {
    let other = match lang {
        Lang::Zh => format!(
            "<a class=\"lang\" href=\"/s/{}?lang=en\" hreflang=\"en\" lang=\"en\">English</a>",
            escape(&segment(id))
        ),
        Lang::En => format!(
            "<a class=\"lang\" href=\"/s/{}\" hreflang=\"zh-CN\" lang=\"zh-CN\">中文</a>",
            escape(&segment(id))
        ),
    };
    let _ = writeln!(
        out,
        "<header class=\"bar\"><a class=\"back\" href=\"{}\">‹ {}</a>{other}</header>",
        escape(&map_link(position, id, lang)),
        lang.pick("驿站地图", "Waystation map")
    );
}

/// The Open Graph and description tags.
fn og_tags(
    title: &str,
    description: &str,
    url: Option<&str>,
    lang: Lang,
    site: &'static str,
) -> String {
    let mut head = String::new();
    let _ = writeln!(
        head,
        "<meta name=\"description\" content=\"{}\">",
        escape(description)
    );
    head.push_str("<meta property=\"og:type\" content=\"website\">\n");
    let _ = writeln!(head, "<meta property=\"og:site_name\" content=\"{site}\">");
    let _ = writeln!(
        head,
        "<meta property=\"og:title\" content=\"{}\">",
        escape(title)
    );
    let _ = writeln!(
        head,
        "<meta property=\"og:description\" content=\"{}\">",
        escape(description)
    );
    let _ = writeln!(
        head,
        "<meta property=\"og:locale\" content=\"{}\">",
        lang.pick("zh_CN", "en_US")
    );
    if let Some(url) = url {
        let _ = writeln!(
            head,
            "<meta property=\"og:url\" content=\"{}\">",
            escape(url)
        );
        let _ = writeln!(head, "<link rel=\"canonical\" href=\"{}\">", escape(url));
    }
    head
}

fn report_form(out: &mut String, id: &str, lang: Lang) {
    let _ = write!(
        out,
        "<details class=\"report\" id=\"report\">\n<summary>{}</summary>\n\
         <form method=\"post\" action=\"/api/v1/features/{}/reports\">\n\
         <p class=\"hint\">{}</p>\n<fieldset>\n<legend>{}</legend>\n",
        lang.pick("报告问题", "Report a problem"),
        escape(&segment(id)),
        lang.pick(
            "信息有误？告诉我们，工作人员会核实。无需登录。",
            "Something wrong here? Tell us and the union will check. No sign-in needed."
        ),
        lang.pick("哪里不对？", "What is wrong?"),
    );
    for (i, k) in ReportKind::ALL.into_iter().enumerate() {
        let _ = writeln!(
            out,
            "<label class=\"choice\"><input type=\"radio\" name=\"kind\" value=\"{}\"{}> {}</label>",
            k.id(),
            if i == 0 { " required" } else { "" },
            kind_word(k, lang)
        );
    }
    let _ = write!(
        out,
        "</fieldset>\n<label for=\"note\">{}</label>\n\
         <textarea id=\"note\" name=\"note\" maxlength=\"{MAX_NOTE_CHARS}\" rows=\"3\"></textarea>\n",
        lang.pick(
            "补充说明（选填，最多 500 字）",
            "Note (optional, at most 500 characters)"
        )
    );
    if lang == Lang::En {
        out.push_str("<input type=\"hidden\" name=\"lang\" value=\"en\">\n");
    }
    let _ = write!(
        out,
        "<button class=\"btn primary\" type=\"submit\">{}</button>\n</form>\n</details>\n",
        lang.pick("提交", "Send")
    );
}

fn facility_page(
    atlas: &Atlas,
    f: &Facility,
    q: &PageQuery,
    url: Option<&str>,
    writable: bool,
) -> String {
    let lang = q.lang;
    let id = f.id();
    let layer = layer_word(f.layer, lang);
    let hours = hours_text(atlas, f, lang);
    let open = open_now(atlas, f);

    let description = [
        Some(layer.to_owned()),
        Some(
            hours
                .clone()
                .unwrap_or_else(|| lang.pick("开放时间未知", "hours unknown").to_owned()),
        ),
        f.city.as_deref().map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let head = og_tags(
        f.name(),
        &description,
        url,
        lang,
        lang.pick("驿站地图", "Waystation map"),
    );

    let mut b = String::with_capacity(8 << 10);
    top_bar(&mut b, id, f.position, lang);
    b.push_str("<main class=\"card\">\n");
    if q.reported {
        let _ = writeln!(
            b,
            "<p class=\"thanks\" role=\"status\">{}</p>",
            lang.pick(
                "谢谢！我们已收到您的报告，工作人员会尽快核实。",
                "Thank you: your report has been received and will be checked."
            )
        );
    }
    let _ = writeln!(b, "<p class=\"kind kind-{}\">{layer}</p>", f.layer.id());
    b.push_str("<h1 id=\"name\">");
    escape_into(&mut b, f.name());
    b.push_str("</h1>\n");
    if let Some(en) = f.name_en() {
        b.push_str("<p class=\"alt\" lang=\"en\">");
        escape_into(&mut b, en);
        b.push_str("</p>\n");
    }
    demo_badge(&mut b, &f.provenance, lang);

    let (class, word) = match open {
        Some(true) => ("open", lang.pick("营业中", "Open now")),
        Some(false) => ("closed", lang.pick("现在关闭", "Closed now")),
        None => ("unknown", lang.pick("营业时间未知", "Hours unknown")),
    };
    let now = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%H:%M");
    let _ = writeln!(
        b,
        "<p class=\"state {class}\"><strong>{word}</strong> <small>{} {now}</small></p>",
        lang.pick("北京时间", "China time")
    );
    let _ = write!(
        b,
        "<dl class=\"hours\"><div><dt>{}</dt><dd>",
        lang.pick("开放时间", "Opening hours")
    );
    match &hours {
        Some(h) => escape_into(&mut b, h),
        None => b.push_str(lang.pick("未知", "not known")),
    }
    b.push_str("</dd></div></dl>\n");

    nav_buttons(&mut b, &nav_links(f.position, f.name()), lang);

    let _ = write!(
        b,
        "<section class=\"offers\">\n<h2>{}</h2>\n",
        lang.pick("设施", "Amenities")
    );
    if f.amenities.is_empty() {
        let _ = writeln!(
            b,
            "<p class=\"none\">{}</p>",
            lang.pick("未报告", "Not reported")
        );
    } else {
        amenity_list(&mut b, f.amenities, lang, false);
    }
    b.push_str("</section>\n<dl class=\"facts\">\n");
    if let Some(phone) = f.phone().filter(|p| !p.trim().is_empty()) {
        let _ = write!(b, "<div><dt>{}</dt><dd>", lang.pick("电话", "Phone"));
        phone_links(&mut b, phone);
        b.push_str("</dd></div>\n");
    }
    fact(&mut b, lang.pick("地址", "Address"), f.address());
    let place = [f.city.as_deref(), f.district.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    fact(
        &mut b,
        lang.pick("所在地", "City"),
        Some(place.as_str()).filter(|p| !p.is_empty()),
    );
    fact(&mut b, lang.pick("运营方", "Run by"), f.operator.as_deref());
    fact(
        &mut b,
        lang.pick("等级", "Grade"),
        f.grade.map(|g| grade_word(g, lang)),
    );
    b.push_str("</dl>\n");
    provenance(&mut b, &f.provenance, lang);
    if writable {
        report_form(&mut b, id, lang);
    }
    footer(&mut b, id, f.position, lang, true);
    b.push_str("</main>\n");
    document(
        lang,
        &format!("{} · {}", f.name(), lang.pick("驿站地图", "Waystation map")),
        &head,
        "station",
        &b,
    )
}

fn footer(out: &mut String, id: &str, position: LonLat, lang: Lang, poster: bool) {
    let map = escape(&map_link(position, id, lang));
    let id = escape(&segment(id));
    let _ = write!(
        out,
        "<footer class=\"more\">\n<a href=\"{}\">{}</a>\n",
        map,
        lang.pick("在地图上查看", "Show on the map")
    );
    if poster {
        let _ = writeln!(
            out,
            "<a href=\"/s/{id}/poster\">{}</a>",
            lang.pick("打印门口海报", "Print a door poster")
        );
    }
    let _ = write!(
        out,
        "<a href=\"/s/{id}/qr.svg\">{}</a>\n</footer>\n",
        lang.pick("二维码", "QR code")
    );
}

fn park_page(p: &Park, q: &PageQuery, url: Option<&str>) -> String {
    let lang = q.lang;
    let status = p.union_status.map(|s| union_word(s, lang));
    let description = [
        Some(layer_word(Layer::Park, lang)),
        status,
        p.city.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let head = og_tags(
        &p.name,
        &description,
        url,
        lang,
        lang.pick("驿站地图", "Waystation map"),
    );
    let mut b = String::with_capacity(4 << 10);
    top_bar(&mut b, &p.id, p.position, lang);
    b.push_str("<main class=\"card\">\n");
    let _ = writeln!(
        b,
        "<p class=\"kind kind-park\">{}{}</p>",
        layer_word(Layer::Park, lang),
        p.park_type
            .map(|t| format!(" · {}", park_type_word(t, lang)))
            .unwrap_or_default()
    );
    b.push_str("<h1 id=\"name\">");
    escape_into(&mut b, &p.name);
    b.push_str("</h1>\n");
    if let Some(en) = &p.name_en {
        b.push_str("<p class=\"alt\" lang=\"en\">");
        escape_into(&mut b, en);
        b.push_str("</p>\n");
    }
    demo_badge(&mut b, &p.provenance, lang);
    let _ = writeln!(
        b,
        "<p class=\"state union-{}\"><strong>{}</strong></p>",
        p.union_status.map_or("unknown", UnionStatus::id),
        status.unwrap_or(lang.pick("建会情况未知", "Union status unknown"))
    );
    let c = &p.counts;
    let number = |n: Option<u32>| n.map(|n| n.to_string());
    let rate = match (c.enterprises, c.unionised_enterprises) {
        (Some(all), Some(u)) if all > 0 => Some(format!("{:.0}%", 100.0 * u as f64 / all as f64)),
        _ => None,
    };
    b.push_str("<dl class=\"facts counts\">\n");
    for (label, value) in [
        (lang.pick("企业", "Enterprises"), number(c.enterprises)),
        (
            lang.pick("已建会企业", "With a union"),
            number(c.unionised_enterprises),
        ),
        (lang.pick("建会率", "Unionised share"), rate),
        (lang.pick("职工", "Workers"), number(c.workers)),
        (
            lang.pick("工会会员", "Union members"),
            number(c.union_members),
        ),
        (
            lang.pick("工会成立", "Union founded"),
            p.union_founded.as_deref().map(str::to_owned),
        ),
        (
            lang.pick("统计截至", "Counts as of"),
            p.counts_as_of.as_deref().map(str::to_owned),
        ),
    ] {
        fact(&mut b, label, value.as_deref());
    }
    let place = [p.city.as_deref(), p.district.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    fact(
        &mut b,
        lang.pick("所在地", "City"),
        Some(place.as_str()).filter(|p| !p.is_empty()),
    );
    b.push_str("</dl>\n");
    nav_buttons(&mut b, &nav_links(p.position, &p.name), lang);
    provenance(&mut b, &p.provenance, lang);
    footer(&mut b, &p.id, p.position, lang, false);
    b.push_str("</main>\n");
    document(
        lang,
        &format!("{} · {}", p.name, lang.pick("驿站地图", "Waystation map")),
        &head,
        "station",
        &b,
    )
}

/// `GET /s/{id}`: the station's page (a park's too).
pub async fn page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let q = PageQuery::parse(query.as_deref());
    let Some(atlas) = state.atlas.load_full() else {
        return loading_page(q.lang);
    };
    // A malformed Host only loses og:url; the page itself is fine.
    let url = base_url(&headers, &uri).ok().map(|b| page_url(&b, &id));
    let writable = state.registry.get().is_some();
    let body = match atlas.get(&id) {
        Some(FeatureRef::Facility(i)) => {
            facility_page(&atlas, atlas.facility(i), &q, url.as_deref(), writable)
        }
        Some(FeatureRef::Park(i)) => park_page(atlas.park(i), &q, url.as_deref()),
        None => return not_found_page(q.lang),
    };
    html_response(StatusCode::OK, body, page_cache(&state))
}

/// The QR code of `url` as an SVG document (medium error correction: a poster
/// survives some dirt and glare).
fn qr_svg(url: &str) -> Result<String, ApiError> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::param("Host", format!("the page's URL cannot be a QR code: {e}")))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build())
}

/// `GET /s/{id}/qr.svg`: the QR code of the station page's absolute URL.
pub async fn qr(
    State(state): State<Arc<AppState>>,
    super::params::FeatureId(id): super::params::FeatureId,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    // 404, then 400, then 503 (the order of every route: see `params`).
    let base = base_url(&headers, &uri)?;
    let atlas = state.atlas()?;
    if atlas.get(&id).is_none() {
        return Err(ApiError::NotFound(format!("no feature with id '{id}'")));
    }
    let svg = qr_svg(&page_url(&base, &id))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            // The code depends on the id and the host only.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            (
                header::VARY,
                HeaderValue::from_static("Host, X-Forwarded-Proto"),
            ),
        ],
        svg,
    )
        .into_response())
}

/// `GET /s/{id}/poster`: an A4 sheet for the station's door (facilities only).
pub async fn poster(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let Some(atlas) = state.atlas.load_full() else {
        return Ok(loading_page(Lang::Zh));
    };
    let base = base_url(&headers, &uri)?;
    let f = match atlas.get(&id) {
        Some(FeatureRef::Facility(i)) => atlas.facility(i),
        Some(FeatureRef::Park(_)) => {
            return Ok(message_page(
                StatusCode::NOT_FOUND,
                Lang::Zh,
                "园区没有门口海报 / No poster for a park",
                "海报是给服务站点门口用的；园区请使用页面和二维码。",
                Some(&id),
            ));
        }
        None => return Ok(not_found_page(Lang::Zh)),
    };
    let url = page_url(&base, &id);
    let svg = qr_svg(&url)?;
    // Inline: the prologue is not allowed inside HTML.
    let svg = svg
        .find("<svg")
        .map_or(svg.as_str(), |at| &svg[at..])
        .replacen(
            "<svg ",
            "<svg role=\"img\" aria-label=\"QR code\" class=\"qr\" ",
            1,
        );

    let mut b = String::with_capacity(16 << 10);
    b.push_str("<article class=\"sheet\">\n");
    let _ = writeln!(
        b,
        "<p class=\"kind kind-{}\">{} · <span lang=\"en\">{}</span></p>",
        f.layer.id(),
        layer_word(f.layer, Lang::Zh),
        layer_word(f.layer, Lang::En)
    );
    // A long name gets a smaller type, to keep the sheet to one page.
    b.push_str(if f.name().chars().count() > 20 {
        "<h1 class=\"long\">"
    } else {
        "<h1>"
    });
    escape_into(&mut b, f.name());
    b.push_str("</h1>\n");
    if let Some(en) = f.name_en() {
        b.push_str("<p class=\"alt\" lang=\"en\">");
        escape_into(&mut b, en);
        b.push_str("</p>\n");
    }
    if f.provenance.synthetic {
        b.push_str("<p class=\"demo\"><strong>演示数据 / demo data</strong> 不是真实设施 · not a real place</p>\n");
    }
    b.push_str("<dl class=\"hours\"><div><dt>开放时间 <span lang=\"en\">Hours</span></dt><dd>");
    match (
        hours_text(&atlas, f, Lang::Zh),
        hours_text(&atlas, f, Lang::En),
    ) {
        (Some(zh), Some(en)) => {
            escape_into(&mut b, &zh);
            if en != zh {
                b.push_str("<br><span lang=\"en\">");
                escape_into(&mut b, &en);
                b.push_str("</span>");
            }
        }
        _ => b.push_str("未知 <span lang=\"en\">not known</span>"),
    }
    b.push_str("</dd></div></dl>\n");
    // The amenities beside the code: one A4 page holds all 24 of them.
    b.push_str("<div class=\"middle\">\n");
    if !f.amenities.is_empty() {
        amenity_list(&mut b, f.amenities, Lang::Zh, true);
    }
    let _ = write!(
        b,
        "<figure class=\"code\">{svg}<figcaption>扫码查看开放时间和导航<br>\
         <span lang=\"en\">Scan for hours and directions</span></figcaption></figure>\n\
         </div>\n<p class=\"url\">"
    );
    escape_into(&mut b, &url);
    b.push_str("</p>\n<dl class=\"facts\">\n");
    fact(&mut b, "电话 Phone", f.phone());
    fact(&mut b, "地址 Address", f.address());
    fact(&mut b, "运营方 Run by", f.operator.as_deref());
    b.push_str("</dl>\n");
    let _ = write!(
        b,
        "<p class=\"foot\">驿站地图 · <span lang=\"en\">Waystation map</span>{}</p>\n</article>\n",
        f.provenance
            .updated
            .as_deref()
            .map(|u| format!(" · 更新于 {}", escape(u)))
            .unwrap_or_default()
    );
    let _ = writeln!(
        b,
        "<p class=\"screen-only\">用浏览器的“打印”（Ctrl+P）打印在 A4 纸上 · \
         <span lang=\"en\">Print on A4 with the browser's Print (Ctrl+P)</span> · \
         <a href=\"/s/{}\">返回站点页面 / Back</a></p>",
        escape(&segment(&id))
    );
    let head = "<meta name=\"robots\" content=\"noindex\">\n\
                <style>@page { size: A4; margin: 12mm; }</style>\n";
    let page = document(
        Lang::Zh,
        &format!("{} · 海报 Poster", f.name()),
        head,
        "poster",
        &b,
    );
    Ok(html_response(StatusCode::OK, page, page_cache(&state)))
}

// ---------------------------------------------------------------------------
// Reports

/// A report's fields, checked.
struct ReportInput {
    kind: ReportKind,
    note: Option<String>,
}

/// Reads a report's fields: `kind` required, `note` optional (trimmed, at most
/// [`MAX_NOTE_CHARS`]); each problem named.
fn report_input(kind: Option<&str>, note: Option<&str>) -> Result<ReportInput, ApiError> {
    let mut problems = Vec::new();
    let kind = match kind.map(str::trim) {
        None | Some("") => {
            problems.push(super::InvalidParam::new(
                "kind",
                "is required (closed, wrong_hours, wrong_place, other)",
            ));
            None
        }
        Some(k) => match k.parse::<ReportKind>() {
            Ok(k) => Some(k),
            Err(e) => {
                problems.push(super::InvalidParam::new("kind", e));
                None
            }
        },
    };
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note
        && n.chars().count() > MAX_NOTE_CHARS
    {
        problems.push(super::InvalidParam::new(
            "note",
            format!(
                "is {} characters long; at most {MAX_NOTE_CHARS}",
                n.chars().count()
            ),
        ));
    }
    match kind {
        Some(kind) if problems.is_empty() => Ok(ReportInput {
            kind,
            note: note.map(str::to_owned),
        }),
        _ => Err(ApiError::InvalidParams(problems)),
    }
}

fn json_report(bytes: &[u8]) -> Result<ReportInput, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadBody(format!("the body is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::BadBody(
            "the body is a JSON object: {\"kind\": …, \"note\": …}".into(),
        ));
    };
    let mut problems: Vec<_> = map
        .keys()
        .filter(|k| *k != "kind" && *k != "note")
        .map(|k| super::InvalidParam::new(k.clone(), "unknown field (kind, note)"))
        .collect();
    let text = |key: &str, problems: &mut Vec<super::InvalidParam>| match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            problems.push(super::InvalidParam::new(key, "must be a string"));
            None
        }
    };
    let kind = text("kind", &mut problems);
    let note = text("note", &mut problems);
    match report_input(kind, note) {
        Ok(input) if problems.is_empty() => Ok(input),
        Ok(_) => Err(ApiError::InvalidParams(problems)),
        Err(ApiError::InvalidParams(more)) => {
            problems.extend(more);
            Err(ApiError::InvalidParams(problems))
        }
        Err(e) => Err(e),
    }
}

/// 429 for a sender past its quota, as problem+json.
fn too_many_reports(retry_after_s: u64) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": format!(
            "at most {} reports per address per hour; retry in {retry_after_s} s",
            REPORT_LIMIT.max
        ),
    });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            ),
            (header::RETRY_AFTER, HeaderValue::from(retry_after_s)),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `POST /api/v1/features/{id}/reports`: a report about a feature, from anyone.
///
/// From the page's form (`application/x-www-form-urlencoded`) the answers are
/// pages: 303 back to the station page, which thanks the sender, or a page saying
/// what is wrong. As JSON (`{"kind": "wrong_hours", "note": "…"}`): 201 with the
/// report, or problem+json.
#[utoipa::path(post, path = "/features/{id}/reports", tag = "stations",
    summary = "Reports a problem with a station (anyone; 5 an hour from one address)",
    params(("id" = String, Path, description = "the feature's id")),
    request_body(content = super::schema::ReportRequest, description = "the report (or the station page's form, `application/x-www-form-urlencoded`)", content_type = "application/json"),
    responses(
        (status = 201, description = "`{\"report\": …}`", body = super::schema::Object),
        (status = 303, description = "from the page's form: back to the station page"),
        (status = 400, description = "a bad field, named", body = super::schema::Problem, content_type = "application/problem+json"),
        (status = 403, description = "sent from another site's page", body = super::schema::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such feature", body = super::schema::Problem, content_type = "application/problem+json"),
        (status = 405, description = "a server without a database", body = super::schema::Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many reports from this address (`Retry-After`)", body = super::schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let registry = edits::registry(&state)?;
    edits::origin_allowed(&headers, &state.options().write_origins)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let bytes = edits::read_body(body, MAX_REPORT_BYTES).await?;
    let form = essence == "application/x-www-form-urlencoded";
    let mut lang = Lang::Zh;
    let input = match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            let (mut kind, mut note) = (None, None);
            for (k, v) in form_urlencoded::parse(&bytes) {
                match &*k {
                    "kind" => kind = Some(v.into_owned()),
                    "note" => note = Some(v.into_owned()),
                    "lang" if v.eq_ignore_ascii_case("en") => lang = Lang::En,
                    _ => {}
                }
            }
            report_input(kind.as_deref(), note.as_deref())
        }
        "application/json" | "" => json_report(&bytes),
        other => Err(ApiError::param(
            "Content-Type",
            format!("'{other}': send application/json or application/x-www-form-urlencoded"),
        )),
    };
    let input = match (input, form) {
        (Ok(i), _) => i,
        (Err(ApiError::InvalidParams(problems)), true) => {
            let kind_missing = problems.iter().any(|p| p.name == "kind");
            return Ok(message_page(
                StatusCode::BAD_REQUEST,
                lang,
                lang.pick("没有提交", "Not sent"),
                if kind_missing {
                    lang.pick("请选择哪里不对。", "Please choose what is wrong.")
                } else {
                    lang.pick(
                        "补充说明最多 500 字。",
                        "The note may be at most 500 characters long.",
                    )
                },
                Some(&id),
            ));
        }
        (Err(e), _) => return Err(e),
    };
    let feature = id.clone();
    let filed = edits::blocking(move || {
        registry.file_report(&feature, input.kind, input.note.as_deref(), client.0)
    })
    .await;
    match (filed, form) {
        (Ok(Filed::Stored(_)), true) => {
            let to = format!("/s/{}?reported=1{}", segment(&id), lang.query(false));
            Ok((
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    HeaderValue::from_str(&to).map_err(ApiError::internal)?,
                )],
            )
                .into_response())
        }
        (Ok(Filed::Stored(report)), false) => {
            Ok((StatusCode::CREATED, axum::Json(json!({ "report": report }))).into_response())
        }
        (Ok(Filed::Limited { retry_after_s }), true) => {
            let minutes = retry_after_s.div_ceil(60);
            let text = match lang {
                Lang::Zh => format!(
                    "每个网络地址每小时最多可提交 {} 条报告。请 {minutes} 分钟后再试。",
                    REPORT_LIMIT.max
                ),
                Lang::En => format!(
                    "At most {} reports per address per hour. Please try again in {minutes} min.",
                    REPORT_LIMIT.max
                ),
            };
            let mut r = message_page(
                StatusCode::TOO_MANY_REQUESTS,
                lang,
                lang.pick("提交太频繁", "Too many reports"),
                &text,
                Some(&id),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            Ok(r)
        }
        (Ok(Filed::Limited { retry_after_s }), false) => Ok(too_many_reports(retry_after_s)),
        (Err(ApiError::NotFound(_)), true) => Ok(not_found_page(lang)),
        (Err(e), _) => Err(e),
    }
}

/// `GET /api/v1/reports?status=open|closed|all&limit=`: reports for editors
/// (open ones by default), newest first, each with its feature's name, layer and
/// city. An editor limited to a city sees that city's.
#[utoipa::path(get, path = "/reports", tag = "stations", security(("token" = [])),
    summary = "Problem reports for editors, newest first",
    params(
        ("status" = Option<String>, Query, description = "`open` (default), `closed` or `all`", pattern = "^(open|closed|all)$"),
        ("limit" = Option<u32>, Query, description = "at most this many (default 1,000)", minimum = 1, maximum = 10000),
    ),
    responses(
        (status = 200, description = "`{\"reports\": […]}` each with its feature's name, layer and city", body = super::schema::Object),
        (status = 400, description = "a bad parameter, named", body = super::schema::Problem, content_type = "application/problem+json"),
        super::schema::TokenErrors,
    ))]
pub async fn reports(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    client: ClientAddr,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(query.as_deref())?;
    let status = match p.raw("status").as_deref() {
        None | Some("open") => ReportStatus::Open,
        Some("closed") => ReportStatus::Closed,
        Some("all") => ReportStatus::All,
        Some(other) => {
            p.problem("status", format!("'{other}': open, closed or all"));
            ReportStatus::Open
        }
    };
    let limit = p.integer("limit", 1..=MAX_LISTED, 1000);
    p.finish()?;
    let (registry, editor) = edits::authenticate(&state, &headers, &client).await?;
    let list = edits::blocking(move || registry.reports(&editor, status, limit)).await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(json!({ "reports": list })),
    )
        .into_response())
}

/// `POST /api/v1/reports/{n}/close`: marks a report handled (token needed).
#[utoipa::path(post, path = "/reports/{n}/close", tag = "stations", security(("token" = [])),
    summary = "Marks a report handled",
    params(("n" = String, Path, description = "the report's number")),
    responses(
        (status = 200, description = "`{\"report\": …}`", body = super::schema::Object),
        (status = 404, description = "no such report", body = super::schema::Problem, content_type = "application/problem+json"),
        super::schema::TokenErrors,
    ))]
pub async fn close_report(
    State(state): State<Arc<AppState>>,
    Path(n): Path<String>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (registry, editor) = edits::writer(&state, &headers, &client).await?;
    let n: i64 = n
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no report '{n}'")))?;
    let view = edits::blocking(move || registry.close_report(&editor, n)).await?;
    Ok(axum::Json(json!({ "report": view })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markup in data comes out as text, in content and in attributes.
    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape(r#"a "b" & 'c' > d"#),
            "a &quot;b&quot; &amp; &#39;c&#39; &gt; d"
        );
        assert_eq!(escape("司机之家·24h"), "司机之家·24h");
    }

    /// Ids become one path segment whatever they hold.
    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("cs-a_1.b~"), "cs-a_1.b~");
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(segment("驿"), "%E9%A9%BF");
    }

    /// Hosts of letters, digits, dots, colons, dashes and IPv6 brackets pass;
    /// anything else is refused; a proxy's https is honoured.
    #[test]
    fn base_url_validates_the_host() {
        let with = |host: &str, proto: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            if let Some(p) = proto {
                h.insert("x-forwarded-proto", HeaderValue::from_str(p).unwrap());
            }
            base_url(&h, &Uri::from_static("/s/x"))
        };
        assert_eq!(
            with("example.org:8080", None).unwrap(),
            "http://example.org:8080"
        );
        assert_eq!(with("[::1]:80", Some("https")).unwrap(), "https://[::1]:80");
        assert_eq!(with("a.b", Some("HTTPS, http")).unwrap(), "https://a.b");
        assert_eq!(with("a.b", Some("gopher")).unwrap(), "http://a.b");
        for bad in ["", "a b", "evil.com/x", "a\"b", "a@b", "a<b"] {
            assert!(with(bad, None).is_err(), "{bad}");
        }
        assert!(base_url(&HeaderMap::new(), &Uri::from_static("/s/x")).is_err());
    }

    /// OpenStreetMap hours read in Chinese; 24/7 in words in both languages.
    #[test]
    fn hours_read_as_words() {
        assert_eq!(hours_words("24/7", Lang::Zh), "全天 24 小时");
        assert_eq!(hours_words("24/7", Lang::En), "open 24 hours");
        assert_eq!(
            hours_words("Mo-Fr 08:00-20:00; PH off", Lang::Zh),
            "周一-周五 08:00-20:00; 法定节假日 休息"
        );
        assert_eq!(
            hours_words("Mo-Fr 08:00-20:00", Lang::En),
            "Mo-Fr 08:00-20:00"
        );
        assert_eq!(hours_words("Month", Lang::Zh), "Month");
    }

    /// A report needs a known kind; notes are trimmed and limited.
    #[test]
    fn report_fields_are_checked() {
        let ok = report_input(Some("wrong_hours"), Some("  改为 9 点  ")).unwrap();
        assert_eq!(ok.kind, ReportKind::WrongHours);
        assert_eq!(ok.note.as_deref(), Some("改为 9 点"));
        assert!(
            report_input(Some("closed"), Some("   "))
                .unwrap()
                .note
                .is_none()
        );
        assert!(report_input(None, None).is_err());
        assert!(report_input(Some("bad"), None).is_err());
        let long = "字".repeat(MAX_NOTE_CHARS + 1);
        assert!(report_input(Some("other"), Some(&long)).is_err());
        assert!(report_input(Some("other"), Some(&long[3..])).is_ok());
        assert!(json_report(br#"{"kind":"closed","extra":1}"#).is_err());
        assert!(json_report(br#"{"kind":"closed","note":null}"#).is_ok());
    }
}
