#!/usr/bin/env bash
# Peer benchmark: waystation against Redis GEOSEARCH and PostgreSQL + PostGIS on the
# same seeded data set and the same query points, in two workloads. See BENCHMARKS.md.
#
#   benches/peers/run.sh
#
# Workloads (each gets its own correctness check and its own table):
#   drivers  what drivers send: each point a facility of the data set, drawn uniformly,
#            moved 0..DRIVER_KM km (uniform) in a uniform random bearing along a great
#            circle; one seeded list of DRIVER_POINTS points goes to wrk, Redis and
#            PostGIS alike. The headline table.
#   uniform  points uniform in China's bounding box (many far from any facility).
#
# Environment (all optional):
#   WORKLOAD=both       drivers | uniform | both (drivers first)
#   FACILITIES=1000000  facilities generated (all three facility layers together)
#   DRIVER_POINTS=100000  query points in the drivers' list
#   DRIVER_KM=20        largest distance of a driver's point from its facility, km
#   DURATION=20         seconds of load per system
#   CONNECTIONS=64      connections of wrk and of the Redis client
#   PG_CLIENTS=8        pgbench clients (one backend process each)
#   REDIS_RADII=5,10,20,…,5120,10240   km radii a Redis query widens through (doubling),
#                       uniform workload
#   REDIS_RADII_DRIVERS=0.5,1,2,…,4096,8192   the same for the drivers' points: a
#                       smaller first circle, since Redis's cost grows with the members
#                       in it (the median 5th-nearest facility is ~0.5 km away there)
#   RECORD=1            append the figures to BENCHMARKS.md (0: print only)
#   KEEP_WORK=0         1: keep the temp dir (for debugging)
#   SKIP_BUILD=0        1: use target/release/waystation as it is (no cargo build)
#
# Needs root or sudo once, to apt-get install redis-server redis-tools
# postgresql-15 postgresql-15-postgis-3 wrk when they are missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORKLOAD=${WORKLOAD:-both}
FACILITIES=${FACILITIES:-1000000}
DRIVER_POINTS=${DRIVER_POINTS:-100000}
DRIVER_KM=${DRIVER_KM:-20}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
PG_CLIENTS=${PG_CLIENTS:-8}
REDIS_RADII=${REDIS_RADII:-5,10,20,40,80,160,320,640,1280,2560,5120,10240}
REDIS_RADII_DRIVERS=${REDIS_RADII_DRIVERS:-0.5,1,2,4,8,16,32,64,128,256,512,1024,2048,4096,8192}
RECORD=${RECORD:-1}
KEEP_WORK=${KEEP_WORK:-0}
SEED=42
CHECK_POINTS=1000
K=5
REDIS_KEY=facility
# shellcheck source=benches/peers/lib.sh
. "$HERE/lib.sh"
declare -A RADII=([drivers]=$REDIS_RADII_DRIVERS [uniform]=$REDIS_RADII)
case $WORKLOAD in
  both) WORKLOADS=(drivers uniform) ;;
  drivers | uniform) WORKLOADS=("$WORKLOAD") ;;
  *) die "WORKLOAD=$WORKLOAD: expected drivers, uniform or both" ;;
esac
has_drivers() { [[ " ${WORKLOADS[*]} " == *" drivers "* ]]; }
((DRIVER_POINTS >= CHECK_POINTS)) || die "DRIVER_POINTS=$DRIVER_POINTS: at least $CHECK_POINTS (the correctness check takes the first $CHECK_POINTS)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "uptime at start: $(uptime)"

# --- prerequisites ------------------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
[[ -x $PGBIN/initdb && -x $PGBIN/pgbench ]] || missing+=(postgresql-15)
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
install_missing "${missing[@]}"
for tool in python3 cargo git; do command -v "$tool" >/dev/null || die "$tool not found"; done

# --- temp dir and cleanup -----------------------------------------------------
make_work waystation-peers
declare -A REDIS_CHECK_PID=()
FAILURE_LOGS=(waystation.log redis.log)
read -r WS_PORT REDIS_PORT PG_PORT < <(free_ports 3)
log "work dir $WORK; ports: waystation $WS_PORT, redis $REDIS_PORT, postgres $PG_PORT"

# --- 1. build and data --------------------------------------------------------
waystation_and_data
log "cargo build --release (redis-load client)"
cargo build --release --quiet --manifest-path "$HERE/redis-load/Cargo.toml" --target-dir "$HERE/redis-load/target"
REDIS_LOAD=$HERE/redis-load/target/release/redis-load

# The query points of each workload: points-$w.csv for the correctness check; the
# drivers' load list drivers.csv (its first $CHECK_POINTS lines are the check's).
for w in "${WORKLOADS[@]}"; do
  if [[ $w == drivers ]]; then
    python3 "$HERE/peers.py" driver-points --csv "$WORK/facilities.csv" --n "$DRIVER_POINTS" --seed "$SEED" \
      --max-km "$DRIVER_KM" "$WORK/drivers.csv"
    head -n "$CHECK_POINTS" "$WORK/drivers.csv" >"$WORK/points-drivers.csv"
    log "drivers' workload: $DRIVER_POINTS points, 0-$DRIVER_KM km from a random facility (seed $SEED)"
  else
    python3 "$HERE/peers.py" points --n "$CHECK_POINTS" --seed "$SEED" "$WORK/points-uniform.csv"
  fi
done

# --- 2. servers ----------------------------------------------------------------
start_waystation() { # log file
  (cd "$ROOT" && exec "$WS_BIN" serve --data "$WORK/data" --bind "127.0.0.1:$WS_PORT") >"$1" 2>&1 &
  WS_PID=$!
  BG_PIDS+=("$WS_PID")
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
BG_PIDS+=($!)
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
# k-nearest command it scans everything within the radius, which takes minutes on
# the uniform points.
for w in "${WORKLOADS[@]}"; do
  log "correctness, Redis part ($w): $CHECK_POINTS queries in the background"
  "$REDIS_LOAD" check --addr "127.0.0.1:$REDIS_PORT" --key "$REDIS_KEY" --radii "${RADII[$w]}" --k "$K" \
    --points "$WORK/points-$w.csv" >"$WORK/redis-answers-$w.txt" 2>"$WORK/redis-check-$w.log" &
  REDIS_CHECK_PID[$w]=$!
  BG_PIDS+=($!)
done

start_postgres "$PG_PORT"
"${PSQL[@]}" -q -v ON_ERROR_STOP=1 -f "$HERE/load.sql" <"$WORK/facilities.csv" >"$WORK/pg-load.log" 2>&1 ||
  die "loading PostGIS: $(tail -n 5 "$WORK/pg-load.log")"
POSTGIS_VERSION=$("${PSQL[@]}" -At -c "SELECT postgis_lib_version()")
PN=$("${PSQL[@]}" -At -c "SELECT count(*) FROM facility")
((PN == N)) || die "postgis holds $PN rows, expected $N"
# The plan of each pgbench query as a prepared statement's generic plan (-M prepared).
PLAN=$("${PSQL[@]}" -At <<'SQL'
SET plan_cache_mode = force_generic_plan;
PREPARE knn(float8, float8) AS
  SELECT id, geom::geography <-> ST_MakePoint($1, $2)::geography AS d
  FROM facility ORDER BY geom::geography <-> ST_MakePoint($1, $2)::geography LIMIT 5;
EXPLAIN EXECUTE knn(116.4, 39.9);
SQL
)
grep -q 'Index Scan using facility_geog_gist' <<<"$PLAN" || die "the KNN query does not use the geography index: $PLAN"
if has_drivers; then
  "${PSQL[@]}" -q -v ON_ERROR_STOP=1 -f "$HERE/load-points.sql" <"$WORK/drivers.csv" >"$WORK/pg-points.log" 2>&1 ||
    die "loading the drivers' points: $(tail -n 5 "$WORK/pg-points.log")"
  QN=$("${PSQL[@]}" -At -c "SELECT count(*) FROM query_point")
  ((QN == DRIVER_POINTS)) || die "postgis holds $QN query points, expected $DRIVER_POINTS"
  PLAN=$("${PSQL[@]}" -At <<'SQL'
SET plan_cache_mode = force_generic_plan;
PREPARE knn_driver(int) AS
  SELECT id, geom::geography <-> (SELECT g FROM query_point WHERE i = $1) AS d
  FROM facility ORDER BY d LIMIT 5;
EXPLAIN EXECUTE knn_driver(1);
SQL
)
  grep -q 'Index Scan using facility_geog_gist' <<<"$PLAN" ||
    die "the drivers' KNN query does not use the geography index: $PLAN"
fi
log "postgis $POSTGIS_VERSION: $PN rows, KNN by the geography GiST index"

log "waiting for waystation /readyz"
wait_ready "$WORK/waystation.log" >/dev/null
# The server's own figure: this wait began only once PostGIS had loaded.
READY_GEOJSON=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/waystation.log" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' | head -n 1)
READY_GEOJSON=$(printf '%.2f' "${READY_GEOJSON:-0}")
log "waystation loaded the GeoJSON in ${READY_GEOJSON} s (while Redis and PostGIS loaded too)"


# --- 3. correctness -------------------------------------------------------------
declare -A CHECK_SUMMARY=() LABEL=(
  [drivers]="drivers' points (a random facility moved 0-$DRIVER_KM km)"
  [uniform]="uniform random points in China's bounding box"
)
for w in "${WORKLOADS[@]}"; do
  log "correctness ($w): waiting for Redis's answers"
  wait "${REDIS_CHECK_PID[$w]}" || die "redis-load check ($w): $(tail -n 5 "$WORK/redis-check-$w.log")"
  unset "REDIS_CHECK_PID[$w]"
  log "$(tail -n 1 "$WORK/redis-check-$w.log")"
  log "correctness ($w): $CHECK_POINTS points, top-$K of each system"
  python3 "$HERE/peers.py" check --csv "$WORK/facilities.csv" --k "$K" --waystation "http://127.0.0.1:$WS_PORT" \
    --redis-answers "$WORK/redis-answers-$w.txt" --psql "${PSQL[*]}" --points-file "$WORK/points-$w.csv" \
    --sql-file "$WORK/check-$w.sql" --report "$WORK/check-$w.json" --label "${LABEL[$w]}" | tee "$WORK/check-$w.txt"
  CHECK_SUMMARY[$w]=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"])' "$WORK/check-$w.json")
done

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
# Per workload, back to back: /healthz (the HTTP floor of that moment), nearest,
# Redis, PostGIS; each system alone on the machine (apart from its load generator).
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "uptime before the load runs: $(uptime)"
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

declare -A WS_HEALTH=() WS_NEAR=() REDIS_RES=() PG_RES=()
RSS_BEFORE=$(rss_mb)
for w in "${WORKLOADS[@]}"; do
  if [[ $w == drivers ]]; then
    WRK_ARGS=("$K" "$WORK/drivers.csv" 2)
    REDIS_ARGS=(--points "$WORK/drivers.csv")
    PG_SCRIPT=$HERE/drivers.pgbench.sql
    PG_ARGS=(-D "npoints=$DRIVER_POINTS")
  else
    WRK_ARGS=("$K")
    REDIS_ARGS=()
    PG_SCRIPT=$HERE/knn.pgbench.sql
    PG_ARGS=()
  fi
  WS_HEALTH[$w]=$(run_wrk "healthz-$w" "http://127.0.0.1:$WS_PORT/healthz" "$HERE/plain.lua")
  WS_NEAR[$w]=$(run_wrk "nearest-$w" "http://127.0.0.1:$WS_PORT/api/v1/nearest" "$HERE/nearest.lua" "${WRK_ARGS[@]}")

  log "load: redis ($w), $CONNECTIONS connections, ${DURATION}s"
  REDIS_RES[$w]=$("$REDIS_LOAD" bench --addr "127.0.0.1:$REDIS_PORT" --key "$REDIS_KEY" --radii "${RADII[$w]}" --k "$K" \
    --connections "$CONNECTIONS" --threads 2 --duration "$DURATION" --seed "$SEED" "${REDIS_ARGS[@]}")

  log "load: postgis ($w), pgbench -c $PG_CLIENTS -j 2 -M prepared -T $DURATION"
  mkdir -p "$WORK/pgbench-$w"
  (cd "$WORK/pgbench-$w" && "$PGBIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -c "$PG_CLIENTS" -j 2 \
    -M prepared -T "$DURATION" --random-seed="$SEED" "${PG_ARGS[@]}" -f "$PG_SCRIPT" -l --log-prefix=pgb postgres) \
    >"$WORK/pgbench-$w.txt" 2>&1 || die "pgbench ($w): $(tail -n 5 "$WORK/pgbench-$w.txt")"
  PG_TPS=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$WORK/pgbench-$w.txt")
  PG_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench-$w.txt")
  [[ -n $PG_TPS ]] || die "no tps in pgbench output ($w): $(tail -n 5 "$WORK/pgbench-$w.txt")"
  [[ ${PG_FAILED:-0} == 0 ]] || die "pgbench ($w): $PG_FAILED failed transactions"
  PG_RES[$w]="rps=$PG_TPS $(python3 "$HERE/peers.py" percentiles "$WORK/pgbench-$w"/pgb.*)"
done
RSS_AFTER=$(rss_mb)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
log "uptime after the load runs: $(uptime)"

# --- 5. report --------------------------------------------------------------------
ELAPSED=$(($(date +%s) - T0))
declare -A TITLE=(
  [drivers]="Drivers' points (headline)"
  [uniform]="Uniform points in China's bounding box"
)
TABLES=''
for w in "${WORKLOADS[@]}"; do
  TABLES+="#### ${TITLE[$w]}

$(python3 "$HERE/peers.py" report --nearest "${WS_NEAR[$w]}" --redis "${REDIS_RES[$w]}" --postgis "${PG_RES[$w]}" \
    --healthz "${WS_HEALTH[$w]}" --connections "$CONNECTIONS" --pg-clients "$PG_CLIENTS")

"
done

CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
REV=$(git -C "$ROOT" rev-parse --short HEAD)
[[ -z $(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock) ]] || REV="$REV (+ uncommitted changes in src/Cargo)"
STAMP=$(date -u '+%Y-%m-%d %H:%M UTC')
REDIS_VERSION=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
WRK_VERSION=$( (wrk --version 2>&1 || true) | head -n 1 | awk '{print $2}')
WL_LINES=''
CHECK_LINES=''
for w in "${WORKLOADS[@]}"; do
  if [[ $w == drivers ]]; then
    WL_LINES+="
- Drivers' points: $DRIVER_POINTS points (seed $SEED), each the position of a facility drawn uniformly from the data set, moved a distance uniform in 0–$DRIVER_KM km at a bearing uniform in 0–360° along a great circle; Redis radii ${RADII[drivers]} km; the same list to wrk (thread i of 2 takes every other line), Redis (\`redis-load --points\`, connection i starts at line i·n/$CONNECTIONS) and PostGIS (table \`query_point\`, pgbench picks a random row in the query: \`benches/peers/drivers.pgbench.sql\`)."
  else
    WL_LINES+="
- Uniform points: random points in China's bounding box, each load generator's own seeded generator; Redis radii ${RADII[uniform]} km."
  fi
  CHECK_LINES+="
- Correctness, ${w} ($CHECK_POINTS points, ties within 1 m equal): ${CHECK_SUMMARY[$w]}."
done
BLOCK="### $STAMP — $REV, $N facilities

- Machine: $(nproc) × $CPU, shared: load average (1, 5, 15 min) at the start of the run $LOAD_START, before the load runs $LOAD_BEFORE, after them $LOAD_AFTER.
- $DURATION s per system and workload; k = $K; PostGIS $POSTGIS_VERSION (PostgreSQL 15), Redis $REDIS_VERSION, wrk $WRK_VERSION.$WL_LINES$CHECK_LINES
- waystation ready after start: $READY_GEOJSON s from the GeoJSON (while Redis and PostGIS loaded), $READY_SNAPSHOT s from its snapshot; RSS $RSS_BEFORE MB before the nearest loads, $RSS_AFTER MB after.
- Whole run: $ELAPSED s.

${TABLES%$'\n'}
"

echo
echo "$BLOCK"

if [[ $RECORD == 1 ]]; then
  # Newest first in the "## Peer benchmark runs" section (made if missing).
  printf '%s\n' "$BLOCK" >"$WORK/block.md"
  python3 "$HERE/peers.py" append "$ROOT/BENCHMARKS.md" "## Peer benchmark runs" "$WORK/block.md"
  log "appended to $ROOT/BENCHMARKS.md"
fi
log "done in $(($(date +%s) - T0)) s"
