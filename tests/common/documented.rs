//! Holds every answer the integration tests receive to the OpenAPI document: the
//! route and method are documented, the status is one of the operation's, and a
//! JSON body matches the documented schema (JSON Schema 2020-12, as OpenAPI 3.1
//! says). `super::send` calls [`check`] on every answer, and [`check_request`] on
//! every JSON body the server accepted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// The service's document, fetched once per test binary from the bundled-data app.
pub fn document() -> Arc<Value> {
    static DOC: OnceLock<Arc<Value>> = OnceLock::new();
    DOC.get_or_init(|| {
        let app = super::app();
        let doc = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use tower::ServiceExt;
                let req = axum::http::Request::get("/api/openapi.json")
                    .header("host", "localhost")
                    .body(axum::body::Body::empty())
                    .expect("request");
                let response = app.oneshot(req).await.expect("infallible");
                assert_eq!(response.status(), 200, "/api/openapi.json");
                let bytes = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .expect("body")
                    .to_bytes();
                serde_json::from_slice::<Value>(&bytes).expect("the document is JSON")
            })
        })
        .join()
        .expect("document thread");
        // For a look with other tools: WAYSTATION_DUMP_OPENAPI=/tmp/doc.json.
        if let Ok(path) = std::env::var("WAYSTATION_DUMP_OPENAPI") {
            let _ = std::fs::write(path, doc.to_string());
        }
        Arc::new(doc)
    })
    .clone()
}

/// The documented path template matching `path` (literal segments win over
/// `{parameters}`), if any.
pub fn template_of<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(&str, usize)> = None;
    for template in doc["paths"].as_object()?.keys() {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let matches = parts.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                !s.is_empty()
            } else if t.contains('{') {
                // `{id}.mvt`-style: the literal suffix must match.
                let suffix = &t[t.find('}').map_or(0, |i| i + 1)..];
                s.ends_with(suffix)
            } else {
                literal += 1;
                t == s
            }
        });
        if matches && best.is_none_or(|(_, l)| literal > l) {
            best = Some((template.as_str(), literal));
        }
    }
    best.map(|(t, _)| t)
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn validator(doc: &Value, pointer: &str) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("cache").get(pointer) {
        return v.clone();
    }
    // The whole document as the root, so that `#/components/...` references resolve.
    let mut root = doc.clone();
    let fragment: String = pointer
        .chars()
        .map(|c| match c {
            '{' => "%7B".to_owned(),
            '}' => "%7D".to_owned(),
            c => c.to_string(),
        })
        .collect();
    root["$ref"] = Value::String(format!("#{fragment}"));
    let v = Arc::new(
        jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("schema at {pointer} does not compile: {e}")),
    );
    cache
        .lock()
        .expect("cache")
        .insert(pointer.to_owned(), v.clone());
    v
}

/// Checks one answer against the document; panics naming what does not match.
pub fn check(method: &str, uri: &str, status: u16, content_type: &str, body: &[u8]) {
    let doc = document();
    let path = uri.split('?').next().unwrap_or(uri);
    let api = path.starts_with("/api/v1/") || path.starts_with("/ogc");
    let Some(template) = template_of(&doc, path) else {
        // Pages and files are not in the document; an API path that is not either
        // is the "no such route" answer.
        assert!(
            !api || status == 404,
            "{method} {path} answered {status} but is not in the OpenAPI document"
        );
        return;
    };
    let method = match method {
        "HEAD" => "get",
        "OPTIONS" => return, // CORS preflight, answered by the CORS layer
        m => &m.to_ascii_lowercase(),
    };
    let Some(operation) = doc["paths"][template].get(method) else {
        assert_eq!(
            status, 405,
            "{method} {template} answered {status} but the method is not documented"
        );
        return;
    };
    let code = status.to_string();
    let responses = &operation["responses"];
    let key = if responses.get(&code).is_some() {
        code
    } else if responses.get("default").is_some() {
        "default".to_owned()
    } else {
        panic!(
            "{method} {template}: status {status} is not documented (documented: {:?})",
            responses.as_object().map(|m| m.keys().collect::<Vec<_>>())
        )
    };
    // The response object, following `$ref`s to shared responses.
    let mut pointer = format!(
        "/paths/{}/{method}/responses/{key}",
        pointer_escape(template)
    );
    let mut response = &responses[&key];
    while let Some(target) = response.get("$ref").and_then(Value::as_str) {
        pointer = target.trim_start_matches('#').to_owned();
        response = doc
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("{method} {template}: dangling $ref {target}"));
    }
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let json = essence.ends_with("json");
    if body.is_empty() || !json {
        return;
    }
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        panic!("{method} {template} {status}: a {essence} body, but no content is documented");
    };
    let Some(media) = media_of(content, essence) else {
        panic!(
            "{method} {template} {status}: {essence} is not a documented content type ({:?})",
            content.keys().collect::<Vec<_>>()
        );
    };
    if content[media].get("schema").is_none() {
        return;
    }
    let pointer = format!("{pointer}/content/{}/schema", pointer_escape(media));
    assert_matches(
        &doc,
        &pointer,
        body,
        &format!("{method} {path} {status}: the answer"),
    );
}

/// The documented media type of `content` whose essence is `essence`.
fn media_of<'a>(content: &'a serde_json::Map<String, Value>, essence: &str) -> Option<&'a str> {
    content
        .keys()
        .find(|m| m.split(';').next().unwrap_or("").trim() == essence)
        .map(String::as_str)
}

/// Panics naming `what` unless the JSON `body` matches the schema at `pointer`.
fn assert_matches(doc: &Value, pointer: &str, body: &[u8], what: &str) {
    let instance: Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("{what} is not JSON: {e}"));
    let errors: Vec<String> = validator(doc, pointer)
        .iter_errors(&instance)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its documented schema:\n{}",
        errors.join("\n")
    );
}

/// Checks a JSON request body the server accepted against the operation's documented
/// request body; panics naming what does not match.
pub fn check_request(method: &str, uri: &str, content_type: &str, body: &[u8]) {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if body.is_empty() || !essence.ends_with("json") {
        return;
    }
    let doc = document();
    let path = uri.split('?').next().unwrap_or(uri);
    let Some(template) = template_of(&doc, path) else {
        return;
    };
    let method = method.to_ascii_lowercase();
    let Some(content) = doc["paths"][template][&method]["requestBody"]["content"].as_object()
    else {
        panic!("{method} {template} accepted a {essence} body, but documents none");
    };
    let Some(media) = media_of(content, essence) else {
        // Another documented form of the body (e.g. a form post): not checked here.
        return;
    };
    let pointer = format!(
        "/paths/{}/{method}/requestBody/content/{}/schema",
        pointer_escape(template),
        pointer_escape(media)
    );
    assert_matches(
        &doc,
        &pointer,
        body,
        &format!("{method} {path}: a request body the server accepted"),
    );
}
