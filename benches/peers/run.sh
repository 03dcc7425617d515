#!/usr/bin/env bash
# Peer benchmark: waystation against Redis GEOSEARCH and PostgreSQL + PostGIS on the
# same seeded data set and the same random query points. See BENCHMARKS.md.
#
#   benches/peers/run.sh
#
# Environment (all optional):
#   FACILITIES=1000000  facilities generated (all three facility layers together)
#   DURATION=20         seconds of load per system
#   CONNECTIONS=64      connections of wrk and of the Redis client
#   PG_CLIENTS=8        pgbench clients (one backend process each)
#   REDIS_RADII=5,10,20,…,5120,10240   km radii a Redis query widens through (doubling)
#   RECORD=1            append the figures to BENCHMARKS.md (0: print only)
#   KEEP_WORK=0         1: keep the temp dir (for debugging)
#   SKIP_BUILD=0        1: use target/release/waystation as it is (no cargo build)
#
# Needs root or sudo once, to apt-get install redis-server redis-tools
# postgresql-15 postgresql-15-postgis-3 wrk when they are missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FACILITIES=${FACILITIES:-1000000}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
PG_CLIENTS=${PG_CLIENTS:-8}
REDIS_RADII=${REDIS_RADII:-5,10,20,40,80,160,320,640,1280,2560,5120,10240}
RECORD=${RECORD:-1}
KEEP_WORK=${KEEP_WORK:-0}
SEED=42
CHECK_POINTS=1000
K=5
PGBIN=/usr/lib/postgresql/15/bin
REDIS_KEY=facility

T0=$(date +%s)
log() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# --- prerequisites ------------------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
[[ -x $PGBIN/initdb && -x $PGBIN/pgbench ]] || missing+=(postgresql-15)
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  SUDO=()
  [[ $(id -u) == 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in python3 cargo git; do command -v "$tool" >/dev/null || die "$tool not found"; done

# The PostgreSQL cluster runs as a non-root user.
if [[ $(id -u) == 0 ]]; then
  PG_USER=postgres
  id "$PG_USER" >/dev/null 2>&1 || die "no '$PG_USER' user to run PostgreSQL as"
  as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
  PG_USER=$(id -un)
  as_pg() { "$@"; }
fi

# --- temp dir and cleanup -----------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/waystation-peers.XXXXXX")
chmod 755 "$WORK"
WS_PID='' REDIS_PID='' REDIS_CHECK_PID='' PG_STARTED=0
cleanup() {
  local rc=$?
  set +e
  if [[ -n $REDIS_CHECK_PID ]]; then kill "$REDIS_CHECK_PID" 2>/dev/null; wait "$REDIS_CHECK_PID" 2>/dev/null; fi
  if [[ -n $WS_PID ]]; then kill "$WS_PID" 2>/dev/null; wait "$WS_PID" 2>/dev/null; fi
  if [[ -n $REDIS_PID ]]; then kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; fi
  if ((PG_STARTED)); then as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1; fi
  if ((rc != 0)); then
    for f in waystation.log redis.log pgrun/pg.log; do
      [[ -s $WORK/$f ]] && { echo "--- tail of $f" >&2; tail -n 15 "$WORK/$f" >&2; }
    done
  fi
  if [[ $KEEP_WORK == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r WS_PORT REDIS_PORT PG_PORT < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)
log "work dir $WORK; ports: waystation $WS_PORT, redis $REDIS_PORT, postgres $PG_PORT"

# --- 1. build and data --------------------------------------------------------
if [[ ${SKIP_BUILD:-0} == 1 ]]; then
  log "SKIP_BUILD=1: using the waystation binary already built"
else
  log "cargo build --release (waystation)"
  (cd "$ROOT" && cargo build --release --quiet)
fi
WS_BUILT=${CARGO_TARGET_DIR:-$ROOT/target}/release/waystation
[[ -x $WS_BUILT ]] || die "no $WS_BUILT"
# A copy, so that another build during the run cannot swap the binary under it.
WS_BIN=$WORK/waystation
cp "$WS_BUILT" "$WS_BIN"
log "cargo build --release (redis-load client)"
cargo build --release --quiet --manifest-path "$HERE/redis-load/Cargo.toml" --target-dir "$HERE/redis-load/target"
REDIS_LOAD=$HERE/redis-load/target/release/redis-load

log "generating $FACILITIES facilities (seed $SEED)"
"$WS_BIN" gen --facilities "$FACILITIES" --parks 1000 --seed "$SEED" --out "$WORK/data" >&2
python3 "$HERE/peers.py" extract "$WORK/data" "$WORK/facilities.csv"
N=$(wc -l <"$WORK/facilities.csv")
((N == FACILITIES)) || die "extracted $N facilities, expected $FACILITIES"

# --- 2. servers ----------------------------------------------------------------
start_waystation() { # log file
  (cd "$ROOT" && exec "$WS_BIN" serve --data "$WORK/data" --bind "127.0.0.1:$WS_PORT") >"$1" 2>&1 &
  WS_PID=$!
}
wait_ready() { # log file; prints the seconds since $WS_T0
  for _ in $(seq 6000); do
    kill -0 "$WS_PID" 2>/dev/null || die "waystation exited: $(tail -n 5 "$1")"
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS_PORT/readyz") == 200 ]] && break
    sleep 0.05
  done
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS_PORT/readyz") == 200 ]] || die "waystation not ready"
  python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.2f}")' "$WS_T0"
}
rss_mb() { echo $(($(ps -o rss= -p "$WS_PID") / 1024)); }

log "starting waystation (loads the GeoJSON in the background)"
WS_T0=$(date +%s.%N)
start_waystation "$WORK/waystation.log"

log "starting redis-server"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
RCLI=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
for _ in $(seq 100); do [[ $("${RCLI[@]}" ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
[[ $("${RCLI[@]}" ping) == PONG ]] || die "redis-server did not answer"
python3 "$HERE/peers.py" resp "$WORK/facilities.csv" "$REDIS_KEY" "$WORK/geoadd.resp"
"${RCLI[@]}" --pipe <"$WORK/geoadd.resp" >"$WORK/redis-pipe.log" || die "redis-cli --pipe: $(tail -n 3 "$WORK/redis-pipe.log")"
rm -f "$WORK/geoadd.resp"
RN=$("${RCLI[@]}" zcard "$REDIS_KEY")
((RN == N)) || die "redis holds $RN members, expected $N"
log "redis: $RN members, $("${RCLI[@]}" info memory | grep -m1 '^used_memory_human' | tr -d '\r')"

# Redis answers the correctness queries while PostGIS and waystation load: with no
# k-nearest command it scans everything within the radius, which takes minutes.
python3 "$HERE/peers.py" points --n "$CHECK_POINTS" --seed "$SEED" "$WORK/points.csv"
log "correctness, Redis part: $CHECK_POINTS queries in the background"
"$REDIS_LOAD" check --addr "127.0.0.1:$REDIS_PORT" --key "$REDIS_KEY" --radii "$REDIS_RADII" --k "$K" \
  --points "$WORK/points.csv" >"$WORK/redis-answers.txt" 2>"$WORK/redis-check.log" &
REDIS_CHECK_PID=$!

log "starting PostgreSQL (initdb as $PG_USER)"
mkdir -p "$WORK/pg" "$WORK/pgrun"
[[ $(id -u) == 0 ]] && chown "$PG_USER" "$WORK/pg" "$WORK/pgrun"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 ||
  die "initdb: $(tail -n 5 "$WORK/initdb.log")"
PG_STARTED=1
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pgrun/pg.log" -w -t 120 -o "-p $PG_PORT -c listen_addresses=127.0.0.1 \
  -k $WORK/pgrun -c shared_buffers=1GB -c effective_cache_size=4GB -c max_connections=50 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB \
  -c maintenance_work_mem=1GB -c jit=off" start >/dev/null
PSQL=("$PGBIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
"${PSQL[@]}" -q -v ON_ERROR_STOP=1 -f "$HERE/load.sql" <"$WORK/facilities.csv" >"$WORK/pg-load.log" 2>&1 ||
  die "loading PostGIS: $(tail -n 5 "$WORK/pg-load.log")"
POSTGIS_VERSION=$("${PSQL[@]}" -At -c "SELECT postgis_lib_version()")
PN=$("${PSQL[@]}" -At -c "SELECT count(*) FROM facility")
((PN == N)) || die "postgis holds $PN rows, expected $N"
# The plan of the pgbench query as a prepared statement's generic plan (-M prepared).
PLAN=$("${PSQL[@]}" -At <<'SQL'
SET plan_cache_mode = force_generic_plan;
PREPARE knn(float8, float8) AS
  SELECT id, geom::geography <-> ST_MakePoint($1, $2)::geography AS d
  FROM facility ORDER BY geom::geography <-> ST_MakePoint($1, $2)::geography LIMIT 5;
EXPLAIN EXECUTE knn(116.4, 39.9);
SQL
)
grep -q 'Index Scan using facility_geog_gist' <<<"$PLAN" || die "the KNN query does not use the geography index: $PLAN"
log "postgis $POSTGIS_VERSION: $PN rows, KNN by the geography GiST index"

log "waiting for waystation /readyz"
wait_ready "$WORK/waystation.log" >/dev/null
# The server's own figure: this wait began only once PostGIS had loaded.
READY_GEOJSON=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/waystation.log" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' | head -n 1)
READY_GEOJSON=$(printf '%.2f' "${READY_GEOJSON:-0}")
log "waystation loaded the GeoJSON in ${READY_GEOJSON} s (while Redis and PostGIS loaded too)"


# --- 3. correctness -------------------------------------------------------------
log "correctness: waiting for Redis's answers"
wait "$REDIS_CHECK_PID" || die "redis-load check: $(tail -n 5 "$WORK/redis-check.log")"
REDIS_CHECK_PID=''
log "$(tail -n 1 "$WORK/redis-check.log")"
log "correctness: $CHECK_POINTS random points, top-$K of each system"
python3 "$HERE/peers.py" check --csv "$WORK/facilities.csv" --k "$K" --waystation "http://127.0.0.1:$WS_PORT" \
  --redis-answers "$WORK/redis-answers.txt" --psql "${PSQL[*]}" --points-file "$WORK/points.csv" \
  --sql-file "$WORK/check.sql" --report "$WORK/check.json" | tee "$WORK/check.txt"
CHECK_SUMMARY=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"])' "$WORK/check.json")

# --- 3b. restart from the snapshot ----------------------------------------------
log "waiting for the snapshot, then restarting waystation from it"
for _ in $(seq 600); do
  grep -q 'wrote .*waystation.snapshot' "$WORK/waystation.log" && break
  sleep 0.2
done
grep -q 'wrote .*waystation.snapshot' "$WORK/waystation.log" || die "no snapshot written: $(tail -n 3 "$WORK/waystation.log")"
kill "$WS_PID"
wait "$WS_PID" 2>/dev/null || true
WS_T0=$(date +%s.%N)
start_waystation "$WORK/waystation-2.log"
READY_SNAPSHOT=$(wait_ready "$WORK/waystation-2.log")
grep -q '(snapshot); ready' "$WORK/waystation-2.log" || die "the restart did not use the snapshot: $(tail -n 3 "$WORK/waystation-2.log")"
log "waystation ready ${READY_SNAPSHOT} s after a restart (snapshot)"

# --- 4. load --------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2" | head -n 1; }

run_wrk() { # name url script [args...]
  local name=$1 url=$2 script=$3
  shift 3
  log "load: $name, wrk -t2 -c$CONNECTIONS -d${DURATION}s"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url" -- "$@" >"$WORK/wrk-$name.txt" 2>&1 ||
    die "wrk $name: $(tail -n 5 "$WORK/wrk-$name.txt")"
  local line
  line=$(grep -m1 '^WRK_RESULT' "$WORK/wrk-$name.txt") || die "wrk $name printed no result"
  [[ $(field non2xx "$line") == 0 ]] || die "wrk $name: non-2xx responses: $line"
  echo "$line"
}

WS_HEALTH=$(run_wrk healthz "http://127.0.0.1:$WS_PORT/healthz" "$HERE/plain.lua")
RSS_BEFORE=$(rss_mb)
WS_NEAR=$(run_wrk nearest "http://127.0.0.1:$WS_PORT/api/v1/nearest" "$HERE/nearest.lua" "$K")
RSS_AFTER=$(rss_mb)

log "load: redis, $CONNECTIONS connections, ${DURATION}s"
REDIS_RES=$("$REDIS_LOAD" bench --addr "127.0.0.1:$REDIS_PORT" --key "$REDIS_KEY" --radii "$REDIS_RADII" --k "$K" \
  --connections "$CONNECTIONS" --threads 2 --duration "$DURATION" --seed "$SEED")

log "load: postgis, pgbench -c $PG_CLIENTS -j 2 -M prepared -T $DURATION"
mkdir -p "$WORK/pgbench"
(cd "$WORK/pgbench" && "$PGBIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -c "$PG_CLIENTS" -j 2 \
  -M prepared -T "$DURATION" --random-seed="$SEED" -f "$HERE/knn.pgbench.sql" -l --log-prefix=pgb postgres) \
  >"$WORK/pgbench.txt" 2>&1 || die "pgbench: $(tail -n 5 "$WORK/pgbench.txt")"
PG_TPS=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$WORK/pgbench.txt")
PG_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench.txt")
[[ -n $PG_TPS ]] || die "no tps in pgbench output: $(tail -n 5 "$WORK/pgbench.txt")"
[[ ${PG_FAILED:-0} == 0 ]] || die "pgbench: $PG_FAILED failed transactions"
PG_PCT=$(python3 "$HERE/peers.py" percentiles "$WORK"/pgbench/pgb.*)
PG_RES="rps=$PG_TPS $PG_PCT"

# --- 5. report --------------------------------------------------------------------
ELAPSED=$(($(date +%s) - T0))
REPORT=$(python3 - "$WS_NEAR" "$REDIS_RES" "$PG_RES" "$WS_HEALTH" "$CONNECTIONS" "$PG_CLIENTS" <<'EOF'
import sys
def parse(line):
    return {k: float(v) for k, v in (t.split("=", 1) for t in line.split() if "=" in t)}
ws, rd, pg, hz = (parse(a) for a in sys.argv[1:5])
conn, pgc = sys.argv[5], sys.argv[6]
def ms(us):
    return f"{us / 1000:.3f} ms"
rows = [
    ("waystation /api/v1/nearest", f"wrk, {conn} connections", ws),
    ("Redis GEOSEARCH", f"redis-load, {conn} connections", rd),
    ("PostGIS geography KNN", f"pgbench, {pgc} clients", pg),
    ("waystation /healthz (HTTP floor)", f"wrk, {conn} connections", hz),
]
out = ["| system | load | requests/s | p50 | p99 |", "| --- | --- | ---: | ---: | ---: |"]
for name, load, r in rows:
    rps = f"{r['rps']:,.0f}" if r["rps"] >= 100 else f"{r['rps']:.1f}"
    out.append(f"| {name} | {load} | {rps} | {ms(r['p50_us'])} | {ms(r['p99_us'])} |")
out.append("")
out.append("| ratio | requests/s | p50 | p99 |")
out.append("| --- | ---: | ---: | ---: |")
def ratio(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.2f}" if x >= 0.1 else f"{x:.2g}"
for name, r in (("waystation / Redis", rd), ("waystation / PostGIS", pg), ("waystation / healthz", hz)):
    out.append(f"| {name} | {ratio(ws['rps'] / r['rps'])} | {ratio(ws['p50_us'] / r['p50_us'])} | {ratio(ws['p99_us'] / r['p99_us'])} |")
extra = []
if rd.get("roundtrips_per_query"):
    extra.append(f"Redis: {rd['roundtrips_per_query']:.2f} GEOSEARCH round trips per query")
if hz.get("socket_errors") or ws.get("socket_errors"):
    extra.append(f"wrk socket errors: nearest {ws.get('socket_errors', 0):.0f}, healthz {hz.get('socket_errors', 0):.0f}")
if extra:
    out.append("")
    out.append("; ".join(extra) + ".")
print("\n".join(out))
EOF
)

CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
REV=$(git -C "$ROOT" rev-parse --short HEAD)
[[ -z $(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock) ]] || REV="$REV (+ uncommitted changes in src/Cargo)"
STAMP=$(date -u '+%Y-%m-%d %H:%M UTC')
REDIS_VERSION=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
WRK_VERSION=$( (wrk --version 2>&1 || true) | head -n 1 | awk '{print $2}')
BLOCK="### $STAMP — $REV, $N facilities

- Machine: $(nproc) × $CPU; load average before the load runs: $LOAD_BEFORE.
- $DURATION s per system; same uniform random points in China's bounding box; k = $K; Redis radii $REDIS_RADII km; PostGIS $POSTGIS_VERSION (PostgreSQL 15), Redis $REDIS_VERSION, wrk $WRK_VERSION.
- Correctness ($CHECK_POINTS points, ties within 1 m equal): $CHECK_SUMMARY.
- waystation ready after start: $READY_GEOJSON s from the GeoJSON (while Redis and PostGIS loaded), $READY_SNAPSHOT s from its snapshot; RSS $RSS_BEFORE MB before the nearest load, $RSS_AFTER MB after.
- Whole run: $ELAPSED s.

$REPORT
"

echo
echo "$BLOCK"

if [[ $RECORD == 1 ]]; then
  # At the end of the "## Peer benchmark runs" section (made if missing).
  printf '%s\n' "$BLOCK" >"$WORK/block.md"
  python3 "$HERE/peers.py" append "$ROOT/BENCHMARKS.md" "## Peer benchmark runs" "$WORK/block.md"
  log "appended to $ROOT/BENCHMARKS.md"
fi
log "done in $(($(date +%s) - T0)) s"
