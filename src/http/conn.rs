//! The accept loop: each connection served by hyper (HTTP/1.1, or HTTP/2 with prior
//! knowledge), with `TCP_NODELAY`, the client's address as
//! `ConnectInfo<SocketAddr>`, graceful shutdown, and problem+json instead of
//! hyper's own empty error answers.
//!
//! Why not `axum::serve`: a request whose target is longer than 65 534 bytes (the
//! `http` crate's ceiling for a URI), or whose head does not fit hyper's read buffer,
//! never reaches a service: hyper answers it itself, 414 or 431 with an empty body,
//! and closes the connection. No hook exists for that answer, so [`Guarded`] — the
//! connection as hyper sees it — recognises it as it is written (a 414 / 431 head
//! with `content-length: 0` and nothing else: our own answers always have a body)
//! and writes our answer in its place. That answer is made once, at start-up, by the
//! app itself: a request marked [`Replayed`] goes through the whole router, whose
//! [`refuse_oversized`] answers it with the problem+json, so it carries exactly the
//! headers of any other error answer (security headers, CORS). Shorter targets over
//! the configured limit, and header fields over [`MAX_HEADER_BYTES`], are refused
//! there too, before routing, with the same answers.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use super::{ApiError, access_log};

/// The most bytes of header fields (names and values) a request may send: 431 past
/// it. Far above what a browser sends; hyper's own ceiling for a whole head (its
/// read buffer, about 400 KiB) is higher, so this is the limit clients meet.
pub const MAX_HEADER_BYTES: usize = 64 << 10;

/// Marks a request standing for one hyper refused, sent through the app at start-up
/// so that the refusal is answered by the app like any other error. Only this module
/// inserts it (a client cannot set an extension).
#[derive(Clone, Copy, Debug)]
struct Replayed(Which);

/// Refuses a request before it is routed or logged: a target (path and query
/// string) longer than `limit` bytes with 414, header fields larger than
/// [`MAX_HEADER_BYTES`] with 431, both in problem+json; and answers a
/// [`Replayed`] refusal the same way.
pub async fn refuse_oversized(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(Replayed(which)) = request.extensions().get::<Replayed>() {
        return which.error(limit).into_response();
    }
    let len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if len > limit {
        return Which::UriTooLong.error(limit).into_response();
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Which::HeadTooLarge.error(limit).into_response();
    }
    next.run(request).await
}

/// The answers written in place of hyper's own: whole HTTP/1.1 responses.
#[derive(Debug)]
struct Answers {
    uri_too_long: Vec<u8>,
    head_too_large: Vec<u8>,
}

impl Answers {
    /// The app's own answers to the requests hyper refuses.
    async fn new(app: &Router) -> Self {
        Answers {
            uri_too_long: replay(app, Which::UriTooLong).await,
            head_too_large: replay(app, Which::HeadTooLarge).await,
        }
    }

    /// Our answer for a buffer that is exactly one of hyper's automatic error heads.
    fn instead_of(&self, written: &[u8]) -> Option<Which> {
        let which = if written.starts_with(b"HTTP/1.1 414 ") {
            Which::UriTooLong
        } else if written.starts_with(b"HTTP/1.1 431 ") {
            Which::HeadTooLarge
        } else {
            return None;
        };
        let empty = written.ends_with(b"\r\n\r\n")
            && written
                .windows(b"\r\ncontent-length: 0\r\n".len())
                .any(|w| w == b"\r\ncontent-length: 0\r\n");
        empty.then_some(which)
    }
}

/// The app's answer to a [`Replayed`] refusal, as the bytes of an HTTP/1.1 response
/// that closes the connection. Its access line is not logged: no client sent it.
async fn replay(app: &Router, which: Which) -> Vec<u8> {
    use tracing::instrument::WithSubscriber;
    let mut request = Request::new(Body::empty());
    request.extensions_mut().insert(Replayed(which));
    let answered = app
        .clone()
        .oneshot(request)
        .with_subscriber(tracing::subscriber::NoSubscriber::default())
        .await;
    let response = match answered {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_str(),
        parts.status.canonical_reason().unwrap_or("Error"),
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        if [
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::CONNECTION,
        ]
        .contains(name)
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    out
}

/// Which of the [`Answers`].
#[derive(Clone, Copy, Debug)]
enum Which {
    UriTooLong,
    HeadTooLarge,
}

impl Which {
    /// The refusal, `limit` being the longest target answered.
    fn error(self, limit: usize) -> ApiError {
        match self {
            Which::UriTooLong => ApiError::UriTooLong(limit),
            Which::HeadTooLarge => ApiError::HeadTooLarge(MAX_HEADER_BYTES),
        }
    }
}

impl Answers {
    fn get(&self, which: Which) -> &[u8] {
        match which {
            Which::UriTooLong => &self.uri_too_long,
            Which::HeadTooLarge => &self.head_too_large,
        }
    }
}

/// A connection that writes [`Answers`] in place of hyper's empty error answers.
struct Guarded {
    tcp: TcpStream,
    answers: Arc<Answers>,
    /// Our answer being written, how much of it is out, and the length of hyper's
    /// buffer it stands for (what hyper is told was written).
    replacing: Option<(Which, usize, usize)>,
}

impl Guarded {
    /// Writes what is left of the replacement; `Ready(Ok(n))` once it is all out,
    /// `n` being the length of hyper's buffer it stands for.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let answers = self.answers.clone();
        while let Some((which, done, claimed)) = self.replacing.as_mut() {
            let answer = answers.get(*which);
            if *done == answer.len() {
                let claimed = *claimed;
                self.replacing = None;
                return Poll::Ready(Ok(claimed));
            }
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &answer[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(0))
    }

    /// Whether a replacement is being written, starting one when `head` is one of
    /// hyper's automatic error answers.
    fn watch(&mut self, head: &[u8]) -> bool {
        if self.replacing.is_none() {
            self.replacing = self
                .answers
                .instead_of(head)
                .map(|which| (which, 0, head.len()));
            if let Some((which, ..)) = self.replacing {
                // The access line of a request that never reached the router.
                let status: u16 = match which {
                    Which::UriTooLong => 414,
                    Which::HeadTooLarge => 431,
                };
                tracing::info!(target: access_log::TARGET, route = "(unparsed)", status, "request");
            }
        }
        self.replacing.is_some()
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.watch(buf) {
            return self.drain(cx);
        }
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        if self.watch(first) {
            return self.drain(cx);
        }
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the
/// connections to finish their requests (idle ones are closed at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let answers = Arc::new(Answers::new(&app).await);
    // Each connection holds a receiver: closed once every connection is done.
    let (close_tx, close_rx) = watch::channel(());
    // Dropped at shutdown: every connection sees it and shuts down gracefully.
    let (signal_tx, _) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers go out as soon as they are written (no Nagle wait behind a delayed ACK).
        let _ = tcp.set_nodelay(true);
        let io = TokioIo::new(Guarded {
            tcp,
            answers: answers.clone(),
            replacing: None,
        });
        let service = app
            .clone()
            .map_request(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(addr));
                request
            });
        let service = TowerToHyperService::new(service);
        let mut signal = signal_tx.subscribe();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let mut conn = std::pin::pin!(builder.serve_connection_with_upgrades(io, service));
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = signal.changed() => {
                    // Finishes the request in hand; an idle connection closes now.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::trace!("connection from {addr}: {e}");
            }
            drop(close_rx);
        });
    }
    drop(listener);
    drop(signal_tx);
    drop(close_rx);
    close_tx.closed().await;
    Ok(())
}

/// Too many open files and the like: wait a moment instead of spinning (as axum does).
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hyper's own error heads are recognised; our answers (with a body) and other
    /// writes are not.
    #[tokio::test]
    async fn only_hyper_s_empty_error_heads_are_replaced() {
        let app = Router::new()
            .fallback(|| async { "home" })
            .layer(axum::middleware::from_fn_with_state(8192, refuse_oversized));
        let answers = Answers::new(&app).await;
        let hyper_414 = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 08:00:00 GMT\r\n\r\n";
        let hyper_431 =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(matches!(
            answers.instead_of(hyper_414),
            Some(Which::UriTooLong)
        ));
        assert!(matches!(
            answers.instead_of(hyper_431),
            Some(Which::HeadTooLarge)
        ));
        for other in [
            &answers.uri_too_long[..],
            b"HTTP/1.1 414 URI Too Long\r\ncontent-type: application/problem+json\r\ncontent-length: 172\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n",
            b"{\"type\":\"FeatureCollection\"}",
        ] {
            assert!(
                answers.instead_of(other).is_none(),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        let answer = String::from_utf8_lossy(answers.get(Which::UriTooLong)).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(head.contains("content-type: application/problem+json"));
        assert!(body.contains("longer than 8192 bytes"), "{body}");
    }
}
