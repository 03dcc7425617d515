#!/usr/bin/env bash
# Start-up from a database: time from launch to /readyz and resident memory 10 s
# after ready, for
#   1. the first start (the database created from the GeoJSON of SEED_DIR),
#   2. a graceful restart (the snapshot beside the database is current),
#   3. a restart after kill -9, EDITS edits (creates, patches, deletes) after the
#      snapshot: the snapshot is read and the changes since replayed.
# Step 3 runs twice: with the default delta limit (the base is rebuilt every 1,000
# changes and each rebuild writes a snapshot in the background, so the replay is
# what came after the last one), and with WAYSTATION_DELTA_MAX=10000000 during the
# edits (no rebuild, no new snapshot: all EDITS are replayed, the worst case).
#
#   benches/startup.sh DB SEED_DIR [EDITS]
#
# DB is deleted first (with its -wal, -shm and .snapshot). SEED_DIR e.g. from
# `waystation gen --facilities 1000000 --parks 1000 --seed 42 --out /tmp/ws1k`.
# Needs curl and python3; uses target/release/waystation or $WAYSTATION_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
db=$1; seed=$2; edits=${3:-2000}
bin=${WAYSTATION_BIN:-target/release/waystation}
log=${STARTUP_LOG:-/tmp/startup-bench.log}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
rm -f "$db" "$db-wal" "$db-shm" "$db.snapshot"
: >"$log"
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null || true' EXIT

# start NAME [ENV...]: launches the server, prints seconds to ready and RSS 10 s
# after ready.
start() {
  local name=$1; shift
  echo "== $name" >>"$log"
  local t0; t0=$(date +%s.%N)
  env "$@" "$bin" serve --db "$db" --data "$seed" --bind "127.0.0.1:$port" >>"$log" 2>&1 &
  server=$!
  until curl -sf "$url/readyz" >/dev/null; do
    kill -0 $server 2>/dev/null || { echo "server died, see $log" >&2; exit 1; }
    sleep 0.02
  done
  local t1; t1=$(date +%s.%N)
  python3 -c "import time; time.sleep(max(0, $t1 + 10 - time.time()))"
  local rss; rss=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$server/status)
  printf '%-40s ready %6.2f s   RSS at ready + 10 s %5d MB\n' "$name" "$(echo "$t1 - $t0" | bc)" "$rss"
}

stop() { kill -TERM $server; wait $server || true; server=; }
crash() { kill -KILL $server; wait $server 2>/dev/null || true; server=; }

# edit N: N edits as fast as one client goes: creates, a patch of every third
# created feature, and a delete of every tenth.
edit() {
  local token; token=$("$bin" token create --db "$db" --name "startup-$(date +%s%N)" --role admin | tail -1)
  python3 - "$url" "$token" "$1" <<'PY'
import http.client, json, random, sys, time
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = url.split("//")[1]
c = http.client.HTTPConnection(host)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
def send(method, path, body=None, ctype="application/json"):
    global c
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(3):  # the server may close a kept-alive connection
        try:
            c.request(method, path, body=data, headers={**h, "Content-Type": ctype})
            r = c.getresponse(); return r.status, r.read()
        except (http.client.HTTPException, OSError):
            c.close(); c = http.client.HTTPConnection(host)
    raise SystemExit(f"{method} {path}: no answer")
done, created, t = 0, [], time.time()
while done < n:
    f = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [random.uniform(100, 120), random.uniform(25, 40)]},
         "properties": {"layer": "courier_station", "name": f"启动测试 {done}", "source": "bench", "position_accuracy": "surveyed", "synthetic": False}}
    status, answer = send("POST", "/api/v1/features", f)
    created.append(json.loads(answer)["id"]); done += 1
    if done % 3 == 0 and done < n:
        send("PATCH", "/api/v1/features/" + created[-2], {"properties": {"phone": f"0539-{done}"}}, "application/merge-patch+json"); done += 1
    if done % 10 == 0 and done < n:
        send("DELETE", "/api/v1/features/" + created.pop(0)); done += 1
print(f"   {done} edits in {time.time() - t:.1f} s", file=sys.stderr)
PY
}

start "first start (from GeoJSON)"
stop
start "graceful restart (snapshot current)"
edit "$edits"
crash
start "after kill -9, $edits edits (default)"
stop
start "graceful restart"
# The edits on a server that rebuilds no base (so writes no snapshot meanwhile).
stop
start "(edits, no rebuild)" WAYSTATION_DELTA_MAX=10000000 >/dev/null
edit "$edits"
crash
start "after kill -9, all $edits edits replayed"
stop
grep -E "features read from the snapshot|wrote the snapshot|rebuilt the base|loaded read_s|ready \(edits on\)" "$log" | sed 's/^/   /' | cut -c1-220
