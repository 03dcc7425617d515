//! The shapes of the API's answers, for the OpenAPI document.
//!
//! The answers themselves are written by `super::geojson` and by the handlers; these
//! types describe them (a feature's own properties by the model's one type,
//! [`crate::model::FacilityProperties`] and [`crate::model::ParkProperties`]). The integration
//! tests hold every answer they receive to these schemas (`tests/common::documented`),
//! and the feature properties are closed (`additionalProperties: false`), so a field
//! written but not described here fails the suite. Value lists (layers, amenities,
//! grades, union statuses) come from the model's own constants.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Ref, Schema, Type};
use utoipa::openapi::{RefOr, SchemaFormat};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

use crate::model::{Amenity, Layer};

fn strings(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// A layer id.
pub fn layer() -> Schema {
    strings(Layer::ALL.iter().map(|l| l.id()))
        .description(Some("a layer id"))
        .into()
}

/// A facility layer id.
pub fn facility_layer() -> Schema {
    facility_layer_strings().into()
}

fn facility_layer_strings() -> ObjectBuilder {
    strings(
        Layer::ALL
            .iter()
            .filter(|l| l.is_facility())
            .map(|l| l.id()),
    )
    .description(Some("a facility layer id"))
}

/// The amenities a facility has, from the shared vocabulary.
pub fn amenities() -> Schema {
    ArrayBuilder::new()
        .items(strings(Amenity::ALL.iter().map(|a| a.id())))
        .into()
}

/// An RFC 9457 problem: what went wrong and, for bad input, each field at fault.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[schema(rename = "type")]
    kind: String,
    /// The status's reason phrase.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, in words.
    detail: String,
    /// Each parameter or field at fault (absent when none is).
    #[schema(rename = "invalid-params")]
    invalid_params: Option<Vec<super::InvalidParam>>,
}

/// The errors of a read: bad parameters, data still loading.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ReadErrors {
    /// A bad or unknown parameter, each named in `invalid-params`.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// The data is still loading.
    #[response(status = 503, content_type = "application/problem+json")]
    NotReady(Problem),
}

/// The errors of a request that needs an editor's token.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum TokenErrors {
    /// No token, or an unknown or revoked one (`WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token may not do this (role, city), or the write came from another site's page.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The server serves a data directory read-only (no database).
    #[response(status = 405, content_type = "application/problem+json")]
    ReadOnly(Problem),
    /// Too many failed authentications from this address (`Retry-After`).
    #[response(status = 429, content_type = "application/problem+json")]
    TooMany(Problem),
}

/// The errors of a write beyond the token's: the body, the version, the rules.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum WriteErrors {
    /// A body that is not JSON, or a bad parameter.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No such feature.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The id is taken.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// `If-Match` named another version than the stored one.
    #[response(status = 412, content_type = "application/problem+json")]
    Stale(Problem),
    /// The body is larger than the route accepts (`limits.max_feature_bytes`, 1 MiB by
    /// default, for a feature; `limits.max_import_bytes` for an import).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The feature breaks the data rules: each field at fault in `invalid-params`.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

/// A GeoJSON point (WGS-84 longitude, latitude).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Point {
    /// `Point`.
    #[schema(rename = "type", pattern = "^Point$")]
    kind: String,
    /// Longitude, latitude in WGS-84 degrees.
    #[schema(min_items = 2, max_items = 2)]
    coordinates: Vec<f64>,
}

/// Where to navigate to the feature with each map app (coordinates in each app's system).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NavLinks {
    /// Amap (高德), GCJ-02.
    amap: String,
    /// Baidu (百度), BD-09.
    baidu: String,
    /// Apple Maps.
    apple: String,
    /// OpenStreetMap.
    osm: String,
}

/// The schemas whose objects may hold no member they do not describe.
pub const CLOSED: &[&str] = &[
    "FacilityProperties",
    "ReportRequest",
    "SitingRequest",
    "AlongRequest",
];

/// What a query adds to a facility's properties.
#[derive(ToSchema)]
#[allow(dead_code)]
struct FacilityExtras {
    /// Nearest and search answers: metres from the query point (geodesic).
    distance_m: Option<u64>,
    /// Nearest answers: initial bearing from the query point, degrees.
    bearing_deg: Option<f64>,
    /// Whether it is open at the time asked (null: hours unknown).
    open_now: Option<bool>,
    /// Navigation links (nearest answers and single features).
    links: Option<NavLinks>,
    /// Along a route: metres along the route to the closest point.
    along_m: Option<u64>,
    /// Along a route: metres off the route.
    offset_m: Option<u64>,
    /// Along a route: `left` or `right` of the direction of travel.
    side: Option<String>,
    /// Along a route: the detour there and back, metres.
    detour_m: Option<u64>,
    /// Along a route with `depart` and `speed_kmh`: the arrival time (China time).
    eta: Option<String>,
    /// Along a route: open at the arrival time (null: hours unknown or no `depart`).
    open_on_arrival: Option<bool>,
}

/// `own`'s schema (the model's properties, derived from their one type) with
/// `layer` required (answers always write it), `extra`'s members added, and
/// `description`.
fn properties_with(
    own: RefOr<Schema>,
    extra: Option<RefOr<Schema>>,
    description: &str,
) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = own else {
        return own;
    };
    if let Some(RefOr::T(Schema::Object(extra))) = extra {
        object.properties.extend(extra.properties);
    }
    if !object.required.iter().any(|r| r == "layer") {
        object.required.insert(1, "layer".into());
    }
    object.description = Some(description.into());
    RefOr::T(Schema::Object(object))
}

/// A facility's properties: its own, its provenance, and what a query adds.
pub struct FacilityProperties;

impl PartialSchema for FacilityProperties {
    fn schema() -> RefOr<Schema> {
        properties_with(
            crate::model::FacilityProperties::schema(),
            Some(FacilityExtras::schema()),
            "A facility's properties: its own, its provenance, and what a query adds.",
        )
    }
}

impl ToSchema for FacilityProperties {
    fn name() -> std::borrow::Cow<'static, str> {
        "FacilityProperties".into()
    }
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <FacilityExtras as ToSchema>::schemas(schemas);
    }
}

/// A facility as a GeoJSON Feature.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FacilityFeature {
    #[schema(rename = "type", pattern = "^Feature$")]
    kind: String,
    id: String,
    geometry: Point,
    properties: FacilityProperties,
}

/// An industrial park's properties, its union status and counts; the coverage
/// analyses add their figures.
pub struct ParkProperties;

impl PartialSchema for ParkProperties {
    fn schema() -> RefOr<Schema> {
        properties_with(
            crate::model::ParkProperties::schema(),
            None,
            "An industrial park's properties, its union status and counts; the coverage \
             analyses add their figures.",
        )
    }
}

impl ToSchema for ParkProperties {
    fn name() -> std::borrow::Cow<'static, str> {
        "ParkProperties".into()
    }
}

/// A park as a GeoJSON Feature (a point or its outline).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ParkFeature {
    #[schema(rename = "type", pattern = "^Feature$")]
    kind: String,
    id: String,
    /// A GeoJSON geometry.
    #[schema(value_type = Object)]
    geometry: serde_json::Value,
    properties: ParkProperties,
}

/// A facility or a park (a GeoJSON Feature either way).
pub struct AnyFeature;

impl PartialSchema for AnyFeature {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(FacilityFeature::name()))
            .item(Ref::from_schema_name(ParkFeature::name()))
            .description(Some("A facility or a park."))
            .into()
    }
}

impl ToSchema for AnyFeature {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((FacilityFeature::name().into(), FacilityFeature::schema()));
        <FacilityFeature as ToSchema>::schemas(schemas);
        schemas.push((ParkFeature::name().into(), ParkFeature::schema()));
        <ParkFeature as ToSchema>::schemas(schemas);
    }
}

/// A GeoJSON FeatureCollection with paging counts.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FeatureCollection {
    #[schema(rename = "type", pattern = "^FeatureCollection$")]
    kind: String,
    /// Features matching the query (before `limit`/`offset`).
    #[schema(rename = "numberMatched")]
    number_matched: u64,
    /// Features in this answer.
    #[schema(rename = "numberReturned")]
    number_returned: u64,
    features: Vec<AnyFeature>,
}

/// Facilities as a GeoJSON FeatureCollection.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Facilities {
    #[schema(rename = "type", pattern = "^FeatureCollection$")]
    kind: String,
    #[schema(rename = "numberMatched")]
    number_matched: u64,
    #[schema(rename = "numberReturned")]
    number_returned: u64,
    features: Vec<FacilityFeature>,
}

/// A city or district from our own data that matches a search.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Place {
    /// `city` or `district`.
    #[schema(pattern = "^(city|district)$")]
    kind: String,
    name: String,
    name_en: Option<String>,
    /// A district's city.
    city: Option<String>,
    /// `[lon, lat]`: where to move the map.
    centre: Vec<f64>,
    /// `[minlon, minlat, maxlon, maxlat]` of its facilities.
    bbox: Vec<f64>,
    /// How many facilities it holds.
    count: u64,
}

/// A search's answer: facilities best first, then matching places.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SearchAnswer {
    #[schema(rename = "type", pattern = "^FeatureCollection$")]
    kind: String,
    #[schema(rename = "numberReturned")]
    number_returned: u64,
    features: Vec<FacilityFeature>,
    places: Vec<Place>,
}

/// What `POST /api/v1/along` takes as JSON (a GPX body takes the other fields in
/// the query string).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlongRequest {
    /// The route: a GeoJSON LineString or MultiLineString, an encoded polyline
    /// (precision 5 or 6), or Amap's and Baidu's `"lon,lat;lon,lat;…"`. At most
    /// 100,000 vertices and 10,000 km.
    #[schema(schema_with = route)]
    route: serde_json::Value,
    /// The route's coordinate system: `wgs84` (default), `gcj02` (Amap), `bd09` (Baidu).
    #[schema(pattern = "^(wgs84|cgcs2000|gcj02|bd09)$")]
    crs: Option<String>,
    /// An encoded polyline's precision.
    #[schema(minimum = 5, maximum = 6)]
    precision: Option<u8>,
    /// How far off the route a facility may be, metres (default 2,000).
    #[schema(minimum = 1, maximum = 50_000)]
    corridor_m: Option<f64>,
    /// Facility layers (default: all three).
    #[schema(schema_with = facility_layers)]
    layers: Option<Vec<String>>,
    /// Amenities every answer must have.
    #[schema(schema_with = amenities)]
    amenities: Option<Vec<String>>,
    /// Departure time (RFC 3339), for `eta` and `open_on_arrival`.
    depart: Option<String>,
    /// Average speed, km/h (needs `depart`).
    #[schema(minimum = 1, maximum = 200)]
    speed_kmh: Option<f64>,
    /// Only facilities open when the driver arrives (needs `depart`).
    open_on_arrival: Option<bool>,
    /// At most this many facilities, in route order.
    #[schema(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

fn route() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .description(Some("an encoded polyline, or \"lon,lat;lon,lat;…\"")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("type", strings(["LineString", "MultiLineString"]))
                .required("type")
                .property("coordinates", ArrayBuilder::new().min_items(Some(2)))
                .required("coordinates")
                .description(Some("a GeoJSON LineString or MultiLineString")),
        )
        .into()
}

fn facility_layers() -> Schema {
    ArrayBuilder::new().items(facility_layer_strings()).into()
}

/// The facilities along a route, in route order.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlongAnswer {
    #[schema(rename = "type", pattern = "^FeatureCollection$")]
    kind: String,
    /// The route's length, metres (geodesic).
    route_length_m: u64,
    #[schema(rename = "numberMatched")]
    number_matched: u64,
    #[schema(rename = "numberReturned")]
    number_returned: u64,
    features: Vec<FacilityFeature>,
}

/// A problem report about a station, as JSON.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportRequest {
    /// What is wrong.
    #[schema(schema_with = report_kind)]
    kind: String,
    /// In the sender's words (at most 500 characters).
    #[schema(max_length = 500)]
    note: Option<String>,
}

fn report_kind() -> Schema {
    strings(crate::store::ReportKind::ALL.iter().map(|k| k.id())).into()
}

/// A link.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Link {
    rel: String,
    href: String,
}

/// A layer: its names, kind, feature count and extent.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LayerInfo {
    #[schema(schema_with = layer)]
    id: String,
    name_zh: String,
    name_en: String,
    /// `facility` or `park`.
    #[schema(pattern = "^(facility|park)$")]
    kind: String,
    count: u64,
    /// `[minlon, minlat, maxlon, maxlat]`, null for an empty layer.
    bbox: Option<Vec<f64>>,
    links: Vec<Link>,
}

/// Every layer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Layers {
    layers: Vec<LayerInfo>,
}

/// Any JSON object (answers described in words in the operation; named only in
/// `#[utoipa::path]` attributes).
#[allow(dead_code)]
pub struct Object;

impl PartialSchema for Object {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Object).into()
    }
}

impl ToSchema for Object {}

/// A file download.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("binary".into())))
            .into()
    }
}

impl ToSchema for Binary {}
