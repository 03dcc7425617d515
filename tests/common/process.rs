//! The real binary as a child process, for the tests that run it on a socket: a
//! raw HTTP/1.1 client (one request per connection, chunked bodies decoded), a
//! server started on a free port and killed when dropped, admin tokens made by the
//! CLI, and every feature a server serves read back by id.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use waystation::geodata::snapshot;
use waystation::store::Store;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_waystation");
/// The bundled data directory.
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata");
/// The bundled web directory.
pub const WEB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web");
/// Every layer, as the API names them.
pub const LAYERS: [&str; 4] = ["driver_home", "courier_station", "fitness_station", "park"];

/// How long a client that copes with no answer waits for one: the server may have
/// been killed, or not be up yet.
const TRY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client that needs an answer waits (a debug build on a shared machine).
const TIMEOUT: Duration = Duration::from_secs(30);

/// One request on its own connection (`token` empty: none): status and body, or
/// `None` when there was no whole answer (the connection failed or was cut, e.g.
/// the server was killed mid-request; the body is shorter than it says).
pub fn try_http(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Option<(u16, String)> {
    exchange(port, method, path, &bearer(token), body, TRY_TIMEOUT)
}

/// [`try_http`] with raw header lines (each ending in `\r\n`) instead of a token.
pub fn try_http_headers(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&str>,
) -> Option<(u16, String)> {
    exchange(port, method, path, headers, body, TRY_TIMEOUT)
}

/// [`try_http`] that must be answered (it fails the test if not).
pub fn http(port: u16, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
    exchange(port, method, path, &bearer(token), body, TIMEOUT)
        .unwrap_or_else(|| panic!("{method} {path}: no whole answer from port {port}"))
}

/// A GET that must be answered 200 with JSON: the JSON.
pub fn get_json(port: u16, path: &str) -> Value {
    let (status, body) = http(port, "GET", path, "", None);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"))
}

/// The header line of `token`; none for an empty one.
fn bearer(token: &str) -> String {
    if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    }
}

/// Sends the request and reads the answer to the end. A PATCH body is sent as
/// `application/merge-patch+json`, any other as `application/json`.
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    let body = body.unwrap_or("");
    let ctype = if method == "PATCH" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let typed = if method == "GET" {
        String::new()
    } else {
        format!("Content-Type: {ctype}\r\n")
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         {headers}{typed}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let rest = &raw[split + 4..];
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
    };
    let body = if header("transfer-encoding") == Some("chunked") {
        dechunk(rest)?
    } else {
        let length = header("content-length").map_or(Some(rest.len()), |v| v.parse().ok())?;
        // A body cut short (the server killed while it wrote) is not an answer.
        (rest.len() == length).then(|| rest.to_vec())?
    };
    Some((status, String::from_utf8(body).ok()?))
}

/// A chunked body decoded; `None` when it is cut short or malformed.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        let data = rest.get(line + 2..line + 2 + size)?;
        out.extend_from_slice(data);
        rest = rest.get(line + 2 + size + 2..)?;
    }
}

/// A server process, killed (SIGKILL) and reaped when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Where its standard error goes, if to a file.
    log: Option<PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A server process started by the test itself, listening on `port`.
    pub fn of(child: Child, port: u16) -> Server {
        Server {
            child,
            port,
            log: None,
        }
    }

    /// SIGKILL: no shutdown, no snapshot.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("reap the server");
    }

    /// Its log so far (empty when it logs to no file).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|l| std::fs::read_to_string(l).ok())
            .unwrap_or_default()
    }
}

/// `waystation serve` not yet spawned: on a free port of 127.0.0.1, with `--data`
/// and the bundled `web/`, its output discarded. Add to it, then [`Launch::spawn`]
/// or [`Launch::ready`].
pub struct Launch {
    command: Command,
    port: u16,
    log: Option<PathBuf>,
}

/// [`Launch`] of a server on the data directory `data`.
pub fn serve(data: &str) -> Launch {
    let port = super::free_port();
    let mut command = Command::new(BIN);
    command
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data",
            data,
        ])
        .args(["--web", WEB])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Launch {
        command,
        port,
        log: None,
    }
}

impl Launch {
    /// On the database `db`.
    pub fn db(mut self, db: &Path) -> Launch {
        self.command.arg("--db").arg(db);
        self
    }

    /// More flags.
    pub fn args(mut self, args: &[&str]) -> Launch {
        self.command.args(args);
        self
    }

    /// With these environment variables.
    pub fn envs(mut self, env: &[(&str, &str)]) -> Launch {
        self.command.envs(env.iter().copied());
        self
    }

    /// Logging at `info` to the file `DB.PORT.log` beside the database `db` (see
    /// [`Server::log`]).
    pub fn log_beside(mut self, db: &Path) -> Launch {
        let log = PathBuf::from(format!("{}.{}.log", db.display(), self.port));
        let file = std::fs::File::create(&log).expect("create the server log");
        self.command.env("RUST_LOG", "info").stderr(file);
        self.log = Some(log);
        self
    }

    /// Its standard output and error piped, for the test to read.
    pub fn piped(mut self) -> Launch {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        self
    }

    /// Spawned, not waited for.
    pub fn spawn(mut self) -> Server {
        let child = self.command.spawn().expect("spawn waystation");
        Server {
            child,
            port: self.port,
            log: self.log,
        }
    }

    /// Spawned, once `/readyz` answers 200 (within 60 s).
    pub fn ready(self) -> Server {
        self.ready_within(Duration::from_secs(60))
    }

    /// Spawned, once `/readyz` answers 200, failing the test past `bound`.
    pub fn ready_within(self, bound: Duration) -> Server {
        let server = self.spawn();
        let started = Instant::now();
        while try_http(server.port, "GET", "/readyz", "", None).map(|r| r.0) != Some(200) {
            assert!(
                started.elapsed() < bound,
                "server not ready within {bound:?}: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

/// A new admin token named `name` in the database `db`, made by the CLI.
pub fn token(db: &Path, name: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--name", name, "--role", "admin", "--db"])
        .arg(db)
        .output()
        .expect("run waystation token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("a token printed")
        .trim()
        .to_owned()
}

/// Every feature the server on `port` serves, by id, as served.
pub fn served(port: u16) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for layer in LAYERS {
        let v = get_json(port, &format!("/api/v1/layers/{layer}?limit=200000"));
        for f in v["features"].as_array().expect("features") {
            let id = f["properties"]["id"]
                .as_str()
                .or(f["id"].as_str())
                .expect("an id")
                .to_owned();
            assert!(out.insert(id, f.clone()).is_none(), "served twice");
        }
    }
    out
}

/// What a start reading the whole database `db` serves: a server on a copy of it
/// (`truth-ROUND.db` in `dir`) without the snapshot. Its ids are the database's.
pub fn truth(db: &Path, dir: &Path, round: &str) -> BTreeMap<String, Value> {
    let copy = dir.join(format!("truth-{round}.db"));
    Store::open(db)
        .expect("open the database")
        .backup(&copy)
        .expect("copy the database");
    assert!(!snapshot::database_snapshot(&copy).exists());
    let server = serve(DATA).db(&copy).log_beside(&copy).ready();
    let log = server.log();
    assert!(!log.contains("features read from the snapshot"), "{log}");
    let out = served(server.port);
    server.kill_9();
    let ids: BTreeSet<String> = Store::open(db)
        .expect("open the database")
        .features(None)
        .expect("its features")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(out.keys().cloned().collect::<BTreeSet<_>>(), ids);
    out
}

/// `served` is `expected`, feature by feature (`what` names the step).
pub fn assert_same(
    served: &BTreeMap<String, Value>,
    expected: &BTreeMap<String, Value>,
    what: &str,
) {
    assert_eq!(served.len(), expected.len(), "{what}");
    for (id, feature) in expected {
        assert_eq!(served.get(id), Some(feature), "{what}: {id}");
    }
}
