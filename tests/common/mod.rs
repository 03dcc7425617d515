//! Shared helpers for the integration tests: the bundled data loaded once, the app
//! around it, and small request helpers.

#![allow(dead_code)]

pub mod documented;
pub mod process;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use waystation::geodata;
use waystation::http::{AppState, Basemap, router};
use waystation::index::Atlas;

/// A TCP port free on 127.0.0.1 now (for a server process a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The bundled `geodata/`, loaded and indexed once for all tests of a binary.
pub fn state() -> Arc<AppState> {
    static STATE: OnceLock<Arc<AppState>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let data = geodata::load_dir(&repo_path("geodata")).expect("bundled data is valid");
            AppState::ready(Atlas::new(data), Basemap::None)
        })
        .clone()
}

pub fn app() -> Router {
    router(state(), repo_path("web"))
}

/// Sends `req` to `app`; every answer is held to the OpenAPI document
/// ([`documented::check`]), and every JSON body the server accepted to the
/// operation's documented request body ([`documented::check_request`]).
pub async fn send(app: Router, req: Request<Body>) -> (StatusCode, Response<Body>, Vec<u8>) {
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let (req_parts, req_body) = req.into_parts();
    let sent = req_body.collect().await.expect("body").to_bytes();
    let sent_type = req_parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let req = Request::from_parts(req_parts, Body::from(sent.clone()));
    let response = app.oneshot(req).await.expect("infallible");
    let status = response.status();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes().to_vec();
    if !parts.headers.contains_key("content-encoding") {
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        documented::check(&method, &uri, status.as_u16(), content_type, &bytes);
    }
    if status.is_success() {
        // A body the server took must be one the document allows.
        documented::check_request(&method, &uri, &sent_type, &sent);
    }
    (status, Response::from_parts(parts, Body::empty()), bytes)
}

pub async fn get(uri: &str) -> (StatusCode, Response<Body>, Vec<u8>) {
    send(
        app(),
        Request::get(uri).body(Body::empty()).expect("request"),
    )
    .await
}

pub async fn get_json(uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = get(uri).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, value)
}

/// A server on a new database seeded from the bundled data, with an admin token and
/// an editor limited to 临沂市.
pub struct Registered {
    /// The app, with edits on.
    pub app: Router,
    /// Its state.
    pub state: Arc<AppState>,
    /// The database file.
    pub db: PathBuf,
    /// An admin token.
    pub admin: String,
    /// An editor token for 临沂市 only.
    pub linyi: String,
    _dir: tempfile::TempDir,
}

/// A new [`Registered`] server (each test its own database).
pub fn registered() -> Registered {
    use waystation::registry::{self, Registry};
    use waystation::store::Role;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("t.db");
    let (mut store, data, created, generation) =
        registry::open(&db, &repo_path("geodata")).expect("seeded database");
    assert!(created);
    let admin = store
        .create_token("admin", Role::Admin, None)
        .expect("token");
    let linyi = store
        .create_token("linyi-editor", Role::Editor, Some("临沂市"))
        .expect("token");
    let state = AppState::ready(Atlas::new(data), Basemap::None);
    state.set_registry(Registry::new(
        store,
        state.published(),
        generation,
        &repo_path("geodata"),
    ));
    Registered {
        app: router(state.clone(), repo_path("web")),
        state,
        db,
        admin,
        linyi,
        _dir: dir,
    }
}
