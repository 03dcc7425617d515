//! Security headers on every answer: a Content-Security-Policy, `nosniff`, a
//! referrer policy, and who may frame the pages.
//!
//! The policy lets the pages load scripts, styles, images and data from this server
//! only (plus the configured basemap's tile hosts), run MapLibre's workers from
//! `blob:` URLs, and be framed by the sites configured for embedding (default: any
//! site may embed the public map); the editor's pages may be framed by this server
//! only. Styles allow `'unsafe-inline'`: the pages build their lists with inline
//! `style` attributes and the poster has a print stylesheet; no script is inline.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The headers' values, built once at start-up.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    public: HeaderValue,
    editor: HeaderValue,
}

impl SecurityHeaders {
    /// The policy for pages whose basemap loads tiles from `tile_origins`, embeddable
    /// by `frame_ancestors` (a CSP source list, e.g. `*` or `https://gh.acftu.org`).
    pub fn new(tile_origins: &[String], frame_ancestors: &str) -> Self {
        let tiles = tile_origins.join(" ");
        let policy = |ancestors: &str| {
            format!(
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data: blob: {tiles}; connect-src 'self' {tiles}; \
                 worker-src 'self' blob:; child-src 'self' blob:; font-src 'self'; \
                 object-src 'none'; base-uri 'self'; form-action 'self'; \
                 frame-ancestors {ancestors}"
            )
        };
        let value = |p: String| {
            HeaderValue::from_str(&p)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
        };
        SecurityHeaders {
            public: value(policy(frame_ancestors)),
            editor: value(policy("'self'")),
        }
    }
}

/// Adds the headers to every answer (the editor's pages get `frame-ancestors 'self'`).
pub async fn add(State(h): State<SecurityHeaders>, request: Request, next: Next) -> Response {
    let editor = request.uri().path().starts_with("/admin");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = if editor { &h.editor } else { &h.public };
    headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}
