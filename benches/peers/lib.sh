# Shared by the peer benchmarks (run.sh: nearest against Redis and PostGIS;
# tiles.sh: tiles against Martin): logging, prerequisites, the work directory and
# its cleanup, free ports, the waystation binary and the generated data set, and a
# throw-away PostgreSQL cluster. Sourced, not run; set HERE and ROOT first.
#
# Variables it reads: KEEP_WORK (1: keep the work dir), SKIP_BUILD (1: use the
# binary already built), FACILITIES, SEED. Variables it sets: PGBIN, WORK, WS_BIN,
# N (facilities generated), PG_USER, PSQL (an array), PG_STARTED. Processes whose
# pids are appended to BG_PIDS are stopped on exit; the files in FAILURE_LOGS
# (relative to WORK) are shown when the script fails.

PGBIN=/usr/lib/postgresql/15/bin
T0=$(date +%s)
BG_PIDS=()
FAILURE_LOGS=()
PG_STARTED=0

log() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# install_missing PACKAGE...: apt-get installs the Debian packages named (none: nothing).
install_missing() {
  (($#)) || return 0
  log "installing $*"
  local sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
}

# The PostgreSQL cluster runs as a non-root user.
if [[ $(id -u) == 0 ]]; then
  PG_USER=postgres
  as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
  PG_USER=$(id -un)
  as_pg() { "$@"; }
fi

# make_work NAME: a fresh work dir $WORK (NAME.XXXXXX under TMPDIR), cleaned up on exit.
make_work() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  chmod 755 "$WORK"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup() {
  local rc=$? pid f
  set +e
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if ((PG_STARTED)); then as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1; fi
  if ((rc != 0)); then
    for f in "${FAILURE_LOGS[@]}" pgrun/pg.log; do
      [[ -s $WORK/$f ]] && { echo "--- tail of $f" >&2; tail -n 15 "$WORK/$f" >&2; }
    done
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}

# free_ports N: N free TCP ports on 127.0.0.1, on one line.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
}

# waystation_and_data: builds waystation (unless SKIP_BUILD=1), copies the binary to
# $WS_BIN (so another build during the run cannot swap it), generates FACILITIES
# facilities and 1,000 parks (seed SEED) into $WORK/data and their ids and
# positions into $WORK/facilities.csv; N is their count.
waystation_and_data() {
  if [[ ${SKIP_BUILD:-0} == 1 ]]; then
    log "SKIP_BUILD=1: using the waystation binary already built"
  else
    log "cargo build --release (waystation)"
    (cd "$ROOT" && cargo build --release --quiet)
  fi
  local built=${CARGO_TARGET_DIR:-$ROOT/target}/release/waystation
  [[ -x $built ]] || die "no $built"
  WS_BIN=$WORK/waystation
  cp "$built" "$WS_BIN"
  log "generating $FACILITIES facilities (seed $SEED)"
  "$WS_BIN" gen --facilities "$FACILITIES" --parks 1000 --seed "$SEED" --out "$WORK/data" >&2
  python3 "$HERE/peers.py" extract "$WORK/data" "$WORK/facilities.csv"
  N=$(wc -l <"$WORK/facilities.csv")
  ((N == FACILITIES)) || die "extracted $N facilities, expected $FACILITIES"
}

# start_postgres PORT: a new cluster in $WORK/pg listening on 127.0.0.1:PORT, tuned
# for a benchmark (no fsync, 1 GB shared buffers, no JIT); PSQL runs psql on it.
start_postgres() {
  log "starting PostgreSQL (initdb as $PG_USER)"
  id "$PG_USER" >/dev/null 2>&1 || die "no '$PG_USER' user to run PostgreSQL as"
  mkdir -p "$WORK/pg" "$WORK/pgrun"
  [[ $(id -u) == 0 ]] && chown "$PG_USER" "$WORK/pg" "$WORK/pgrun"
  as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 ||
    die "initdb: $(tail -n 5 "$WORK/initdb.log")"
  PG_STARTED=1
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pgrun/pg.log" -w -t 120 -o "-p $1 -c listen_addresses=127.0.0.1 \
    -k $WORK/pgrun -c shared_buffers=1GB -c effective_cache_size=4GB -c max_connections=50 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB \
    -c maintenance_work_mem=1GB -c jit=off" start >/dev/null
  PSQL=("$PGBIN/psql" -X -h 127.0.0.1 -p "$1" -U postgres -d postgres)
}
