#!/usr/bin/env bash
# Vector tiles: waystation against Martin (PostGIS) on the same 1,000,000 generated
# facilities and the same random list of z/x/y tiles at zooms 6-14. See BENCHMARKS.md
# ("Vector tiles").
#
#   benches/peers/tiles.sh
#
# 1. Martin is built once (`cargo install martin`, PostgreSQL source only) into
#    ~/.cache/waystation-peers/martin and reused by later runs.
# 2. `waystation gen` makes the set; the facilities go into PostGIS as Web-Mercator
#    points with a GiST index (the table is CLUSTERed on it); Martin serves that
#    table with buffer 0 (a point is in the tile it falls in, as in waystation)
#    and its tile cache off (waystation has none).
# 3. One seeded list of TILES tiles: a random facility, a random zoom 6-14, the
#    tile holding it. Correctness first: for the first CHECK tiles, the feature
#    count of Martin's tile equals waystation's single features plus its clusters'
#    point_count (waystation clusters dense cells below zoom 16; Martin does not),
#    except for facilities within metres of a tile edge, which Martin can put in
#    both tiles (see the check in tiles.py).
# 4. Load: wrk over the list, each server alone on the machine, no gzip asked.
#
# Environment (all optional): FACILITIES=1000000 TILES=20000 CHECK=1000 DURATION=20
# CONNECTIONS=64 RECORD=1 (append to BENCHMARKS.md) KEEP_WORK=0 SKIP_BUILD=0.
# Needs root or sudo once, to apt-get install postgresql-15 postgresql-15-postgis-3 wrk.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FACILITIES=${FACILITIES:-1000000}
TILES=${TILES:-20000}
CHECK=${CHECK:-1000}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
RECORD=${RECORD:-1}
KEEP_WORK=${KEEP_WORK:-0}
SEED=42
MARTIN_VERSION=1.14.0
MARTIN_ROOT=${MARTIN_ROOT:-$HOME/.cache/waystation-peers/martin}
MARTIN=$MARTIN_ROOT/bin/martin
WS_LAYERS=driver_home,courier_station,fitness_station

# shellcheck source=benches/peers/lib.sh
. "$HERE/lib.sh"

# --- prerequisites (as run.sh) -------------------------------------------------
missing=()
[[ -x $PGBIN/initdb ]] || missing+=(postgresql-15)
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
install_missing "${missing[@]}"
if [[ ! -x $MARTIN ]]; then
  log "building Martin $MARTIN_VERSION once into $MARTIN_ROOT (PostgreSQL source only; takes a while)"
  nice -n 19 cargo install martin --version "$MARTIN_VERSION" --locked --no-default-features --features postgres \
    --root "$MARTIN_ROOT" >&2
fi
MARTIN_V=$("$MARTIN" --version)
make_work waystation-tiles
FAILURE_LOGS=(waystation.log martin.log)
read -r WS_PORT MARTIN_PORT PG_PORT < <(free_ports 3)
log "work dir $WORK; ports: waystation $WS_PORT, martin $MARTIN_PORT, postgres $PG_PORT"

# The tile list and the MVT feature count (a decoder of its own, not waystation's).
cat >"$WORK/tiles.py" <<'PY'
import csv, math, random, sys, urllib.request

def tile_of(lon, lat, z):
    n = 1 << z
    lat = max(-85.0511287798, min(85.0511287798, lat))
    x = (lon + 180.0) / 360.0 * n
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return min(int(x), n - 1), min(int(y), n - 1)

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return r, i

def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        elif w == 1:
            v = b[i:i + 8]; i += 8
        elif w == 5:
            v = b[i:i + 4]; i += 4
        else:
            raise ValueError(f"wire type {w}")
        yield f, v

def packed(b):
    out, i = [], 0
    while i < len(b):
        v, i = varint(b, i); out.append(v)
    return out

def value(b):
    for f, v in fields(b):
        if f == 1:
            return bytes(v).decode()
        if f in (4, 5):
            return v
        if f == 6:
            return (v >> 1) ^ -(v & 1)
    return None

def count(tile):
    """Features in an MVT, a `clusters` feature counting its point_count."""
    total = 0
    for f, layer in fields(tile):
        if f != 3:
            continue
        name, keys, values, feats = None, [], [], []
        for lf, lv in fields(layer):
            if lf == 1: name = bytes(lv).decode()
            elif lf == 2: feats.append(lv)
            elif lf == 3: keys.append(bytes(lv).decode())
            elif lf == 4: values.append(value(lv))
        for ft in feats:
            tags = next((packed(v) for ff, v in fields(ft) if ff == 2), [])
            props = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            total += props.get("point_count", 1) if name == "clusters" else 1
    return total

def fetch(url):
    with urllib.request.urlopen(url) as r:
        return r.read() if r.status == 200 else b""

cmd = sys.argv[1]
if cmd == "list":
    csv_path, n, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    pts = [(float(r[1]), float(r[2])) for r in csv.reader(open(csv_path))]
    rnd = random.Random(42)
    with open(out, "w") as f:
        for _ in range(n):
            lon, lat = rnd.choice(pts)
            z = rnd.randint(6, 14)
            x, y = tile_of(lon, lat, z)
            f.write(f"{z}/{x}/{y}\n")
elif cmd == "check":
    # Martin's tile also holds points just outside it: PostGIS's `&&` compares
    # single-precision boxes (about a metre at Web-Mercator magnitudes) and is closed,
    # and ST_AsMVTGeom keeps a point that snaps onto the edge. waystation gives every
    # point to exactly one tile (half-open, as the pyramid is). So a tile passes when
    # the counts are equal, or when Martin's surplus is at most the facilities lying
    # within DELTA (about 4 m) of the tile's edges.
    import bisect
    ws, martin, tiles, n, csv_path = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
    DELTA = 1e-7  # of the Mercator square's side
    pts = []
    for r in csv.reader(open(csv_path)):
        lon, lat = float(r[1]), max(-85.0511287798, min(85.0511287798, float(r[2])))
        pts.append(((lon + 180.0) / 360.0, (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0))
    by_x = sorted(pts)
    xs = [p[0] for p in by_x]
    by_y = sorted(pts, key=lambda p: p[1])
    ys = [p[1] for p in by_y]
    def near_edges(z, x, y):
        n = 1 << z
        x0, x1, y0, y1 = x / n, (x + 1) / n, y / n, (y + 1) / n
        k = 0
        for e in (x0, x1):
            for px, py in by_x[bisect.bisect_left(xs, e - DELTA):bisect.bisect_right(xs, e + DELTA)]:
                k += y0 - DELTA <= py <= y1 + DELTA
        for e in (y0, y1):
            for px, py in by_y[bisect.bisect_left(ys, e - DELTA):bisect.bisect_right(ys, e + DELTA)]:
                k += x0 - DELTA <= px <= x1 + DELTA
        return k
    bad, total, feats, exact, near = 0, 0, 0, 0, 0
    for line in open(tiles).read().split()[:n]:
        a = count(fetch(ws.replace("{zxy}", line)))
        b = count(fetch(martin.replace("{zxy}", line)))
        total += 1; feats += b
        if a == b:
            exact += 1
            continue
        edge = near_edges(*map(int, line.split("/")))
        if 0 <= b - a <= edge:
            near += 1
        else:
            bad += 1
            if bad <= 10:
                print(f"MISMATCH {line}: waystation {a}, martin {b}, {edge} near its edges", file=sys.stderr)
    print(f"CHECK tiles={total} features={feats} equal={exact} edge_surplus_only={near} mismatches={bad}")
    sys.exit(1 if bad else 0)
PY

# --- 1. build and data ---------------------------------------------------------
waystation_and_data
python3 "$WORK/tiles.py" list "$WORK/facilities.csv" "$TILES" "$WORK/tiles.txt"
log "$TILES tiles at zooms 6-14 around random facilities (seed $SEED)"

log "starting waystation (loads in the background)"
(cd "$ROOT" && exec "$WS_BIN" serve --data "$WORK/data" --bind "127.0.0.1:$WS_PORT") >"$WORK/waystation.log" 2>&1 &
WS_PID=$!
BG_PIDS+=("$WS_PID")

# --- 2. PostGIS and Martin -------------------------------------------------------
start_postgres "$PG_PORT"
"${PSQL[@]}" -q -v ON_ERROR_STOP=1 >"$WORK/pg-load.log" 2>&1 <<SQL || die "loading PostGIS: $(tail -n 5 "$WORK/pg-load.log")"
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE UNLOGGED TABLE facility_raw (id text, lon float8, lat float8);
\copy facility_raw FROM '$WORK/facilities.csv' WITH (FORMAT csv)
-- Web-Mercator already, so that Martin transforms nothing per row.
CREATE TABLE facility_tiles (id text PRIMARY KEY, geom geometry(Point, 3857) NOT NULL);
INSERT INTO facility_tiles
  SELECT id, ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 3857) FROM facility_raw;
DROP TABLE facility_raw;
CREATE INDEX facility_tiles_gist ON facility_tiles USING gist (geom);
CLUSTER facility_tiles USING facility_tiles_gist;
VACUUM ANALYZE facility_tiles;
SQL
PN=$("${PSQL[@]}" -At -c "SELECT count(*) FROM facility_tiles")
((PN == N)) || die "postgis holds $PN rows, expected $N"
POSTGIS_VERSION=$("${PSQL[@]}" -At -c "SELECT postgis_lib_version()")

cat >"$WORK/martin.yaml" <<YAML
listen_addresses: '127.0.0.1:$MARTIN_PORT'
cache:
  size_mb: 0
postgres:
  connection_string: 'postgresql://postgres@127.0.0.1:$PG_PORT/postgres'
  pool_size: 20
  auto_publish: false
  tables:
    facility_tiles:
      schema: public
      table: facility_tiles
      srid: 3857
      geometry_column: geom
      geometry_type: POINT
      extent: 4096
      buffer: 0
      clip_geom: true
      minzoom: 0
      maxzoom: 16
      properties:
        id: text
YAML
log "starting $MARTIN_V"
"$MARTIN" --config "$WORK/martin.yaml" >"$WORK/martin.log" 2>&1 &
MARTIN_PID=$!
BG_PIDS+=("$MARTIN_PID")
for _ in $(seq 600); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MARTIN_PORT/health") == 200 ]] && break
  kill -0 "$MARTIN_PID" 2>/dev/null || die "martin exited: $(tail -n 5 "$WORK/martin.log")"
  sleep 0.1
done
log "waiting for waystation /readyz"
for _ in $(seq 6000); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS_PORT/readyz") == 200 ]] && break
  kill -0 "$WS_PID" 2>/dev/null || die "waystation exited: $(tail -n 5 "$WORK/waystation.log")"
  sleep 0.05
done

# --- 3. correctness ----------------------------------------------------------------
WS_URL="http://127.0.0.1:$WS_PORT/tiles/$WS_LAYERS/{zxy}.mvt"
MARTIN_URL="http://127.0.0.1:$MARTIN_PORT/facility_tiles/{zxy}"
log "correctness: feature counts of the first $CHECK tiles"
CHECK_LINE=$(python3 "$WORK/tiles.py" check "$WS_URL" "$MARTIN_URL" "$WORK/tiles.txt" "$CHECK" "$WORK/facilities.csv") ||
  die "feature counts differ: $CHECK_LINE"
log "$CHECK_LINE"

# --- 4. load ------------------------------------------------------------------------
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2" | head -n 1; }
run_wrk() { # name base-url prefix suffix
  log "load: $1, wrk -t2 -c$CONNECTIONS -d${DURATION}s over $TILES tiles"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$HERE/tiles.lua" "$2" -- "$3" "$4" "$WORK/tiles.txt" 2 \
    >"$WORK/wrk-$1.txt" 2>&1 || die "wrk $1: $(tail -n 5 "$WORK/wrk-$1.txt")"
  local line
  line=$(grep -m1 '^WRK_RESULT' "$WORK/wrk-$1.txt") || die "wrk $1 printed no result"
  [[ $(field non2xx "$line") == 0 ]] || die "wrk $1: non-2xx responses: $line"
  echo "$line"
}
# Each alone: Martin's PostgreSQL stays up (it is Martin's storage), waystation idles.
WS_RES=$(run_wrk waystation "http://127.0.0.1:$WS_PORT" "/tiles/$WS_LAYERS/" ".mvt")
MARTIN_RES=$(run_wrk martin "http://127.0.0.1:$MARTIN_PORT" "/facility_tiles/" "")
WS_RPS=$(field rps "$WS_RES")
MARTIN_RPS=$(field rps "$MARTIN_RES")
RATIO=$(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.1f}")' "$WS_RPS" "$MARTIN_RPS")
log "waystation $WS_RPS tiles/s, martin $MARTIN_RPS tiles/s: ${RATIO}x"

row() { # name result
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$(field rps "$2")" "$(field p50_us "$2")" "$(field p99_us "$2")" "$(field requests "$2")"
}
REPORT=$(cat <<MD

### Vector tiles against Martin, $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m))

$FACILITIES generated facilities (seed $SEED); $TILES tiles, each the tile of a random
facility at a random zoom 6-14; wrk -t2 -c$CONNECTIONS -d${DURATION}s, no gzip. $MARTIN_V
on PostgreSQL 15 / PostGIS $POSTGIS_VERSION (Web-Mercator column, GiST index, table
clustered on it, buffer 0, tile cache off, only \`id\` as a property); waystation
\`/tiles/$WS_LAYERS\` with all its attributes and its clusters.
Correctness first: $(sed 's/^CHECK //' <<<"$CHECK_LINE") (Martin's feature count =
waystation's single features + its clusters' point_count; where not, Martin's surplus is
at most the facilities within ~4 m of the tile's edges, which PostGIS's single-precision
\`&&\` lets into both tiles).

| server | tiles/s | p50 µs | p99 µs | requests |
|---|---|---|---|---|
$(row waystation "$WS_RES")
$(row "martin" "$MARTIN_RES")

waystation / Martin: **${RATIO}×**.
MD
)
echo "$REPORT"
if [[ $RECORD == 1 ]]; then
  echo "$REPORT" >>"$ROOT/BENCHMARKS.md"
  log "appended to BENCHMARKS.md"
fi
