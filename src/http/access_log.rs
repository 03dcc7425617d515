//! One log line per request, at `info` under the target `waystation::access`:
//! method, route, status, latency, and the body's size when known.
//!
//! The route is the matched pattern (`/api/v1/features/{id}`), as in the metrics,
//! never the path or the query string: a driver's position (`lon=…&lat=…`) is
//! personal data and stays out of the log. `RUST_LOG=waystation::access=off`
//! silences these lines; the check costs one comparison when they are off.

use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Level;

use super::metrics;

/// The target of the access lines (for `RUST_LOG` filters).
pub const TARGET: &str = "waystation::access";

/// Logs the request once it is answered.
pub async fn record(request: Request, next: Next) -> Response {
    if !tracing::enabled!(target: TARGET, Level::INFO) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let route: Box<str> = metrics::route_of(&request).into();
    let started = Instant::now();
    let response = next.run(request).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    let status = response.status().as_u16();
    match response.body().size_hint().exact() {
        Some(bytes) => tracing::info!(
            target: TARGET,
            method = %method,
            route = &*route,
            status,
            latency_ms,
            bytes,
            "request"
        ),
        None => tracing::info!(
            target: TARGET,
            method = %method,
            route = &*route,
            status,
            latency_ms,
            "request"
        ),
    }
    response
}
