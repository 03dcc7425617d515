//! The registry's routes: authenticated edits of features, their history and
//! reverts, imports with their row reports, and `whoami`.
//!
//! - Every write needs `Authorization: Bearer <token>` (401 with
//!   `WWW-Authenticate: Bearer` without one); an editor limited to a city gets 403
//!   outside it. Repeated failed authentication from one address gets 429 with
//!   `Retry-After`.
//! - Writes are accepted only from the page's own origin (a browser's `Origin`
//!   header must name this host); reads stay open to every origin.
//! - A server started on a data directory without a database answers writes with
//!   405 saying how to start it with one.
//! - The registry's calls are blocking (SQLite, validation): they run on the
//!   blocking pool, never on the async workers.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::localize::imports::{self, Lang};
use super::params::Params;
use super::problem::{ApiError, InvalidParam};
use super::schema;
use crate::import::{self, Format, InputCrs, Options};
use crate::model::Layer;
use crate::registry::{EditError, Editor, ImportRequest, Registry, etag};
use crate::store::{Role, Stored};

type ApiResult = Result<Response, ApiError>;

/// The window of `failed_sign_ins_per_minute` (see `ServeOptions`).
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Failed authentications by client address.
#[derive(Default)]
pub struct Failures(Mutex<HashMap<IpAddr, (u32, Instant)>>);

impl Failures {
    fn blocked(&self, ip: IpAddr, max_failures: u32) -> Option<u64> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = map.get(&ip)?;
        let left = FAILURE_WINDOW.checked_sub(since.elapsed())?;
        (*count >= max_failures).then(|| left.as_secs().max(1))
    }

    fn record(&self, ip: IpAddr) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = map.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

/// The client's address, when the server was started with connection info.
pub struct ClientAddr(pub(super) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

pub(super) fn registry(state: &AppState) -> Result<Arc<Registry>, ApiError> {
    match state.registry.get() {
        Some(r) => Ok(r.clone()),
        None if state.atlas.load().is_some() => Err(ApiError::ReadOnly),
        None => Err(ApiError::NotReady),
    }
}

/// Runs a blocking registry call off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EditError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(edit_error)
}

fn edit_error(e: EditError) -> ApiError {
    match e {
        EditError::Invalid(problems) => ApiError::InvalidBody(
            problems
                .into_iter()
                .map(|p| InvalidParam::new(p.field, p.reason))
                .collect(),
        ),
        EditError::Malformed(m) => ApiError::BadBody(m),
        EditError::NotFound(m) => ApiError::NotFound(m),
        EditError::Conflict(m) => ApiError::Conflict(m),
        EditError::Precondition(m) => ApiError::PreconditionFailed(m),
        EditError::Forbidden(m) => ApiError::Forbidden(m),
        other => ApiError::internal(other),
    }
}

/// Checks the bearer token: the editor, or 401 / 429.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientAddr,
) -> Result<(Arc<Registry>, Editor), ApiError> {
    let registry = registry(state)?;
    if let Some(ip) = client.0
        && let Some(secs) = state
            .failures
            .blocked(ip, state.options().failed_sign_ins_per_minute)
    {
        return Err(ApiError::TooManyRequests(secs));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let Some(token) = given else {
        return Err(ApiError::Unauthorized(
            "this needs a token: Authorization: Bearer <token> (waystation token create)".into(),
        ));
    };
    let r = registry.clone();
    let found = tokio::task::spawn_blocking(move || r.store().authenticate(&token))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    match found {
        Some(token) => Ok((registry, Editor { token })),
        None => {
            if let Some(ip) = client.0 {
                state.failures.record(ip);
            }
            Err(ApiError::Unauthorized(
                "the token is unknown or revoked".into(),
            ))
        }
    }
}

/// Writes only from the page's own origin, or one of the configured `write_origins`
/// (exact `scheme://host[:port]`): a browser sends `Origin`, and it must name the host
/// the request was sent to or a listed one. Tools that send no `Origin` pass.
pub(super) fn origin_allowed(headers: &HeaderMap, also: &[String]) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    if (origin_host.is_some() && origin_host == host)
        || also.iter().any(|o| o.eq_ignore_ascii_case(origin))
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "writes are accepted from this server's own pages only, not from {origin}"
        )))
    }
}

/// Authentication and origin, for every write.
pub(super) async fn writer(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientAddr,
) -> Result<(Arc<Registry>, Editor), ApiError> {
    origin_allowed(headers, &state.options().write_origins)?;
    authenticate(state, headers, client).await
}

/// The request body, refused with 413 past `limit` bytes.
pub(super) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::BadBody(format!("the body could not be read: {e}"))
        }
    })
}

fn json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadBody(format!("the body is not JSON: {e}")))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A stored feature as an answer: the GeoJSON body with its `ETag`.
fn stored_response(status: StatusCode, stored: &Stored) -> ApiResult {
    let tag = HeaderValue::from_str(&etag(&stored.body)).map_err(ApiError::internal)?;
    let mut response = (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        stored.body.clone(),
    )
        .into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response.extensions_mut().insert(super::ExactBytes);
    if status == StatusCode::CREATED {
        let location = HeaderValue::from_str(&format!("/api/v1/features/{}", stored.id))
            .map_err(ApiError::internal)?;
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `POST /api/v1/features`: a new feature (a GeoJSON Feature, `layer` in properties).
#[utoipa::path(post, path = "/features", tag = "registry", security(("token" = [])),
    summary = "Adds a feature",
    description = "A GeoJSON Feature with `layer` in its properties; the id is assigned when absent. Validated as the loader validates files: every field at fault is named. Audited; served by nearest and the layers once the answer comes.",
    request_body(content = schema::AnyFeature, content_type = "application/geo+json"),
    responses(
        (status = 201, description = "stored (`Location`, `ETag`)", body = schema::AnyFeature, content_type = "application/geo+json"),
        schema::TokenErrors, schema::WriteErrors,
    ))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let (registry, editor) = writer(&state, &headers, &client).await?;
    let feature = json_body(&read_body(body, state.options().max_feature_bytes).await?)?;
    let stored = blocking(move || registry.create(&editor, feature)).await?;
    stored_response(StatusCode::CREATED, &stored)
}

/// `PUT /api/v1/features/{id}`: replaces a feature (`If-Match` honoured).
#[utoipa::path(put, path = "/features/{id}", tag = "registry", security(("token" = [])),
    summary = "Replaces a feature",
    params(("id" = String, Path, description = "the feature's id"), ("If-Match" = Option<String>, Header, description = "the ETag of the version this edit starts from")),
    request_body(content = schema::AnyFeature, content_type = "application/geo+json"),
    responses(
        (status = 200, description = "stored (`ETag`)", body = schema::AnyFeature, content_type = "application/geo+json"),
        schema::TokenErrors, schema::WriteErrors,
    ))]
pub async fn replace(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let (registry, editor) = writer(&state, &headers, &client).await?;
    let feature = json_body(&read_body(body, state.options().max_feature_bytes).await?)?;
    let tag = if_match(&headers);
    let stored = blocking(move || registry.replace(&editor, &id, feature, tag.as_deref())).await?;
    stored_response(StatusCode::OK, &stored)
}

/// `PATCH /api/v1/features/{id}`: a JSON merge patch (RFC 7396) of a feature.
#[utoipa::path(patch, path = "/features/{id}", tag = "registry", security(("token" = [])),
    summary = "Changes some of a feature's fields",
    description = "A JSON merge patch (RFC 7396): `{\"properties\": {\"opening_hours\": \"24/7\"}}`; null removes a field.",
    params(("id" = String, Path, description = "the feature's id"), ("If-Match" = Option<String>, Header, description = "the ETag of the version this edit starts from")),
    request_body(content = schema::Object, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "stored (`ETag`)", body = schema::AnyFeature, content_type = "application/geo+json"),
        schema::TokenErrors, schema::WriteErrors,
    ))]
pub async fn patch(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let (registry, editor) = writer(&state, &headers, &client).await?;
    let body = read_body(body, state.options().max_feature_bytes).await?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = kind.split(';').next().unwrap_or("").trim();
    if !essence.is_empty()
        && essence != "application/merge-patch+json"
        && essence != "application/json"
    {
        return Err(ApiError::param(
            "Content-Type",
            format!("'{kind}': a PATCH body is application/merge-patch+json"),
        ));
    }
    let patch = json_body(&body)?;
    let tag = if_match(&headers);
    let stored = blocking(move || registry.patch(&editor, &id, &patch, tag.as_deref())).await?;
    stored_response(StatusCode::OK, &stored)
}

/// `DELETE /api/v1/features/{id}`: removes a feature (kept in its history).
#[utoipa::path(delete, path = "/features/{id}", tag = "registry", security(("token" = [])),
    summary = "Removes a feature (kept in its history)",
    params(("id" = String, Path, description = "the feature's id"), ("If-Match" = Option<String>, Header, description = "the ETag of the version this edit starts from")),
    responses(
        (status = 204, description = "removed"),
        schema::TokenErrors, schema::WriteErrors,
    ))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    client: ClientAddr,
    headers: HeaderMap,
) -> ApiResult {
    let (registry, editor) = writer(&state, &headers, &client).await?;
    let tag = if_match(&headers);
    blocking(move || registry.delete(&editor, &id, tag.as_deref())).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/features/{id}/history`: every change, oldest first (token needed).
#[utoipa::path(get, path = "/features/{id}/history", tag = "registry", security(("token" = [])),
    summary = "Every change of a feature, oldest first",
    description = "Each entry: `n`, who (the token's name), when, the operation, the import id if any, and the feature after it (`null` once deleted). A seeded feature's first state is entry 0.",
    params(("id" = String, Path, description = "the feature's id")),
    responses(
        (status = 200, description = "`{\"history\": [entries]}`", body = schema::Object),
        (status = 400, description = "an unknown parameter (this route takes none)", body = schema::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no feature with this id was ever stored", body = schema::Problem, content_type = "application/problem+json"),
        schema::TokenErrors,
    ))]
pub async fn history(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    client: ClientAddr,
    headers: HeaderMap,
) -> ApiResult {
    let (registry, _) = authenticate(&state, &headers, &client).await?;
    Params::none(query.as_deref())?;
    let entries = blocking(move || registry.history(&id)).await?;
    Ok(axum::Json(json!({ "history": entries })).into_response())
}

/// `POST /api/v1/features/{id}/history/{n}/revert`: back to the state after entry `n`.
#[utoipa::path(post, path = "/features/{id}/history/{n}/revert", tag = "registry", security(("token" = [])),
    summary = "Brings a feature back to its state after history entry `n`",
    params(("id" = String, Path, description = "the feature's id"), ("n" = i64, Path, description = "the history entry")),
    responses(
        (status = 200, description = "stored", body = schema::AnyFeature, content_type = "application/geo+json"),
        (status = 204, description = "the feature did not exist after entry n: it is removed"),
        schema::TokenErrors, schema::WriteErrors,
    ))]
pub async fn revert(
    State(state): State<Arc<AppState>>,
    Path((id, n)): Path<(String, i64)>,
    client: ClientAddr,
    headers: HeaderMap,
) -> ApiResult {
    let (registry, editor) = writer(&state, &headers, &client).await?;
    match blocking(move || registry.revert(&editor, &id, n)).await? {
        Some(stored) => stored_response(StatusCode::OK, &stored),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// `GET /api/v1/whoami`: the token's name, role and city (to check a sign-in).
#[utoipa::path(get, path = "/whoami", tag = "registry", security(("token" = [])),
    summary = "The token's name, role and city (to check a sign-in)",
    responses(
        (status = 200, description = "`{name, role, city}`", body = schema::Object),
        (status = 400, description = "an unknown parameter (this route takes none)", body = schema::Problem, content_type = "application/problem+json"),
        schema::TokenErrors,
    ))]
pub async fn whoami(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    client: ClientAddr,
    headers: HeaderMap,
) -> ApiResult {
    let (_, editor) = authenticate(&state, &headers, &client).await?;
    Params::none(query.as_deref())?;
    let t = editor.token;
    Ok(axum::Json(json!({"name": t.name, "role": t.role, "city": t.city})).into_response())
}

/// `ETag` of the stored feature, for `GET /api/v1/features/{id}` (editors read it to
/// send `If-Match`); `None` without a database or for an unknown id.
pub async fn stored_etag(state: &AppState, id: &str) -> Option<HeaderValue> {
    let registry = state.registry.get()?.clone();
    let id = id.to_owned();
    let stored = tokio::task::spawn_blocking(move || registry.stored(&id))
        .await
        .ok()?
        .ok()??;
    HeaderValue::from_str(&etag(&stored.body)).ok()
}

/// The query of `POST /api/v1/imports` (read by [`import`] together with the
/// body's type, so that a missing format is named with the parameters).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ImportParams {
    /// The layer the rows belong to.
    #[param(value_type = String, example = "courier_station")]
    layer: Layer,
    /// The coordinates' system: `wgs84` (GPS), `cgcs2000`, `gcj02` (Amap, Tencent), `bd09` (Baidu).
    #[param(value_type = String, pattern = "^(wgs84|cgcs2000|gcj02|bd09)$")]
    crs: String,
    /// Check and report only; write nothing.
    #[param(value_type = Option<bool>, default = false)]
    dry_run: bool,
    /// Where the rows come from (kept as each feature's `source`).
    source: Option<String>,
    /// The sheet of a workbook (default: the first).
    sheet: Option<String>,
    /// Column names when the headers are not recognised: `name=站点名称,lon=东经,…`.
    map: Option<String>,
    /// The file's name (tells its format when `Content-Type` does not).
    file_name: Option<String>,
}

/// `POST /api/v1/imports?layer=&crs=&dry_run=&source=&sheet=&map=&file_name=`: the
/// file is the body (`.xlsx`, `.csv` or `.geojson`, told by `Content-Type` or
/// `file_name`); answers the import's summary and row report, 201 with `Location`.
#[utoipa::path(post, path = "/imports", tag = "registry", security(("token" = [])),
    summary = "Imports a sheet (xlsx, csv) or a GeoJSON file",
    description = "The file is the body (its type told by `Content-Type` or `file_name`) or the `file` part of a multipart form. Rows match existing features by id, else by the same layer and name within 100 m; the accepted rows are applied in one transaction. Up to `limits.max_import_bytes` (50 MiB by default).",
    params(ImportParams),
    request_body(content = schema::Binary, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 201, description = "the import's summary and row report (`Location`: its status); reasons and warnings in the language `Accept-Language` prefers", body = schema::Object),
        schema::TokenErrors, schema::WriteErrors,
    ))]
pub async fn import(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    // Who asks first: a stranger learns nothing from the parameters' problems.
    let (registry, editor) = writer(&state, &headers, &client).await?;
    let mut p = Params::parse(query.as_deref())?;
    let layer: Option<Layer> = p.parsed(
        "layer",
        "a layer (driver_home, courier_station, fitness_station, park)",
    );
    let crs: Option<InputCrs> =
        p.parsed("crs", "a coordinate system (wgs84, cgcs2000, gcj02, bd09)");
    let dry_run = p.flag("dry_run", false);
    let source = p.raw("source");
    let sheet = p.raw("sheet");
    let map = p.raw("map");
    let file_name = p.raw("file_name");
    if layer.is_none() && !p.has_problem("layer") {
        p.problem(
            "layer",
            "is required (driver_home, courier_station, fitness_station, park)",
        );
    }
    if crs.is_none() && !p.has_problem("crs") {
        p.problem(
            "crs",
            "is required (wgs84, cgcs2000, gcj02, bd09): Amap is gcj02, Baidu bd09",
        );
    }
    let map = match map.as_deref().map(Options::parse_map) {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            p.problem("map", e.to_string());
            Vec::new()
        }
        None => Vec::new(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let boundary = multer::parse_boundary(&content_type).ok();
    let format = format_of(&content_type, file_name.as_deref());
    if format.is_none() && boundary.is_none() {
        p.problem("Content-Type", FORMAT_HINT);
    }
    p.finish()?;
    let (Some(layer), Some(crs)) = (layer, crs) else {
        return Err(ApiError::internal(
            "import parameters missing without a problem",
        ));
    };
    let (body, file_name, format) = match boundary {
        Some(boundary) => {
            let (bytes, part_name, part_type) =
                file_part(body, boundary, state.options().max_import_bytes).await?;
            let file_name = file_name.or(part_name);
            let format = format_of(&part_type, file_name.as_deref())
                .ok_or_else(|| ApiError::param("file", FORMAT_HINT))?;
            (bytes, file_name, format)
        }
        None => {
            let Some(format) = format else {
                return Err(ApiError::internal("format missing without a problem"));
            };
            (
                read_body(body, state.options().max_import_bytes).await?,
                file_name,
                format,
            )
        }
    };
    let crs_label = query_value(query.as_deref(), "crs").unwrap_or_default();
    let city = match (editor.token.role, &editor.token.city) {
        (Role::Editor, Some(c)) => Some(c.clone()),
        _ => None,
    };
    let options = Options {
        layer,
        crs,
        source,
        sheet,
        map,
        today: crate::registry::today(),
    };
    let (summary, rows) = blocking(move || {
        registry.import(
            &ImportRequest {
                who: &editor.token.name,
                bytes: &body,
                format,
                file_name: file_name.as_deref(),
                options,
                crs_label: &crs_label,
                dry_run,
                city: city.as_deref(),
            },
            &mut |_, _| {},
        )
    })
    .await?;
    let location = HeaderValue::from_str(&format!("/api/v1/imports/{}", summary.id))
        .map_err(ApiError::internal)?;
    let lang = Lang::of(&headers);
    let mut response = (
        StatusCode::CREATED,
        axum::Json(json!({"import": summary, "rows": imports::rows_json(&rows, lang)})),
    )
        .into_response();
    response.headers_mut().insert(header::LOCATION, location);
    Ok(in_language(response, lang))
}

/// Says which language an import's answer is in, and that it depends on
/// `Accept-Language`.
fn in_language(mut response: Response, lang: Lang) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    headers.append(header::VARY, HeaderValue::from_static("accept-language"));
    response
}

const FORMAT_HINT: &str = "send the file as xlsx \
    (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), csv (text/csv) or \
    GeoJSON (application/geo+json), name it with file_name=, or upload it as multipart/form-data";

/// The first file of a `multipart/form-data` body (the field `file`, else the first
/// field with a file name): its bytes, file name and content type.
async fn file_part(
    body: Body,
    boundary: String,
    max_bytes: usize,
) -> Result<(Bytes, Option<String>, String), ApiError> {
    let limits = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(max_bytes as u64));
    let mut form = multer::Multipart::with_constraints(body.into_data_stream(), boundary, limits);
    let bad = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::PayloadTooLarge(max_bytes)
        }
        other => ApiError::BadBody(format!("the multipart body cannot be read: {other}")),
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        if field.name() != Some("file") && field.file_name().is_none() {
            continue;
        }
        let name = field.file_name().map(str::to_owned);
        let kind = field
            .content_type()
            .map(ToString::to_string)
            .unwrap_or_default();
        let bytes = field.bytes().await.map_err(bad)?;
        return Ok((bytes, name, kind));
    }
    Err(ApiError::param(
        "file",
        "the multipart body has no file (send it in a field named file)",
    ))
}

fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn format_of(content_type: &str, file_name: Option<&str>) -> Option<Format> {
    if let Some(f) = file_name.and_then(|n| Format::from_path(std::path::Path::new(n))) {
        return Some(f);
    }
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(Format::Xlsx),
        "text/csv" => Some(Format::Csv),
        "application/geo+json" | "application/json" => Some(Format::GeoJson),
        _ => None,
    }
}

/// `GET /api/v1/imports/{id}`: an import's state, progress and row report.
#[utoipa::path(get, path = "/imports/{id}", tag = "registry", security(("token" = [])),
    summary = "An import's state, progress and row report",
    params(("id" = i64, Path, description = "the import's id")),
    responses(
        (status = 200, description = "`{import, rows}`; each row's `reason`, `warnings` and `status_text` in the language `Accept-Language` prefers (Chinese or English, `Content-Language`)", body = schema::Object),
        (status = 400, description = "an id that is not a number, or any parameter (these routes take none)", body = schema::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such import", body = schema::Problem, content_type = "application/problem+json"),
        schema::TokenErrors,
    ))]
pub async fn import_status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    client: ClientAddr,
    headers: HeaderMap,
) -> ApiResult {
    let (registry, _) = authenticate(&state, &headers, &client).await?;
    Params::none(query.as_deref())?;
    let (record, rows) = blocking(move || Ok(registry.store().import(id)?)).await?;
    let lang = Lang::of(&headers);
    let body = json!({
        "import": imports::record(record, lang),
        "rows": imports::rows_json(&rows, lang),
    });
    Ok(in_language(axum::Json(body).into_response(), lang))
}

/// `GET /api/v1/imports/{id}/report.xlsx`: the user's own sheet with a status and a
/// reason column added.
#[utoipa::path(get, path = "/imports/{id}/report.xlsx", tag = "registry", security(("token" = [])),
    summary = "The imported sheet with a status and a reason column added",
    params(("id" = i64, Path, description = "the import's id")),
    responses(
        (status = 200, description = "the sheet; its status words and reasons in the language `Accept-Language` prefers", body = schema::Binary, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "an id that is not a number, or any parameter (these routes take none)", body = schema::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such import", body = schema::Problem, content_type = "application/problem+json"),
        schema::TokenErrors,
    ))]
pub async fn import_report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    client: ClientAddr,
    headers: HeaderMap,
) -> ApiResult {
    let (registry, _) = authenticate(&state, &headers, &client).await?;
    Params::none(query.as_deref())?;
    let lang = Lang::of(&headers);
    let bytes = blocking(move || {
        let store = registry.store();
        let (record, rows) = store.import(id)?;
        let file = store.import_file(id)?;
        drop(store);
        let format = match record.format.as_str() {
            "xlsx" => Format::Xlsx,
            "csv" => Format::Csv,
            _ => Format::GeoJson,
        };
        let sheet =
            import::read(&file, format, None).map_err(|e| EditError::Malformed(e.to_string()))?;
        let statuses = imports::statuses(&rows, lang);
        let word = |status: &str| imports::status_word(status, lang).to_owned();
        import::report_xlsx_with(&sheet, &statuses, &word)
            .map_err(|e| EditError::Malformed(e.to_string()))
    })
    .await?;
    Ok(in_language(
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    ),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&format!(
                        "attachment; filename=\"import-{id}-report.xlsx\""
                    ))
                    .map_err(ApiError::internal)?,
                ),
            ],
            bytes,
        )
            .into_response(),
        lang,
    ))
}
