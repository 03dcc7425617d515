#!/usr/bin/env bash
# Nearest throughput while edits stream in, against the same server idle, and the
# resident memory during the edits and during the background rebuild that folds
# them into a new base once they stop (10 s of quiet). One run, all figures from it.
#
#   benches/edits_under_load.sh DB SEED_DIR [EDITS_PER_S] [SECONDS]
#
# DB is created from SEED_DIR when missing (e.g. `waystation gen --facilities 1000000
# --parks 1000 --seed 42 --out /tmp/ws1k`). Needs wrk and python3; uses
# target/release/waystation (build it first) or $WAYSTATION_BIN. The server's
# environment passes through: WAYSTATION_DELTA_MAX=100 makes it rebuild the base
# every 100 edits, during the stream.
set -euo pipefail
cd "$(dirname "$0")/.."
db=$1; seed=$2; rate=${3:-20}; secs=${4:-20}
bin=${WAYSTATION_BIN:-target/release/waystation}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --db "$db" --data "$seed" --bind "127.0.0.1:$port" >/tmp/edits-under-load.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done
token=$($bin token create --db "$db" --name "load-$(date +%s%N)" --role admin | tail -1)
url="http://127.0.0.1:$port"
rss() { awk '/VmRSS/ {print int($2/1024)}' /proc/$server/status; }

wrk -t1 -c32 -d5s -s benches/peers/nearest.lua "$url" >/dev/null 2>&1 # warm up
steady=$(rss)
idle=$(wrk -t1 -c32 -d"${secs}s" -s benches/peers/nearest.lua "$url" | awk '/Requests\/sec/ {print $2}')

benches/stream_edits.py "$url" "$token" "$rate" "$((secs + 2))" &
editor=$!
sleep 1
rm -f /tmp/edits-under-load.peak /tmp/edits-under-load.after
( while kill -0 $editor 2>/dev/null; do r=$(rss); [ "$r" -gt "$(cat /tmp/edits-under-load.peak 2>/dev/null || echo 0)" ] && echo "$r" >/tmp/edits-under-load.peak; sleep 0.1; done ) &
loaded=$(wrk -t1 -c32 -d"${secs}s" -s benches/peers/nearest.lua "$url" | awk '/Requests\/sec/ {print $2}')
wait $editor
# The quiet rebuild: 10 s after the last edit, plus its own time.
after=0
for _ in $(seq 1 250); do r=$(rss); [ "$r" -gt "$after" ] && after=$r; sleep 0.1; done
sleep 0.5
peak=$(cat /tmp/edits-under-load.peak 2>/dev/null || echo 0)
python3 -c "print(f'nearest idle {float(\"$idle\"):.0f} req/s, with $rate edits/s {float(\"$loaded\"):.0f} req/s: {float(\"$loaded\")/float(\"$idle\"):.2f}x; RSS steady $steady MB, peak during edits $peak MB ({$peak/$steady:.2f}x), peak in the 25 s after (the quiet rebuild) $after MB ({$after/$steady:.2f}x)')"
grep -c "rebuilt the base" /tmp/edits-under-load.log || true
