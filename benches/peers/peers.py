#!/usr/bin/env python3
"""Helpers of benches/peers/run.sh (standard library only).

  extract DATA_DIR CSV           (id,lon,lat) of every facility of the three facility layers
  resp CSV KEY OUT               GEOADD commands in RESP for `redis-cli --pipe`
  points [--n N] [--seed S] OUT  uniform query points in China's bounding box
  driver-points --csv CSV [--n N] [--seed S] [--max-km D] OUT
                                 drivers' query points: a random facility's position moved
                                 0..D km (uniform) in a uniform random bearing
  check ...                      the correctness check: top-k of waystation, Redis, PostGIS
  percentiles LOG...             p50/p99 (µs) and count of pgbench --log files
  report --nearest L --redis L --postgis L --healthz L [--connections C] [--pg-clients P]
                                 one workload's Markdown tables from the systems' result lines
  append FILE HEADING BLOCK      BLOCK's text at the end of FILE's section HEADING
"""

import argparse
import concurrent.futures
import http.client
import json
import math
import random
import re
import subprocess
import sys
import time

FACILITY_LAYERS = ("driver_home", "courier_station", "fitness_station")
# China's bounding box: the query points of every peer are uniform in it.
LON = (73.0, 135.0)
LAT = (18.0, 54.0)
# The sphere waystation measures on (IUGG mean radius R1).
EARTH_RADIUS_M = 6_371_008.8
# The sphere Redis measures on (src/geohash_helper.c).
REDIS_RADIUS_M = 6_372_797.560856
TIE_M = 1.0

# `waystation gen` writes one feature a line; this reads its head without parsing
# the properties. Lines it does not match go through json.loads.
FEATURE_LINE = re.compile(
    r'\{"type":"Feature","id":"([^"\\]+)","geometry":\{"type":"Point","coordinates":\[([-+0-9.eE]+),([-+0-9.eE]+)\]\}'
)


def extract(data_dir, out_csv):
    n = 0
    with open(out_csv, "w", encoding="utf-8") as out:
        for layer in FACILITY_LAYERS:
            path = f"{data_dir}/{layer}.synthetic.geojson"
            with open(path, encoding="utf-8") as f:
                head = f.read(64)
                f.seek(0)
                if '"features":[\n' not in head.replace(" ", ""):
                    # Not one feature a line: parse the whole document.
                    features = json.load(f)["features"]
                    rows = ((ft["properties"]["id"], *ft["geometry"]["coordinates"][:2]) for ft in features)
                else:
                    rows = _line_rows(f, path)
                for fid, lon, lat in rows:
                    if "," in fid or '"' in fid:
                        sys.exit(f"{path}: id {fid!r} needs quoting; not supported")
                    out.write(f"{fid},{lon},{lat}\n")
                    n += 1
    print(f"extracted {n} facilities to {out_csv}", file=sys.stderr)


def _line_rows(f, path):
    for line in f:
        if not line.startswith("{") or line.startswith('{"type":"FeatureCollection"'):
            continue
        m = FEATURE_LINE.match(line)
        if m:
            yield m.group(1), m.group(2), m.group(3)
            continue
        ft = json.loads(line.rstrip().rstrip(","))
        if ft.get("type") != "Feature":
            continue
        if ft.get("geometry", {}).get("type") != "Point":
            sys.exit(f"{path}: feature {ft.get('id')} is not a Point")
        lon, lat = ft["geometry"]["coordinates"][:2]
        yield ft["properties"]["id"], repr(lon), repr(lat)


def resp(csv_path, key, out_path, batch=1000):
    def cmd(args):
        parts = [f"*{len(args)}\r\n"]
        for a in args:
            b = a.encode()
            parts.append(f"${len(b)}\r\n{a}\r\n")
        return "".join(parts)

    n = 0
    with open(csv_path, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8", newline="") as out:
        args = ["GEOADD", key]
        for line in f:
            fid, lon, lat = line.rstrip("\n").split(",")
            args += [lon, lat, fid]
            n += 1
            if len(args) >= 2 + 3 * batch:
                out.write(cmd(args))
                args = ["GEOADD", key]
        if len(args) > 2:
            out.write(cmd(args))
    print(f"wrote GEOADD of {n} members to {out_path}", file=sys.stderr)


# ---------------------------------------------------------------------------
# the correctness check


def query_points(n, seed):
    rng = random.Random(seed)
    return [(round(rng.uniform(*LON), 6), round(rng.uniform(*LAT), 6)) for _ in range(n)]


def destination(lon, lat, bearing_deg, dist_m):
    """The direct geodesic problem on the sphere of radius EARTH_RADIUS_M: the point
    `dist_m` from (lon, lat) along the great circle leaving it at `bearing_deg`."""
    p1, l1 = math.radians(lat), math.radians(lon)
    th, dl = math.radians(bearing_deg), dist_m / EARTH_RADIUS_M
    p2 = math.asin(min(1.0, max(-1.0, math.sin(p1) * math.cos(dl) + math.cos(p1) * math.sin(dl) * math.cos(th))))
    l2 = l1 + math.atan2(math.sin(th) * math.sin(dl) * math.cos(p1), math.cos(dl) - math.sin(p1) * math.sin(p2))
    lon2 = (math.degrees(l2) + 540.0) % 360.0 - 180.0
    return lon2, math.degrees(p2)


def driver_points(csv_path, n, seed, max_km):
    """What drivers send: each point is the position of a facility drawn uniformly from
    the data set (the same CSV that Redis and PostGIS load), moved by a distance uniform
    in 0..max_km along a great circle at a bearing uniform in 0..360°."""
    with open(csv_path, encoding="utf-8") as f:
        pos = [tuple(float(x) for x in line.rstrip("\n").split(",")[1:3]) for line in f]
    if not pos:
        sys.exit(f"{csv_path}: no facilities")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lon, lat = pos[rng.randrange(len(pos))]
        bearing = rng.uniform(0.0, 360.0)
        dist = rng.uniform(0.0, max_km * 1000.0)
        lon2, lat2 = destination(lon, lat, bearing, dist)
        out.append((round(lon2, 6), round(lat2, 6)))
    return out


def haversine_m(lon1, lat1, lon2, lat2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def ask_waystation(base, points, k):
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    out = []
    for lon, lat in points:
        conn.request("GET", f"/api/v1/nearest?lon={lon}&lat={lat}&k={k}")
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit(f"waystation: HTTP {r.status} for {lon},{lat}: {body[:300]!r}")
        fc = json.loads(body)
        out.append([(ft.get("id") or ft["properties"]["id"], float(ft["properties"]["distance_m"])) for ft in fc["features"]])
    return out


def ask_postgis(psql, sql_file, n):
    text = subprocess.run(psql + ["-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-f", sql_file],
                          check=True, capture_output=True, text=True).stdout
    out = [[] for _ in range(n)]
    for line in text.splitlines():
        i, fid, d = line.split("\t")
        out[int(i)].append((fid, float(d)))
    # Rows come in index order per query point; a stable sort keeps it for ties.
    return [sorted(rows, key=lambda r: r[1]) for rows in out]


def postgis_check_sql(points, k):
    values = ",\n".join(f"({i}, {lon!r}::float8, {lat!r}::float8)" for i, (lon, lat) in enumerate(points))
    return f"""SELECT q.i, f.id, f.d
FROM (VALUES
{values}
) AS q(i, lon, lat)
CROSS JOIN LATERAL (
  SELECT id, geom::geography <-> ST_MakePoint(q.lon, q.lat)::geography AS d
  FROM facility
  ORDER BY geom::geography <-> ST_MakePoint(q.lon, q.lat)::geography
  LIMIT {k}
) AS f;
"""


def load_positions(csv_path, wanted):
    pos = {}
    with open(csv_path, encoding="utf-8") as f:
        for line in f:
            fid, lon, lat = line.rstrip("\n").split(",")
            if fid in wanted:
                pos[fid] = (float(lon), float(lat))
    missing = wanted - pos.keys()
    if missing:
        sys.exit(f"ids in answers but not in the data: {sorted(missing)[:5]}")
    return pos


def agree(a, b, dist, k):
    """Same k ids in the same order, except that a position may hold different ids
    whose true distances differ by at most TIE_M (near-ties swapped or cut at k)."""
    if len(a) != k or len(b) != k:
        return False
    return all(x == y or abs(dist(x) - dist(y)) <= TIE_M for (x, _), (y, _) in zip(a, b))


def write_points(points, path):
    with open(path, "w") as f:
        f.writelines(f"{lon:.6f},{lat:.6f}\n" for lon, lat in points)


def read_points(path):
    with open(path) as f:
        return [tuple(float(x) for x in line.split(",")) for line in f if line.strip()]


def read_redis_answers(path, n):
    out = [[] for _ in range(n)]
    with open(path) as f:
        for line in f:
            i, _, rest = line.rstrip("\n").partition("\t")
            for item in filter(None, rest.split(",")):
                fid, _, d = item.rpartition(":")
                out[int(i)].append((fid, float(d)))
    return out


def check(args):
    points = read_points(args.points_file)
    args.n = len(points)
    with open(args.sql_file, "w") as f:
        f.write(postgis_check_sql(points, args.k))

    # Redis answered before (run.sh runs `redis-load check` while the others load).
    def timed(fn, *a):
        started = time.monotonic()
        return fn(*a), time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        jobs = {
            "waystation": pool.submit(timed, ask_waystation, args.waystation, points, args.k),
            "redis": pool.submit(timed, read_redis_answers, args.redis_answers, args.n),
            "postgis": pool.submit(timed, ask_postgis, args.psql.split(), args.sql_file, args.n),
        }
        results = {name: job.result() for name, job in jobs.items()}
    answers = {name: r[0] for name, r in results.items()}
    seconds = {name: r[1] for name, r in results.items()}
    wanted = {fid for rows in answers.values() for r in rows for fid, _ in r}
    pos = load_positions(args.csv, wanted)
    dist_cache = {}

    def true_dist(i):
        lon, lat = points[i]

        def d(fid):
            key = (i, fid)
            if key not in dist_cache:
                dist_cache[key] = haversine_m(lon, lat, *pos[fid])
            return dist_cache[key]

        return d

    # Each system's own distances against the reference (haversine, R = 6 371 008.8 m).
    report = {"n": args.n, "k": args.k, "pairs": {}, "distance_error_m": {}}
    lines = [f"correctness: {args.n} {args.label}, top-{args.k}"]
    for name, rows in answers.items():
        # Redis measures on a sphere of radius 6 372 797.560856 m: scale to R1 first.
        scale = EARTH_RADIUS_M / REDIS_RADIUS_M if name == "redis" else 1.0
        errs = [abs(d * scale - true_dist(i)(fid)) for i, r in enumerate(rows) for fid, d in r]
        short = sum(1 for r in rows if len(r) < args.k)
        report["distance_error_m"][name] = max(errs) if errs else None
        note = " (scaled to R1)" if name == "redis" else ""
        took = "see redis-load check" if name == "redis" else f"{seconds[name]:.1f} s"
        lines.append(f"  {name:<10} {args.n} queries ({took}, one connection); "
                     f"max |reported{note} - haversine| = {max(errs):.2f} m; answers with < {args.k} hits: {short}")
    ok = True
    summary = []
    for a, b in (("waystation", "redis"), ("waystation", "postgis"), ("redis", "postgis")):
        tol = sum(agree(x, y, true_dist(i), args.k) for i, (x, y) in enumerate(zip(answers[a], answers[b])))
        exact = sum([fid for fid, _ in x] == [fid for fid, _ in y] for x, y in zip(answers[a], answers[b]))
        report["pairs"][f"{a}/{b}"] = {"agree": tol, "exact": exact}
        summary.append(f"{a} / {b} {tol}/{args.n} (exact order {exact})")
        lines.append(f"  {a} vs {b}: agree {tol}/{args.n} (ties within {TIE_M:g} m equal), exact order {exact}/{args.n}")
        if tol < args.min_agree * args.n:
            ok = False
            shown = 0
            for i, (x, y) in enumerate(zip(answers[a], answers[b])):
                if not agree(x, y, true_dist(i), args.k) and shown < 5:
                    shown += 1
                    d = true_dist(i)
                    lines.append(f"    point {i} {points[i]}:")
                    lines.append(f"      {a}: " + ", ".join(f"{fid} {dd:.1f} ({d(fid):.2f})" for fid, dd in x))
                    lines.append(f"      {b}: " + ", ".join(f"{fid} {dd:.1f} ({d(fid):.2f})" for fid, dd in y))
    print("\n".join(lines))
    report["summary"] = "; ".join(summary)
    with open(args.report, "w") as f:
        json.dump(report, f)
    if not ok:
        print(f"correctness: agreement below {args.min_agree:.0%}; no speed run", file=sys.stderr)
        sys.exit(3)


def percentiles(logs):
    """pgbench --log lines: client_id transaction_no time_us script_no time_epoch time_us_part."""
    lat = []
    for path in logs:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    lat.append(int(parts[2]))
    if not lat:
        sys.exit("no pgbench log lines")
    lat.sort()

    def q(p):
        return lat[min(len(lat) - 1, math.ceil(p * len(lat)) - 1)]

    print(f"count={len(lat)} p50_us={q(0.50)} p90_us={q(0.90)} p99_us={q(0.99)} max_us={lat[-1]}")


def parse_result(line):
    """`key=value` tokens of a result line (wrk's WRK_RESULT, redis-load, pgbench's)."""
    return {k: float(v) for k, v in (t.split("=", 1) for t in line.split() if "=" in t)}


def report(a):
    """One workload's table of the four runs and the ratios of waystation's nearest to each."""
    ws, rd, pg, hz = (parse_result(x) for x in (a.nearest, a.redis, a.postgis, a.healthz))

    def ms(us):
        return f"{us / 1000:.3f} ms"

    def ratio(x):
        return f"{x:,.0f}" if x >= 100 else f"{x:.2f}" if x >= 0.1 else f"{x:.2g}"

    rows = [
        ("waystation /api/v1/nearest", f"wrk, {a.connections} connections", ws),
        ("Redis GEOSEARCH", f"redis-load, {a.connections} connections", rd),
        ("PostGIS geography KNN", f"pgbench, {a.pg_clients} clients", pg),
        ("waystation /healthz (HTTP floor)", f"wrk, {a.connections} connections", hz),
    ]
    out = ["| system | load | requests/s | p50 | p99 |", "| --- | --- | ---: | ---: | ---: |"]
    for name, load, r in rows:
        rps = f"{r['rps']:,.0f}" if r["rps"] >= 100 else f"{r['rps']:.1f}"
        out.append(f"| {name} | {load} | {rps} | {ms(r['p50_us'])} | {ms(r['p99_us'])} |")
    out += ["", "| ratio | requests/s | p50 | p99 |", "| --- | ---: | ---: | ---: |"]
    for name, r in (("waystation / Redis", rd), ("waystation / PostGIS", pg), ("waystation / healthz", hz)):
        out.append(f"| {name} | {ratio(ws['rps'] / r['rps'])} | {ratio(ws['p50_us'] / r['p50_us'])} "
                   f"| {ratio(ws['p99_us'] / r['p99_us'])} |")
    extra = []
    if rd.get("roundtrips_per_query"):
        extra.append(f"Redis: {rd['roundtrips_per_query']:.2f} GEOSEARCH round trips per query")
    if rd.get("short"):
        extra.append(f"Redis answers with fewer than 5 hits: {rd['short']:.0f}")
    if hz.get("socket_errors") or ws.get("socket_errors"):
        extra.append(f"wrk socket errors: nearest {ws.get('socket_errors', 0):.0f}, healthz {hz.get('socket_errors', 0):.0f}")
    if extra:
        out += ["", "; ".join(extra) + "."]
    print("\n".join(out))


def append(path, heading, block_file):
    """Puts the block in the section under `heading` (made if missing), newest first:
    before the section's first `### ` heading, or at its end when it has none."""
    block = open(block_file, encoding="utf-8").read().strip("\n") + "\n"
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    at = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if at is None:
        lines += ["\n", heading + "\n"]
        at = len(lines) - 1
    end = next((i for i in range(at + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    end = next((i for i in range(at + 1, end) if lines[i].startswith("### ")), end)
    while end > at + 1 and not lines[end - 1].strip():
        end -= 1
    tail = lines[end:]
    while tail and not tail[0].strip():
        tail = tail[1:]
    lines = lines[:end] + ["\n", block] + (["\n"] if tail else []) + tail
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(lines))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("data_dir")
    e.add_argument("csv")
    r = sub.add_parser("resp")
    r.add_argument("csv")
    r.add_argument("key")
    r.add_argument("out")
    c = sub.add_parser("check")
    c.add_argument("--csv", required=True)
    c.add_argument("--k", type=int, default=5)
    c.add_argument("--waystation", required=True, help="http://127.0.0.1:PORT")
    c.add_argument("--redis-answers", required=True, help="output of redis-load check")
    c.add_argument("--psql", required=True, help="psql command line, space separated")
    c.add_argument("--points-file", required=True)
    c.add_argument("--sql-file", required=True)
    c.add_argument("--report", required=True)
    c.add_argument("--min-agree", type=float, default=0.99)
    c.add_argument("--label", default=f"random points in lon {LON}, lat {LAT}", help="what the points are")
    q = sub.add_parser("points")
    q.add_argument("--n", type=int, default=1000)
    q.add_argument("--seed", type=int, default=42)
    q.add_argument("out")
    d = sub.add_parser("driver-points")
    d.add_argument("--csv", required=True, help="the facilities (id,lon,lat) loaded into every system")
    d.add_argument("--n", type=int, default=100_000)
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--max-km", type=float, default=20.0)
    d.add_argument("out")
    p = sub.add_parser("percentiles")
    p.add_argument("logs", nargs="+")
    t = sub.add_parser("report")
    for name in ("--nearest", "--redis", "--postgis", "--healthz"):
        t.add_argument(name, required=True, help="result line (key=value tokens)")
    t.add_argument("--connections", default="64")
    t.add_argument("--pg-clients", default="8")
    b = sub.add_parser("append")
    b.add_argument("path")
    b.add_argument("heading")
    b.add_argument("block_file")
    a = ap.parse_args()
    if a.cmd == "extract":
        extract(a.data_dir, a.csv)
    elif a.cmd == "resp":
        resp(a.csv, a.key, a.out)
    elif a.cmd == "check":
        check(a)
    elif a.cmd == "points":
        write_points(query_points(a.n, a.seed), a.out)
    elif a.cmd == "driver-points":
        write_points(driver_points(a.csv, a.n, a.seed, a.max_km), a.out)
    elif a.cmd == "append":
        append(a.path, a.heading, a.block_file)
    elif a.cmd == "report":
        report(a)
    else:
        percentiles(a.logs)


if __name__ == "__main__":
    main()
