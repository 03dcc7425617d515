//! The HTTP API and the web map, behind axum.
//!
//! - [`router`] builds the whole app: `/healthz`, `/readyz`, the API under
//!   `/api/v1`, and the web map's files from `web/` for everything else.
//! - [`serve`] runs it on a listener until a shutdown future resolves, loading the
//!   data in the background so `/healthz` answers at once and `/readyz` once the
//!   data is indexed.
//! - `handlers`: one function per route; `params`: query parsing; `geojson`:
//!   output; `problem`: the `application/problem+json` error type.

mod along;
mod basemap;
mod coverage;
mod edits;
pub mod geojson;
mod handlers;
mod headers;
mod json;
mod metrics;
mod ogc;
mod params;
mod problem;
mod search;
mod station;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use axum::serve::ListenerExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

pub use basemap::Basemap;
pub use problem::{ApiError, InvalidParam};

use crate::index::Atlas;
use crate::registry::{Published, Registry};

/// The largest feature a write may send.
pub const MAX_FEATURE_BYTES: usize = 1 << 20;
/// The largest siting request (200,000 candidate points as GeoJSON fit).
pub const MAX_SITING_BYTES: usize = 32 << 20;
/// The largest file an import may send.
pub const MAX_IMPORT_BYTES: usize = 50 << 20;

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

    /// The registry, when the server runs on a database.
    pub fn registry(&self) -> Option<Arc<Registry>> {
        self.registry.get().cloned()
    }

    /// Turns on edits: the registry over the store whose data is published.
    pub fn set_registry(&self, registry: Arc<Registry>) {
        let _ = self.registry.set(registry);
    }
}

/// Builds the application: API routes, web files from `web_dir`, and the middleware.
pub fn router(state: Arc<AppState>, web_dir: PathBuf) -> Router {
    let api = Router::new()
        .route("/layers", get(handlers::layers))
        .route("/layers/{layer}", get(handlers::layer))
        .route("/features/{id}", get(handlers::feature))
        .merge(edit_routes())
        .route("/nearest", get(handlers::nearest))
        .route("/places", get(handlers::places))
        .route("/search", get(search::search))
        .route("/config", get(handlers::config))
        .merge(analyses())
        .merge(station::api())
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed);
    let files = ServeDir::new(web_dir)
        .append_index_html_on_directories(true)
        .not_found_service(get(handlers::not_found).with_state(state.clone()));
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::permanent("/admin.html") }),
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
            headers::SecurityHeaders::new(
                &state.basemap.tile_origins(),
                state.frame_ancestors.get().map_or("*", String::as_str),
            ),
            headers::add,
        ))
        // Inside compression: it reads the error bodies as they were written.
        .layer(axum::middleware::map_response(
            problem::problem_for_every_error,
        ))
        .layer(CompressionLayer::new())
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
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::Internal(
                "handler panicked".into(),
            ))
        }))
}

/// The registry's routes: edits, history, imports. They read their bodies
/// themselves, each with its own limit (a 413 in problem+json), so axum's default
/// 2 MB limit is off here: it would cut imports short.
fn edit_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/features", post(edits::create))
        .route(
            "/features/{id}",
            put(edits::replace)
                .patch(edits::patch)
                .delete(edits::delete),
        )
        .route("/features/{id}/history", get(edits::history))
        .route("/features/{id}/history/{n}/revert", post(edits::revert))
        .route("/imports", post(edits::import))
        .route("/imports/{id}", get(edits::import_status))
        .route("/imports/{id}/report.xlsx", get(edits::import_report))
        .route("/whoami", get(edits::whoami))
        .layer(DefaultBodyLimit::disable())
}

/// The coverage analyses and siting: the only routes that can take long, so the
/// only ones behind a timeout (a timer per request costs the cheap routes a fifth
/// of their throughput).
fn analyses() -> Router<Arc<AppState>> {
    Router::new()
        .route("/coverage/parks", get(coverage::parks))
        .route("/coverage/grid", get(coverage::grid))
        .route("/coverage/catchments", get(coverage::catchments))
        .route("/coverage/summary", get(coverage::summary))
        .route(
            "/siting",
            axum::routing::post(coverage::siting).layer(DefaultBodyLimit::max(MAX_SITING_BYTES)),
        )
        .route("/along", post(along::along))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Answers go out as soon as they are written (no Nagle wait behind a delayed ACK).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
