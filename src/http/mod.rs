//! The HTTP API and the web map, behind axum.
//!
//! - [`router`] builds the whole app: `/healthz`, `/readyz`, the API under
//!   `/api/v1`, and the web map's files from `web/` for everything else.
//! - [`serve`] runs it on a listener until a shutdown future resolves, loading the
//!   data in the background so `/healthz` answers at once and `/readyz` once the
//!   data is indexed.
//! - `handlers`: one function per route; `params`: query parsing; `geojson`:
//!   output; `problem`: the `application/problem+json` error type.

mod basemap;
mod coverage;
pub mod geojson;
mod handlers;
mod json;
mod params;
mod problem;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::serve::ListenerExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

pub use basemap::Basemap;
pub use problem::{ApiError, InvalidParam};

use crate::index::Atlas;

/// What every handler shares.
pub struct AppState {
    /// Set once the data is loaded and indexed.
    atlas: OnceLock<Arc<Atlas>>,
    basemap: Basemap,
}

impl AppState {
    /// A state whose data is still loading.
    pub fn loading(basemap: Basemap) -> Arc<Self> {
        Arc::new(AppState {
            atlas: OnceLock::new(),
            basemap,
        })
    }

    /// A state with its data ready.
    pub fn ready(atlas: Atlas, basemap: Basemap) -> Arc<Self> {
        let state = Self::loading(basemap);
        let _ = state.atlas.set(Arc::new(atlas));
        state
    }

    /// Installs the loaded data (once; later calls are ignored) and returns what is
    /// installed.
    pub fn set_atlas(&self, atlas: Atlas) -> Arc<Atlas> {
        self.atlas.get_or_init(|| Arc::new(atlas)).clone()
    }
}

/// Builds the application: API routes, web files from `web_dir`, and the middleware.
pub fn router(state: Arc<AppState>, web_dir: PathBuf) -> Router {
    let api = Router::new()
        .route("/layers", get(handlers::layers))
        .route("/layers/{layer}", get(handlers::layer))
        .route("/features/{id}", get(handlers::feature))
        .route("/nearest", get(handlers::nearest))
        .route("/places", get(handlers::places))
        .route("/config", get(handlers::config))
        .merge(analyses())
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed);
    let files = ServeDir::new(web_dir)
        .append_index_html_on_directories(true)
        .not_found_service(get(handlers::not_found).with_state(state.clone()));
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .nest("/api/v1", api)
        .fallback_service(files)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
                .allow_headers(Any),
        )
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::Internal(
                "handler panicked".into(),
            ))
        }))
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
        .route("/siting", axum::routing::post(coverage::siting))
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
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
