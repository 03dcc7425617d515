//! A small load client for the Redis peer benchmark (benches/peers/run.sh).
//!
//! Redis has no k-nearest-neighbour command: `GEOSEARCH … BYRADIUS r … ASC COUNT k`
//! gives the k nearest members *within r*. So a query asks with the first radius of
//! `--radii`, and asks again with the next one while fewer than k came back. With
//! k found inside r they are the k nearest of the whole set (anything outside r is
//! farther). `--radii 2000` is the single fixed-radius query.
//!
//! Raw RESP over tokio, one request at a time per connection (like wrk), latency of
//! each query (all its round trips) into an HdrHistogram.
//!
//! ```text
//! redis-load check --addr 127.0.0.1:6379 --key facility --points points.csv [--radii 10,40,…] [--k 5]
//!     points.csv: "lon,lat" lines; prints "i<TAB>id:dist_m,id:dist_m,…" per point
//! redis-load bench --addr 127.0.0.1:6379 --key facility [--radii …] [--k 5]
//!     [--connections 64] [--threads 2] [--duration 20] [--seed 42] [--points points.csv]
//!     prints one line: requests= seconds= rps= p50_us= p90_us= p99_us= max_us= roundtrips_per_query= short=
//! ```
//!
//! Without `--points`, `bench` draws each query point uniformly in China's bounding
//! box (seeded per connection). With `--points` (the drivers' workload: the list that
//! wrk and pgbench get too) connection i of C starts at line i·n/C of the list and
//! takes the lines in turn, wrapping around.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// China's bounding box, as in the other peers' query generators.
const LON: (f64, f64) = (73.0, 135.0);
const LAT: (f64, f64) = (18.0, 54.0);

struct Opts {
    mode: String,
    addr: String,
    key: String,
    radii: Vec<String>,
    k: usize,
    points: Option<String>,
    connections: usize,
    threads: usize,
    duration: f64,
    seed: u64,
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mode = args
        .next()
        .ok_or("usage: redis-load check|bench [options]")?;
    let mut o = Opts {
        mode,
        addr: "127.0.0.1:6379".into(),
        key: "facility".into(),
        radii: "5,10,20,40,80,160,320,640,1280,2560,5120,10240"
            .split(',')
            .map(str::to_owned)
            .collect(),
        k: 5,
        points: None,
        connections: 64,
        threads: 2,
        duration: 20.0,
        seed: 42,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--addr" => o.addr = value,
            "--key" => o.key = value,
            "--radii" => o.radii = value.split(',').map(|s| s.trim().to_owned()).collect(),
            "--k" => o.k = num(&value)? as usize,
            "--points" => o.points = Some(value),
            "--connections" => o.connections = num(&value)? as usize,
            "--threads" => o.threads = num(&value)? as usize,
            "--duration" => o.duration = num(&value)?,
            "--seed" => o.seed = num(&value)? as u64,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    for r in &o.radii {
        r.parse::<f64>().map_err(|e| format!("--radii {r}: {e}"))?;
    }
    if o.radii.is_empty() || o.k == 0 || o.connections == 0 || o.threads == 0 {
        return Err("--radii, --k, --connections and --threads must not be empty or zero".into());
    }
    Ok(o)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("redis-load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match opts.mode.as_str() {
            "check" => check(&opts).await,
            "bench" => bench(&opts).await,
            m => Err(io::Error::other(format!("unknown mode {m}"))),
        }
    });
    if let Err(e) = result {
        eprintln!("redis-load: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// RESP

enum Value {
    Simple,
    Error(String),
    Int,
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

/// Parses one reply from the front of `b`: `Ok(None)` while incomplete.
fn parse(b: &[u8]) -> io::Result<Option<(Value, usize)>> {
    let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    if eol == 0 {
        return Err(io::Error::other("empty RESP line"));
    }
    let line = &b[1..eol];
    let after = eol + 2;
    let int = || -> io::Result<i64> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other("bad RESP length"))
    };
    Ok(Some(match b[0] {
        b'+' => (Value::Simple, after),
        b'-' => (
            Value::Error(String::from_utf8_lossy(line).into_owned()),
            after,
        ),
        b':' => (Value::Int, after),
        b'$' => {
            let n = int()?;
            if n < 0 {
                (Value::Bulk(None), after)
            } else {
                let end = after + n as usize;
                if b.len() < end + 2 {
                    return Ok(None);
                }
                (Value::Bulk(Some(b[after..end].to_vec())), end + 2)
            }
        }
        b'*' => {
            let n = int()?;
            if n < 0 {
                (Value::Array(None), after)
            } else {
                let mut items = Vec::with_capacity(n as usize);
                let mut pos = after;
                for _ in 0..n {
                    match parse(&b[pos..])? {
                        Some((v, used)) => {
                            items.push(v);
                            pos += used;
                        }
                        None => return Ok(None),
                    }
                }
                (Value::Array(Some(items)), pos)
            }
        }
        c => {
            return Err(io::Error::other(format!(
                "unexpected RESP type byte {c:#x}"
            )));
        }
    }))
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    cmd: Vec<u8>,
}

impl Conn {
    async fn connect(addr: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
            cmd: Vec::with_capacity(256),
        })
    }

    async fn request(&mut self, args: &[&[u8]]) -> io::Result<Value> {
        self.cmd.clear();
        self.cmd
            .extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            self.cmd
                .extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            self.cmd.extend_from_slice(a);
            self.cmd.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&self.cmd).await?;
        self.buf.clear();
        let mut chunk = [0u8; 16384];
        loop {
            if !self.buf.is_empty()
                && let Some((v, used)) = parse(&self.buf)?
            {
                if used != self.buf.len() {
                    return Err(io::Error::other("trailing bytes after a reply"));
                }
                return Ok(v);
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "redis closed the connection",
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The k nearest members: (member, distance in metres), nearest first, and the
    /// number of round trips it took.
    async fn knn(
        &mut self,
        key: &str,
        lon: &str,
        lat: &str,
        radii: &[String],
        k: usize,
    ) -> io::Result<(Vec<(String, f64)>, u32)> {
        let count = k.to_string();
        let mut trips = 0;
        let mut found = Vec::new();
        for r in radii {
            trips += 1;
            let reply = self
                .request(&[
                    b"GEOSEARCH",
                    key.as_bytes(),
                    b"FROMLONLAT",
                    lon.as_bytes(),
                    lat.as_bytes(),
                    b"BYRADIUS",
                    r.as_bytes(),
                    b"km",
                    b"ASC",
                    b"COUNT",
                    count.as_bytes(),
                    b"WITHDIST",
                ])
                .await?;
            found = members(reply)?;
            if found.len() >= k {
                break;
            }
        }
        Ok((found, trips))
    }
}

fn members(reply: Value) -> io::Result<Vec<(String, f64)>> {
    let bad = || io::Error::other("unexpected GEOSEARCH reply shape");
    match reply {
        Value::Error(e) => Err(io::Error::other(format!("redis: {e}"))),
        Value::Array(Some(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Array(Some(mut pair)) if pair.len() == 2 => {
                    let dist = pair.pop().ok_or_else(bad)?;
                    let member = pair.pop().ok_or_else(bad)?;
                    match (member, dist) {
                        (Value::Bulk(Some(m)), Value::Bulk(Some(d))) => {
                            let d: f64 = std::str::from_utf8(&d)
                                .ok()
                                .and_then(|s| s.parse().ok())
                                .ok_or_else(bad)?;
                            // WITHDIST is in the unit of the query: km.
                            Ok((String::from_utf8_lossy(&m).into_owned(), d * 1000.0))
                        }
                        _ => Err(bad()),
                    }
                }
                _ => Err(bad()),
            })
            .collect(),
        Value::Simple | Value::Int | Value::Bulk(_) | Value::Array(None) => Err(bad()),
    }
}

// ---------------------------------------------------------------------------
// modes

/// The "lon,lat" lines of a points file, as the strings sent to Redis.
fn read_points(path: &str) -> io::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)?;
    let points = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (lon, lat) = line
                .split_once(',')
                .ok_or_else(|| io::Error::other(format!("{path}: bad line {line:?}")))?;
            for v in [lon, lat] {
                v.trim()
                    .parse::<f64>()
                    .map_err(|e| io::Error::other(format!("{path}: bad number {v:?}: {e}")))?;
            }
            Ok((lon.trim().to_owned(), lat.trim().to_owned()))
        })
        .collect::<io::Result<Vec<_>>>()?;
    if points.is_empty() {
        return Err(io::Error::other(format!("{path}: no points")));
    }
    Ok(points)
}

async fn check(o: &Opts) -> io::Result<()> {
    let path = o
        .points
        .as_deref()
        .ok_or_else(|| io::Error::other("check needs --points"))?;
    let points = read_points(path)?;
    let mut conn = Conn::connect(&o.addr).await?;
    let started = Instant::now();
    let mut out = String::new();
    let (mut trips_total, mut n) = (0u64, 0u64);
    for (i, (lon, lat)) in points.iter().enumerate() {
        let (found, trips) = conn.knn(&o.key, lon, lat, &o.radii, o.k).await?;
        trips_total += u64::from(trips);
        n += 1;
        let list: Vec<String> = found.iter().map(|(m, d)| format!("{m}:{d:.3}")).collect();
        out.push_str(&format!("{i}\t{}\n", list.join(",")));
    }
    print!("{out}");
    eprintln!(
        "redis-load check: {n} queries in {:.1} s, {:.2} round trips per query",
        started.elapsed().as_secs_f64(),
        trips_total as f64 / n.max(1) as f64
    );
    Ok(())
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct TaskResult {
    hist: Histogram<u64>,
    trips: u64,
    short: u64,
}

async fn bench(o: &Opts) -> io::Result<()> {
    let points = o
        .points
        .as_deref()
        .map(read_points)
        .transpose()?
        .map(Arc::new);
    // Connect everything first, so that connecting is not part of the timed run.
    let mut conns = Vec::with_capacity(o.connections);
    for _ in 0..o.connections {
        conns.push(Conn::connect(&o.addr).await?);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(o.duration);
    let mut tasks = Vec::with_capacity(o.connections);
    for (i, mut conn) in conns.into_iter().enumerate() {
        let key = o.key.clone();
        let radii = o.radii.clone();
        let k = o.k;
        let mut rng = SplitMix(o.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let points = points.clone();
        let mut next = points.as_ref().map_or(0, |p| i * p.len() / o.connections);
        tasks.push(tokio::spawn(async move {
            // 1 µs .. 60 s, in nanoseconds, 3 significant figures.
            let mut hist =
                Histogram::<u64>::new_with_bounds(1_000, 60_000_000_000, 3).expect("histogram");
            let (mut trips, mut short) = (0u64, 0u64);
            while Instant::now() < deadline {
                let (lon, lat) = match &points {
                    Some(p) => {
                        let (lon, lat) = p[next].clone();
                        next = (next + 1) % p.len();
                        (lon, lat)
                    }
                    None => (
                        format!("{:.6}", LON.0 + rng.unit() * (LON.1 - LON.0)),
                        format!("{:.6}", LAT.0 + rng.unit() * (LAT.1 - LAT.0)),
                    ),
                };
                let t0 = Instant::now();
                let (found, t) = conn.knn(&key, &lon, &lat, &radii, k).await?;
                let ns = t0.elapsed().as_nanos() as u64;
                hist.saturating_record(ns.max(1_000));
                trips += u64::from(t);
                if found.len() < k {
                    short += 1;
                }
            }
            Ok::<_, io::Error>(TaskResult { hist, trips, short })
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1_000, 60_000_000_000, 3).expect("histogram");
    let (mut trips, mut short) = (0u64, 0u64);
    for t in tasks {
        let r = t.await.map_err(io::Error::other)??;
        hist.add(&r.hist)
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        trips += r.trips;
        short += r.short;
    }
    let seconds = started.elapsed().as_secs_f64();
    let n = hist.len();
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "requests={n} seconds={seconds:.3} rps={:.1} p50_us={:.1} p90_us={:.1} p99_us={:.1} max_us={:.1} roundtrips_per_query={:.3} short={short}",
        n as f64 / seconds,
        us(0.50),
        us(0.90),
        us(0.99),
        hist.max() as f64 / 1000.0,
        trips as f64 / n.max(1) as f64,
    );
    Ok(())
}
