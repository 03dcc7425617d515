//! The HTTP API and the web map, behind axum.
//!
//! - [`router`] builds the whole app: `/healthz`, `/readyz`, the API under
//!   `/api/v1`, and the web map's files from `web/` for everything else.
//! - [`serve`] runs it on a listener until a shutdown future resolves, loading the
//!   data in the background so `/healthz` answers at once and `/readyz` once the
//!   data is indexed.
//! - `tiles`: the vector tiles (`/tiles/...`) and their TileJSON.
//! - `handlers`: one function per route; `params`: query parsing; `geojson`:
//!   output; `problem`: the `application/problem+json` error type.
//! - `conn`: the accept loop under [`serve`] (hyper, `ConnectInfo`, graceful
//!   shutdown, 414 / 431 in problem+json); `access_log`: one log line per request.

mod access_log;
mod along;
mod basemap;
mod conn;
mod coverage;
mod edits;
pub mod geojson;
mod handlers;
mod headers;
mod json;
pub mod localize;
mod metrics;
mod ogc;
mod openapi;
mod params;
mod problem;
mod schema;
mod search;
mod station;
mod tiles;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Extensions, HeaderMap, Method, StatusCode, Version};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, DefaultPredicate, Predicate};
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use basemap::Basemap;
pub use problem::{ApiError, InvalidParam};

use crate::index::Atlas;
use crate::registry::{Published, Registry};

/// The longest request target (path and query string) answered by default (414 past it).
pub const DEFAULT_MAX_URI_BYTES: usize = 8 << 10;

/// What a deployment tunes (`waystation.toml`, see `crate::config`); set before
/// [`router`] with [`AppState::set_options`].
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The coverage analyses' default service radius per layer.
    pub radii: crate::coverage::Radii,
    /// Origins besides this server's own whose pages may write, e.g. `https://admin.example.org`.
    pub write_origins: Vec<String>,
    /// The longest request target answered, bytes.
    pub max_uri_bytes: usize,
    /// The largest feature an edit may send, bytes.
    pub max_feature_bytes: usize,
    /// The largest file an import may send, bytes.
    pub max_import_bytes: usize,
    /// The largest siting request, bytes.
    pub max_siting_bytes: usize,
    /// Failed sign-ins allowed from one address a minute before 429.
    pub failed_sign_ins_per_minute: u32,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            radii: crate::coverage::Radii::defaults(),
            write_origins: Vec::new(),
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_feature_bytes: 1 << 20,
            max_import_bytes: 50 << 20,
            max_siting_bytes: 32 << 20,
            failed_sign_ins_per_minute: 10,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    /// The generation being served; empty while the data loads. Readers take the
    /// generation of the moment and keep it for their request.
    atlas: Published,
    /// The store and its editors, when the server runs on a database (read-only
    /// without one).
    registry: OnceLock<Arc<Registry>>,
    failures: edits::Failures,
    basemap: Basemap,
    /// Who may frame the public pages (a CSP source list); `*` unless configured.
    frame_ancestors: OnceLock<String>,
    options: OnceLock<ServeOptions>,
    metrics: metrics::Metrics,
}

impl AppState {
    /// A state whose data is still loading.
    pub fn loading(basemap: Basemap) -> Arc<Self> {
        Arc::new(AppState {
            atlas: Published::default(),
            registry: OnceLock::new(),
            failures: Default::default(),
            basemap,
            frame_ancestors: OnceLock::new(),
            options: OnceLock::new(),
            metrics: Default::default(),
        })
    }

    /// A state with its data ready.
    pub fn ready(atlas: Atlas, basemap: Basemap) -> Arc<Self> {
        let state = Self::loading(basemap);
        state.set_atlas(atlas);
        state
    }

    /// Publishes the loaded data and returns it.
    pub fn set_atlas(&self, atlas: Atlas) -> Arc<Atlas> {
        let atlas = Arc::new(atlas);
        self.atlas.store(Some(atlas.clone()));
        atlas
    }

    /// The generation being served, or 503 while the data loads.
    fn atlas(&self) -> Result<Arc<Atlas>, ApiError> {
        self.atlas.load_full().ok_or(ApiError::NotReady)
    }

    /// Where the generations are published (the registry publishes there).
    pub fn published(&self) -> Published {
        self.atlas.clone()
    }

    /// Who may frame the public map and embeds (a CSP `frame-ancestors` source list,
    /// e.g. `https://www.acftu.org https://*.acftu.org`); call before [`router`].
    pub fn set_frame_ancestors(&self, sources: &str) {
        let _ = self.frame_ancestors.set(sources.to_owned());
    }

    /// The deployment's radii, write origins and limits; call before [`router`].
    pub fn set_options(&self, options: ServeOptions) {
        let fresh = self.options.set(options).is_ok();
        debug_assert!(fresh, "set_options after the options were read: ignored");
    }

    /// The deployment's options (the defaults unless set).
    pub fn options(&self) -> &ServeOptions {
        self.options.get_or_init(ServeOptions::default)
    }

    /// The registry, when the server runs on a database.
    pub fn registry(&self) -> Option<Arc<Registry>> {
        self.registry.get().cloned()
    }

    /// Turns on edits: the registry over the store whose data is published.
    pub fn set_registry(&self, registry: Arc<Registry>) {
        let _ = self.registry.set(registry);
    }
}

/// Marks an answer whose strong ETag names its exact bytes (a feature, whose tag
/// an editor sends back in `If-Match`): the compression layer leaves it as it is,
/// so the tag stays true of what was sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExactBytes;

/// Builds the application: API routes, web files from `web_dir`, and the middleware.
pub fn router(state: Arc<AppState>, web_dir: PathBuf) -> Router {
    let (api, api_doc) = api_routes(state.options()).split_for_parts();
    let api = api
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed);
    let (operations, operations_doc) = OpenApiRouter::new()
        .routes(routes!(handlers::healthz))
        .routes(routes!(handlers::readyz))
        .routes(routes!(metrics::metrics))
        .merge(tiles::router())
        .split_for_parts();
    let doc = openapi::ApiDoc::openapi()
        .nest("/api/v1", api_doc)
        .merge_from(operations_doc);
    let files = ServeDir::new(web_dir)
        .append_index_html_on_directories(true)
        .not_found_service(get(handlers::not_found).with_state(state.clone()));
    operations
        .merge(openapi::routes(doc))
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::permanent("/admin.html") }),
        )
        // The embed builder; its settings in the query string are kept.
        .route(
            "/embed",
            get(
                |axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
                    let q = q.map(|q| format!("?{q}")).unwrap_or_default();
                    axum::response::Redirect::permanent(&format!("/embed.html{q}"))
                },
            ),
        )
        .merge(station::pages())
        .merge(ogc::router())
        .nest("/api/v1", api)
        // The page's files revalidate (Last-Modified → 304): a new release shows at once.
        .fallback_service(
            tower::ServiceBuilder::new()
                .layer(
                    tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                        axum::http::header::CACHE_CONTROL,
                        axum::http::HeaderValue::from_static("no-cache"),
                    ),
                )
                .service(files),
        )
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.options().max_uri_bytes,
            conn::refuse_oversized,
        ))
        .layer(axum::middleware::from_fn(access_log::record))
        // A panic is answered like any other error: problem+json, CORS, headers.
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::Internal(
                "handler panicked".into(),
            ))
        }))
        // Inside compression: it reads the error bodies as they were written.
        .layer(axum::middleware::map_response(
            problem::problem_for_every_error,
        ))
        // Outside it, so converted errors are translated too (Accept-Language: zh).
        .layer(axum::middleware::from_fn(localize::problems_in_chinese))
        // A feature's strong ETag (sent back in If-Match) names its exact bytes:
        // those answers go out as they are ([`ExactBytes`]); the rest is compressed.
        .layer(
            CompressionLayer::new().compress_when(DefaultPredicate::new().and(
                |_: StatusCode, _: Version, _: &HeaderMap, extensions: &Extensions| {
                    extensions.get::<ExactBytes>().is_none()
                },
            )),
        )
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([
                    Method::GET,
                    Method::HEAD,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                    Method::OPTIONS,
                ])
                .expose_headers([axum::http::header::ETAG, axum::http::header::LOCATION])
                .allow_headers(Any),
        )
        // Outermost: every answer gets them, CORS preflights included.
        .layer(axum::middleware::from_fn_with_state(
            headers::SecurityHeaders::new(
                &state.basemap.tile_origins(),
                state.frame_ancestors.get().map_or("*", String::as_str),
            ),
            headers::add,
        ))
}

/// The `/api/v1` routes, each documented by its handler's `#[utoipa::path]`.
fn api_routes(options: &ServeOptions) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(handlers::layers))
        .routes(routes!(handlers::layer))
        .routes(routes!(handlers::feature))
        .merge(edit_routes())
        .routes(routes!(handlers::nearest))
        .routes(routes!(handlers::places))
        .routes(routes!(search::search))
        .routes(routes!(handlers::config))
        .merge(analyses(options.max_siting_bytes))
        .merge(station::api())
}

/// The registry's routes: edits, history, imports. They read their bodies
/// themselves, each with its own limit (a 413 in problem+json), so axum's default
/// 2 MB limit is off here: it would cut imports short.
fn edit_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(edits::create))
        .routes(routes!(edits::replace, edits::patch, edits::delete))
        .routes(routes!(edits::history))
        .routes(routes!(edits::revert))
        .routes(routes!(edits::import))
        .routes(routes!(edits::import_status))
        .routes(routes!(edits::import_report))
        .routes(routes!(edits::whoami))
        .layer(DefaultBodyLimit::disable())
}

/// The coverage analyses and siting: the only routes that can take long, so the
/// only ones behind a timeout (a timer per request costs the cheap routes a fifth
/// of their throughput).
fn analyses(max_siting_bytes: usize) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(coverage::parks::parks))
        .routes(routes!(coverage::grid::grid))
        .routes(routes!(coverage::catchments::catchments))
        .routes(routes!(coverage::summary::summary))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(coverage::siting::siting))
                .layer(DefaultBodyLimit::max(max_siting_bytes)),
        )
        .routes(routes!(along::along))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains connections.
/// Targets longer than the router's `max_uri_bytes` get 414 in problem+json, and
/// oversized header fields 431, even those too long for the HTTP stack to parse
/// (see `conn`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    conn::serve(listener, app, shutdown).await
}
