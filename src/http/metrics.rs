//! `/metrics` in the Prometheus text format: requests by route and status class,
//! latency histograms by route, requests in flight, features per layer, when the
//! served data was last published, how another process's writes to the database
//! were followed (with edits on), and build information.
//!
//! Counting costs a read lock and a few relaxed atomic additions per request: the
//! route's counters are created once (on its first request) and shared after.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::params::{NoParams, Query};

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// One route's counters.
#[derive(Default)]
struct RouteStats {
    /// Requests by status class: 1xx–5xx at 0–4.
    by_class: [AtomicU64; 5],
    /// Requests at or below each bucket's bound (cumulative at render time).
    buckets: [AtomicU64; BUCKETS.len()],
    /// Sum of latencies, microseconds.
    sum_us: AtomicU64,
    count: AtomicU64,
}

/// Every route's counters and the requests in flight.
#[derive(Default)]
pub struct Metrics {
    routes: RwLock<hashbrown::HashMap<Box<str>, Arc<RouteStats>>>,
    in_flight: AtomicI64,
}

impl Metrics {
    fn route(&self, path: &str) -> Arc<RouteStats> {
        if let Some(s) = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return s.clone();
        }
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        routes.entry(path.into()).or_default().clone()
    }
}

/// The request's route: the matched pattern (`/api/v1/features/{id}`), or `(files)`
/// for the web map's files. Never the path's values: a driver's position is not a
/// label (nor a log field).
pub(super) fn route_of(request: &Request) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(files)", MatchedPath::as_str)
}

/// Counts every request by its route (the pattern, never the values: a driver's
/// position is not a label).
pub async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let m = &state.metrics;
    // Looked up before the request (no copy of the path kept across the await).
    let stats = m.route(route_of(&request));
    m.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    m.in_flight.fetch_sub(1, Ordering::Relaxed);
    let class = (response.status().as_u16() / 100).clamp(1, 5) as usize - 1;
    stats.by_class[class].fetch_add(1, Ordering::Relaxed);
    if let Some(b) = BUCKETS.iter().position(|b| seconds <= *b) {
        stats.buckets[b].fetch_add(1, Ordering::Relaxed);
    }
    stats
        .sum_us
        .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    stats.count.fetch_add(1, Ordering::Relaxed);
    response
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format: requests by route and status, latency histograms, in-flight requests, features per layer, the data's load time, how another process's writes were followed, build info", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 400, description = "an unknown parameter (this route takes none)", body = crate::http::schema::Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    Query(NoParams): Query<NoParams>,
) -> Response {
    let mut out = String::with_capacity(8 * 1024);
    let m = &state.metrics;
    let _ = writeln!(
        out,
        "# HELP waystation_build_info Build information.\n# TYPE waystation_build_info gauge\n\
         waystation_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "# HELP waystation_http_requests_in_flight Requests being answered.\n\
         # TYPE waystation_http_requests_in_flight gauge\nwaystation_http_requests_in_flight {}",
        // This request is one of them.
        m.in_flight.load(Ordering::Relaxed)
    );
    let routes: Vec<(Box<str>, Arc<RouteStats>)> = {
        let map = m.routes.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, s)| (k.clone(), s.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    out.push_str(
        "# HELP waystation_http_requests_total Requests answered, by route and status class.\n\
         # TYPE waystation_http_requests_total counter\n",
    );
    for (route, s) in &routes {
        for (i, c) in s.by_class.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(
                    out,
                    "waystation_http_requests_total{{route=\"{}\",status=\"{}xx\"}} {n}",
                    escape(route),
                    i + 1
                );
            }
        }
    }
    out.push_str(
        "# HELP waystation_http_request_duration_seconds Time to answer, by route.\n\
         # TYPE waystation_http_request_duration_seconds histogram\n",
    );
    for (route, s) in &routes {
        let route = escape(route);
        let mut cumulative = 0;
        for (b, bound) in BUCKETS.iter().enumerate() {
            cumulative += s.buckets[b].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "waystation_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = s.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "waystation_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\n\
             waystation_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
             waystation_http_request_duration_seconds_count{{route=\"{route}\"}} {count}",
            s.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
    }
    out.push_str(
        "# HELP waystation_features Features served, by layer.\n# TYPE waystation_features gauge\n",
    );
    if let Some(atlas) = state.atlas.load_full() {
        for s in atlas.layer_stats() {
            let _ = writeln!(
                out,
                "waystation_features{{layer=\"{}\"}} {}",
                s.layer.id(),
                s.count
            );
        }
    }
    let published = state.atlas.load_full().map_or(0.0, |a| {
        a.built()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    });
    let _ = writeln!(
        out,
        "# HELP waystation_data_published_timestamp_seconds When the served data was last loaded or rebuilt.\n\
         # TYPE waystation_data_published_timestamp_seconds gauge\n\
         waystation_data_published_timestamp_seconds {published:.3}"
    );
    if let Some(registry) = state.registry() {
        let follows = registry.follows();
        let _ = writeln!(
            out,
            "# HELP waystation_follow_replays_total Another process's writes (the CLI's import, purge) followed by replaying the changes since the last commit seen.\n\
             # TYPE waystation_follow_replays_total counter\n\
             waystation_follow_replays_total {}\n\
             # HELP waystation_follow_reloads_total Another process's writes followed by reading the whole database again (the replay could not be trusted).\n\
             # TYPE waystation_follow_reloads_total counter\n\
             waystation_follow_reloads_total {}",
            follows.replays.load(Ordering::Relaxed),
            follows.reloads.load(Ordering::Relaxed)
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
