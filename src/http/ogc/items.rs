//! `/ogc/collections/{layer}/items` and `/items/{id}`: the features of a layer,
//! a page at a time, and one feature.
//!
//! A request goes:
//! 1. parse: `bbox` (in `bbox-crs`), `limit` (clamped to [`MAX_LIMIT`]),
//!    `offset`, `datetime`, the queryables, a CQL2 `filter` ([`cql`]), `crs`,
//!    `f`; every other parameter is refused, all problems at once;
//! 2. select: the layer's features in index order (the R-tree for a `bbox`, or
//!    for the box of the filter's spatial predicate, plus the park polygons it
//!    crosses), then the filters;
//! 3. page: `offset` and `limit` over the selection, with `numberMatched`;
//! 4. write: GeoJSON straight from the records (the same features as
//!    `/api/v1/layers`), its axes swapped for a latitude-first `crs`, with a
//!    `Content-Crs` header; or an HTML table of the same document.
//!
//! Index order is stable within a generation of the data, so following `next`
//! visits every matching feature exactly once.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use geo::Intersects;

use super::super::AppState;
use super::super::geojson::{self, FacilityExtra, NoExtra, WriteJson};
use super::super::params::Params;
use super::super::problem::ApiError;
use super::cql;
use super::crs::{self, Crs};
use super::meta::{self, Meta, NO_DAY};
use super::queryables::{self, Filter, Item};
use super::{Base, DEFAULT_LIMIT, Format, GEOJSON, HTML, JSON, Link, MAX_LIMIT, html};
use crate::geodata::FeatureRef;
use crate::index::{Atlas, BBox};
use crate::model::{Layer, LonLat};

/// A closed range of days (from the common era), either end open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    start: i32,
    end: i32,
}

/// The day of an open start (above [`NO_DAY`], which no span contains).
const OPEN_START: i32 = i32::MIN + 1;
/// The day of an open end.
const OPEN_END: i32 = i32::MAX;

impl Span {
    fn contains(self, day: i32) -> bool {
        day != NO_DAY && self.start <= day && day <= self.end
    }
}

/// One end of a `datetime`: a date, or a date-time taken as its day in China
/// (the `updated` dates are China dates).
fn instant(s: &str) -> Result<i32, String> {
    // GDAL writes a date filter as `2024-01-01T`, and times as `…T10Z` or `…T10:30Z`.
    let s = s.trim();
    let date = s.strip_suffix('T').unwrap_or(s);
    if date.len() == 10
        && let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
    {
        return Ok(d.num_days_from_ce());
    }
    let utc = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ")
                .or_else(|_| NaiveDateTime::parse_from_str(&format!("{s}:00"), "%Y-%m-%dT%HZ:%M"))
                .map(|t| t.and_utc())
        })
        .map_err(|_| {
            format!(
                "'{s}' is not a date (2024-01-01) or an RFC 3339 date-time (2024-01-01T08:00:00Z)"
            )
        })?;
    Ok(utc
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .num_days_from_ce())
}

/// Takes `datetime`: an instant, or an interval `a/b`, `../b`, `a/..` (an empty
/// end is open too).
fn datetime(p: &mut Params) -> Option<Span> {
    let raw = p.raw("datetime")?;
    let parsed = match raw.split_once('/') {
        None => instant(&raw).map(|d| Span { start: d, end: d }),
        Some((a, b)) => {
            let end = |s: &str, open: i32| match s.trim() {
                "" | ".." => Ok(open),
                s => instant(s),
            };
            match (end(a, OPEN_START), end(b, OPEN_END)) {
                (Ok(OPEN_START), Ok(OPEN_END)) => {
                    Err("an interval needs at least one end ('../..' is everything: leave datetime out)".to_owned())
                }
                (Ok(start), Ok(end)) if start > end => {
                    Err(format!("the interval '{raw}' ends before it starts"))
                }
                (Ok(start), Ok(end)) => Ok(Span { start, end }),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
    };
    match parsed {
        Ok(span) => Some(span),
        Err(reason) => {
            p.problem("datetime", reason);
            None
        }
    }
}

/// Takes `bbox`: `minlon,minlat,maxlon,maxlat`, or six numbers with heights
/// (ignored), in CRS84; in `minlat,minlon,maxlat,maxlon` order for a
/// latitude-first `crs`; `minlon > maxlon` crosses the antimeridian.
fn bbox(p: &mut Params, crs: Crs) -> Option<BBox> {
    let raw = p.raw("bbox")?;
    let nums: Vec<Option<f64>> = raw
        .split(',')
        .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    let corners = match nums[..] {
        [Some(a), Some(b), Some(c), Some(d)] => Some((a, b, c, d)),
        [Some(a), Some(b), Some(_), Some(c), Some(d), Some(_)] => Some((a, b, c, d)),
        _ => None,
    };
    let corners = match corners {
        Some((a, b, c, d)) if crs.lat_first() => Some((b, a, d, c)),
        other => other,
    };
    let Some((min_lon, min_lat, max_lon, max_lat)) = corners else {
        let order = if crs.lat_first() {
            "minlat,minlon,maxlat,maxlon (bbox-crs is latitude first)"
        } else {
            "minlon,minlat,maxlon,maxlat"
        };
        p.problem(
            "bbox",
            format!("'{raw}' is not four (or six) numbers {order}"),
        );
        return None;
    };
    if let Err(e) = LonLat::new(min_lon, min_lat).and_then(|_| LonLat::new(max_lon, max_lat)) {
        p.problem("bbox", e.to_string());
        return None;
    }
    if min_lat > max_lat {
        p.problem(
            "bbox",
            format!("minlat {min_lat} is north of maxlat {max_lat}"),
        );
        return None;
    }
    Some(BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    })
}

/// Takes `limit`: at least 1; more than [`MAX_LIMIT`] is clamped to it.
fn limit(p: &mut Params) -> usize {
    let Some(raw) = p.raw("limit") else {
        return DEFAULT_LIMIT;
    };
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is still "more than the maximum".
        let n = raw.parse::<u64>().unwrap_or(u64::MAX);
        if n >= 1 {
            return usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
        }
    }
    p.problem(
        "limit",
        format!("'{raw}' is not a whole number of at least 1"),
    );
    DEFAULT_LIMIT
}

/// The layer's features inside `b`, in index order. A park given as a polygon
/// counts when the polygon meets the box, wherever its centroid is.
fn in_bbox(atlas: &Atlas, meta: &Meta, layer: Layer, b: &BBox) -> Vec<u32> {
    let mut ids = atlas.in_bbox(layer, b);
    if layer != Layer::Park || meta.polygons.is_empty() {
        return ids;
    }
    let rects: Vec<geo::Rect<f64>> = if b.min_lon <= b.max_lon {
        vec![geo::Rect::new(
            geo::coord! { x: b.min_lon, y: b.min_lat },
            geo::coord! { x: b.max_lon, y: b.max_lat },
        )]
    } else {
        vec![
            geo::Rect::new(
                geo::coord! { x: b.min_lon, y: b.min_lat },
                geo::coord! { x: 180.0, y: b.max_lat },
            ),
            geo::Rect::new(
                geo::coord! { x: -180.0, y: b.min_lat },
                geo::coord! { x: b.max_lon, y: b.max_lat },
            ),
        ]
    };
    let polygon_ids: Vec<u32> = meta.polygons.iter().map(|p| p.index).collect();
    ids.retain(|i| polygon_ids.binary_search(i).is_err());
    ids.extend(
        meta.polygons
            .iter()
            .filter(|p| {
                rects
                    .iter()
                    .any(|r| r.intersects(&p.bounds) && r.intersects(&p.shape))
            })
            .map(|p| p.index),
    );
    ids.sort_unstable();
    ids
}

/// What a request selects.
struct Selection {
    bbox: Option<BBox>,
    when: Option<Span>,
    filters: Vec<Filter>,
    cql: Option<cql::Filter>,
}

/// The geometry of feature `i` of `layer`, for a spatial predicate.
fn geom<'a>(atlas: &Atlas, meta: &'a Meta, layer: Layer, i: u32) -> cql::Geom<'a> {
    let position = if layer == Layer::Park {
        if let Ok(k) = meta.polygons.binary_search_by_key(&i, |p| p.index) {
            let p = &meta.polygons[k];
            return cql::Geom::Shape(&p.shape, &p.bounds);
        }
        atlas.park(i).position
    } else {
        atlas.facility(i).position
    };
    cql::Geom::Point(geo::Point::new(position.lon(), position.lat()))
}

/// The features of `layer` the selection matches, in index order.
fn select(atlas: &Atlas, meta: &Meta, layer: Layer, s: &Selection) -> Vec<u32> {
    let data = atlas.data();
    let index_box = s
        .bbox
        .or_else(|| s.cql.as_ref().and_then(cql::Filter::index_box));
    let mut ids: Vec<u32> = match (&index_box, layer) {
        (Some(b), _) => in_bbox(atlas, meta, layer, b),
        (None, Layer::Park) => (0..data.parks.len() as u32).collect(),
        (None, _) => data
            .facilities
            .iter()
            .enumerate()
            .filter(|(_, f)| f.layer == layer)
            .map(|(i, _)| i as u32)
            .collect(),
    };
    if s.when.is_some() || !s.filters.is_empty() || s.cql.is_some() {
        let (days, park) = if layer == Layer::Park {
            (&meta.park_days, true)
        } else {
            (&meta.facility_days, false)
        };
        ids.retain(|&i| {
            let day = days.get(i as usize).copied().unwrap_or(NO_DAY);
            let item = if park {
                Item::Park(atlas.park(i))
            } else {
                Item::Facility(atlas.facility(i))
            };
            s.when.is_none_or(|w| w.contains(day))
                && s.filters.iter().all(|f| f.matches(item, day))
                && s.cql.as_ref().is_none_or(|c| {
                    c.matches(&cql::Feature {
                        item,
                        day,
                        geom: geom(atlas, meta, layer, i),
                    })
                })
        });
    }
    ids
}

/// Appends feature `i` of `layer` as GeoJSON in `crs`; `scratch` is a buffer to
/// reuse.
fn write_feature(
    atlas: &Atlas,
    layer: Layer,
    i: u32,
    crs: Crs,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    let target = if crs.lat_first() {
        scratch.clear();
        &mut *scratch
    } else {
        &mut *out
    };
    if layer == Layer::Park {
        geojson::park(atlas.park(i), NoExtra {}).write_json(target)
    } else {
        geojson::facility(atlas, atlas.facility(i), FacilityExtra::None).write_json(target)
    }
    .map_err(ApiError::internal)?;
    if crs.lat_first() {
        crs::append_lat_first(scratch, out)?;
    }
    Ok(())
}

/// Adds `Content-Crs: <uri>` to an answer.
fn content_crs(mut response: Response, crs: Crs) -> Response {
    response.headers_mut().insert(
        "content-crs",
        HeaderValue::from_static(match crs {
            Crs::Crs84 => "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>",
            Crs::Cgcs2000 => "<http://www.opengis.net/def/crs/EPSG/0/4490>",
        }),
    );
    response
}

/// The query string of an items URL: the request's own parameters with
/// `limit`, `offset` and `f` replaced.
fn items_query(
    pairs: &[(String, String)],
    limit: Option<usize>,
    offset: usize,
    f: Format,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !["limit", "offset", "f"].contains(&k.as_str()) {
            q.append_pair(k, v);
        }
    }
    if let Some(limit) = limit {
        q.append_pair("limit", &limit.to_string());
    }
    if offset > 0 {
        q.append_pair("offset", &offset.to_string());
    }
    q.append_pair("f", f.param());
    q.finish()
}

/// `GET /ogc/collections/{layer}/items`.
pub async fn items(
    State(state): State<Arc<AppState>>,
    Path(layer): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = super::layer(&layer)?;
    let base = Base::of(&headers)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let mut p = Params::parse(query.as_deref())?;
    let f = super::format(&mut p, &headers);
    let bbox_crs = crs::take(&mut p, "bbox-crs");
    let out_crs = crs::take(&mut p, "crs");
    let selection = Selection {
        bbox: bbox(&mut p, bbox_crs),
        when: datetime(&mut p),
        filters: queryables::filters(&mut p, layer),
        cql: cql::take(&mut p, layer),
    };
    let given_limit = pairs.iter().any(|(k, _)| k == "limit");
    let limit = limit(&mut p);
    let offset = p.integer("offset", 0..=usize::MAX >> 1, 0);
    p.finish()?;
    let atlas = state.atlas()?;

    let meta = meta::of(&atlas);
    let ids = select(&atlas, &meta, layer, &selection);
    let matched = ids.len();
    let page = ids
        .get(offset.min(matched)..matched.min(offset.saturating_add(limit)))
        .unwrap_or(&[]);

    let path = format!("/collections/{layer}/items");
    let url = |limit: Option<usize>, offset: usize, f: Format| {
        format!(
            "{}?{}",
            base.ogc(&path),
            items_query(&pairs, limit, offset, f)
        )
    };
    let this = given_limit.then_some(limit);
    let mut links = match f {
        Format::Json => vec![
            Link::new(
                url(this, offset, Format::Json),
                "self",
                GEOJSON,
                "此页 / This page",
            ),
            Link::new(
                url(this, offset, Format::Html),
                "alternate",
                HTML,
                "此页的网页版本 / This page as HTML",
            ),
        ],
        Format::Html => vec![
            Link::new(
                url(this, offset, Format::Html),
                "self",
                HTML,
                "此页 / This page",
            ),
            Link::new(
                url(this, offset, Format::Json),
                "alternate",
                GEOJSON,
                "此页的 GeoJSON 版本 / This page as GeoJSON",
            ),
        ],
    };
    let (media, page_f) = match f {
        Format::Json => (GEOJSON, Format::Json),
        Format::Html => (HTML, Format::Html),
    };
    if offset.saturating_add(limit) < matched {
        links.push(Link::new(
            url(Some(limit), offset + limit, page_f),
            "next",
            media,
            "下一页 / Next page",
        ));
    }
    if offset > 0 {
        links.push(Link::new(
            url(Some(limit), offset.saturating_sub(limit), page_f),
            "prev",
            media,
            "上一页 / Previous page",
        ));
    }
    links.push(Link::new(
        base.ogc_f(&format!("/collections/{layer}"), Format::Json),
        "collection",
        JSON,
        "数据集 / The collection",
    ));

    // A facility feature is about 600 bytes of JSON.
    let mut out = Vec::with_capacity(1024 + 700 * page.len());
    out.extend_from_slice(br#"{"type":"FeatureCollection","numberMatched":"#);
    out.extend_from_slice(matched.to_string().as_bytes());
    out.extend_from_slice(br#","numberReturned":"#);
    out.extend_from_slice(page.len().to_string().as_bytes());
    out.extend_from_slice(br#","timeStamp":"#);
    let stamp = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    out.extend_from_slice(&serde_json::to_vec(&stamp).map_err(ApiError::internal)?);
    out.extend_from_slice(br#","links":"#);
    out.extend_from_slice(&serde_json::to_vec(&links).map_err(ApiError::internal)?);
    out.extend_from_slice(br#","features":["#);
    let mut scratch = Vec::new();
    for (k, i) in page.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        write_feature(&atlas, layer, *i, out_crs, &mut scratch, &mut out)?;
    }
    out.extend_from_slice(b"]}");
    let response = match f {
        Format::Json => super::respond(&state, GEOJSON, out),
        Format::Html => {
            let doc: serde_json::Value =
                serde_json::from_slice(&out).map_err(ApiError::internal)?;
            super::respond_html(&state, html::items(&base, layer, offset, &doc))
        }
    };
    Ok(content_crs(response, out_crs))
}

/// `GET /ogc/collections/{layer}/items/{id}`: one feature of that layer.
pub async fn item(
    State(state): State<Arc<AppState>>,
    Path((layer, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // 404, then 400, then 503 (the order of every route: see `params`).
    let layer = super::layer(&layer)?;
    let find = |atlas: &crate::index::Atlas| match atlas.get(&id) {
        Some(FeatureRef::Facility(i)) if atlas.facility(i).layer == layer => Ok(i),
        Some(FeatureRef::Park(i)) if layer == Layer::Park => Ok(i),
        _ => Err(ApiError::NotFound(format!(
            "no feature '{id}' in the collection {layer}"
        ))),
    };
    if let Some(atlas) = state.atlas.load_full() {
        find(&atlas)?;
    }
    let base = Base::of(&headers)?;
    let mut p = Params::parse(query.as_deref())?;
    let f = super::format(&mut p, &headers);
    let out_crs = crs::take(&mut p, "crs");
    p.finish()?;
    let atlas = state.atlas()?;
    let index = find(&atlas)?;
    let path = format!("/collections/{layer}/items/{}", segment(&id));
    let [this, other] = super::self_links(&base, &path, f, GEOJSON);
    let links = [
        this,
        other,
        Link::new(
            base.ogc_f(&format!("/collections/{layer}"), Format::Json),
            "collection",
            JSON,
            "数据集 / The collection",
        ),
    ];
    let mut out = Vec::with_capacity(2048);
    write_feature(&atlas, layer, index, out_crs, &mut Vec::new(), &mut out)?;
    // The feature is one JSON object: open it again to add its links.
    if out.pop() != Some(b'}') {
        return Err(ApiError::Internal("a feature did not end with '}'".into()));
    }
    out.extend_from_slice(br#","links":"#);
    out.extend_from_slice(&serde_json::to_vec(&links).map_err(ApiError::internal)?);
    out.push(b'}');
    let response = match f {
        Format::Json => super::respond(&state, GEOJSON, out),
        Format::Html => {
            let doc: serde_json::Value =
                serde_json::from_slice(&out).map_err(ApiError::internal)?;
            super::respond_html(&state, html::item(&base, layer, &doc))
        }
    };
    Ok(content_crs(response, out_crs))
}

/// `s` as one URL path segment: unreserved characters kept, every other byte
/// percent-encoded.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(q: &str) -> Result<Option<Span>, Vec<String>> {
        let mut p = Params::parse(Some(q)).unwrap();
        let s = datetime(&mut p);
        match p.finish() {
            Ok(()) => Ok(s),
            Err(ApiError::InvalidParams(v)) => Err(v.into_iter().map(|p| p.reason).collect()),
            Err(e) => panic!("{e}"),
        }
    }

    fn day(s: &str) -> i32 {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .unwrap()
            .num_days_from_ce()
    }

    #[test]
    fn datetime_takes_instants_and_intervals() {
        let d = day("2024-01-01");
        assert_eq!(
            span("datetime=2024-01-01").unwrap(),
            Some(Span { start: d, end: d })
        );
        // GDAL's form of a date.
        assert_eq!(
            span("datetime=2024-01-01T").unwrap(),
            Some(Span { start: d, end: d })
        );
        // 2023-12-31T20:00Z is 04:00 on 1 January in China.
        assert_eq!(
            span("datetime=2023-12-31T20:00:00Z").unwrap(),
            Some(Span { start: d, end: d })
        );
        assert_eq!(
            span("datetime=2023-12-31T20Z").unwrap(),
            Some(Span { start: d, end: d })
        );
        let open_end = span("datetime=2024-01-01/..").unwrap().unwrap();
        assert!(
            open_end.contains(d)
                && open_end.contains(day("2030-01-01"))
                && !open_end.contains(d - 1)
        );
        let open_start = span("datetime=../2024-01-01").unwrap().unwrap();
        assert!(
            open_start.contains(d) && !open_start.contains(d + 1) && !open_start.contains(NO_DAY)
        );
        assert!(span("datetime=/2024-01-01").unwrap().is_some());
        assert!(span("datetime=2024-02-01/2024-01-01").is_err());
        assert!(span("datetime=../..").is_err());
        assert!(span("datetime=yesterday").is_err());
    }

    #[test]
    fn limit_is_clamped_not_refused() {
        let take = |q: &str| {
            let mut p = Params::parse(Some(q)).unwrap();
            let l = limit(&mut p);
            p.finish().map(|()| l).map_err(|_| ())
        };
        assert_eq!(take(""), Ok(DEFAULT_LIMIT));
        assert_eq!(take("limit=5"), Ok(5));
        assert_eq!(take("limit=1000000"), Ok(MAX_LIMIT));
        assert_eq!(take("limit=99999999999999999999999"), Ok(MAX_LIMIT));
        assert_eq!(take("limit=0"), Err(()));
        assert_eq!(take("limit=-3"), Err(()));
        assert_eq!(take("limit=ten"), Err(()));
    }

    #[test]
    fn bbox_takes_four_or_six_numbers() {
        let take = |q: &str| {
            let mut p = Params::parse(Some(q)).unwrap();
            let b = bbox(&mut p, Crs::Crs84);
            p.finish().map(|()| b).map_err(|_| ())
        };
        assert!(matches!(take("bbox=118,34,119,35"), Ok(Some(_))));
        assert!(matches!(take("bbox=118,34,0,119,35,100"), Ok(Some(b)) if b.max_lon == 119.0));
        assert!(take("bbox=118,34,119").is_err());
        assert!(take("bbox=118,35,119,34").is_err());
        assert!(take("bbox=118,34,119,95").is_err());
    }
}
