//! The one error type of the HTTP edge and its `application/problem+json` form (RFC 9457).
//!
//! Client errors (4xx) say which parameter is at fault and why, in the
//! `invalid-params` extension member; they are not logged as errors. Internal
//! errors get a generic body and the real cause goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InvalidParam {
    /// The query parameter (or body field).
    pub name: String,
    /// Why it was refused.
    pub reason: String,
}

impl InvalidParam {
    /// A parameter and the reason it is refused.
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidParam {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Everything a handler can answer with instead of its result.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more parameters are malformed or out of range.
    #[error("invalid parameters")]
    InvalidParams(Vec<InvalidParam>),
    /// No such feature, layer or route.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Writes to a server started without a database.
    #[error(
        "this server serves a data directory read-only: start it with a database (`waystation serve --db waystation.db`, or with no --data) to edit"
    )]
    ReadOnly,
    /// A request body that is well-formed but breaks the data rules: each field at fault.
    #[error("invalid feature")]
    InvalidBody(Vec<InvalidParam>),
    /// A request body that cannot be read at all.
    #[error("{0}")]
    BadBody(String),
    /// The body is larger than the route accepts (the limit in bytes).
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// No token, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// The token may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The write conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named another version.
    #[error("{0}")]
    PreconditionFailed(String),
    /// Too many failed sign-ins from one address; retry after this many seconds.
    #[error("too many failed authentications from this address; retry in {0} s")]
    TooManyRequests(u64),
    /// The request is valid but would cost more than the server allows.
    #[error("{0}")]
    TooExpensive(String),
    /// The request target (path and query string) is longer than the limit, bytes.
    #[error(
        "the request target (path and query string) is longer than {0} bytes; send fewer or shorter parameters"
    )]
    UriTooLong(usize),
    /// The request line and headers together are larger than the limit, bytes.
    #[error("the request's header fields are larger than {0} bytes; send fewer or shorter headers")]
    HeadTooLarge(usize),
    /// The data is still loading.
    #[error("the data is still loading")]
    NotReady,
    /// A bug or an outside failure; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A failure that is not the client's (serialising an answer, a worker that died).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    /// A single bad parameter.
    pub fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::InvalidParams(vec![InvalidParam::new(name, reason)])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidParams(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed | ApiError::ReadOnly => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooExpensive(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::HeadTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(rename = "invalid-params", skip_serializing_if = "<[_]>::is_empty")]
    invalid_params: &'a [InvalidParam],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::InvalidParams(params) | ApiError::InvalidBody(params) => params
                .iter()
                .map(|p| format!("{}: {}", p.name, p.reason))
                .collect::<Vec<_>>()
                .join("; "),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "the server failed to answer; the cause has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let params = match &self {
            ApiError::InvalidParams(p) | ApiError::InvalidBody(p) => p.as_slice(),
            _ => &[],
        };
        let body = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            invalid_params: params,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"waystation\""),
                );
            }
            ApiError::TooManyRequests(secs) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            _ => {}
        }
        response
    }
}

/// Turns an error answer made outside our handlers — an extractor's rejection
/// (`text/plain`: a path that is not UTF-8, a JSON body that does not parse, a body
/// over the limit) or an empty one — into problem+json with the same status (a body
/// over the limit as 413). Answers that are already problem+json, HTML pages and
/// successes pass unchanged.
pub async fn problem_for_every_error(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/problem+json") || kind.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let too_large = text.contains("length limit exceeded");
    let status = if too_large {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        parts.status
    };
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        invalid_params: &[],
    };
    let mut out = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    out
}
