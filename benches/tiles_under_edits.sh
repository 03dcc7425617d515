#!/usr/bin/env bash
# Vector tiles a second while edits stream in, against the same server idle, and the
# slowest tile once the edits stop (the base is then rebuilt in the background).
# Two rounds, all figures from one run.
#
#   benches/tiles_under_edits.sh DB [EDITS_PER_S] [SECONDS]
#
# DB: a database of the generated 1M set (see benches/edits_under_load.sh). The tiles
# asked are the 522 of benches/tiles_under_edits.tiles.txt (z6-14 around eastern
# China), all four layers in one composite tile, by wrk (benches/peers/tiles.lua).
# Uses target/release/waystation or $WAYSTATION_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${WAYSTATION_BIN:-target/release/waystation}; db=$1; rate=${2:-20}; secs=${3:-15}
work=$(mktemp -d)
cp benches/tiles_under_edits.tiles.txt "$work/tiles.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --db "$db" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
token=$($bin token create --db "$db" --name "td-$(date +%s%N)" --role admin | tail -1)
url="http://127.0.0.1:$port"
L=driver_home,courier_station,fitness_station,park
tl() { wrk -t1 -c16 -d"$1" -s benches/peers/tiles.lua "$url" -- "/tiles/$L/" ".mvt" "$work/tiles.txt" 1 ; }
tl 5s >/dev/null 2>&1
edits() {
benches/stream_edits.py "$url" "$token" "$rate" "$1"
}
rps() { awk '/Requests\/sec/ {print $2}'; }
res=""
for round in 1 2; do
  i=$(tl ${secs}s | rps)
  edits $((secs + 2)) & ed=$!
  sleep 1
  l=$(tl ${secs}s | rps)
  wait $ed
  # the quiet rebuild of the base: one tile every 50 ms, the slowest kept
  slow=$(for k in $(seq 1 260); do curl -s -o /dev/null -w '%{time_total}\n' "$url/tiles/$L/6/53/26.mvt"; sleep 0.05; done | sort -g | tail -1)
  tl 3s >/dev/null 2>&1
  echo "round $round: slowest tile in the 15 s after the edits (base rebuilt): ${slow}s"
  echo "round $round: idle $i req/s, with $rate edits/s $l req/s"
  res="$res $i $l"
done
python3 -c "
v=[float(x) for x in '$res'.split()]
idle=(v[0]+v[2])/2; load=(v[1]+v[3])/2
print(f'tiles idle {idle:.0f} req/s, with $rate edits/s {load:.0f} req/s: {load/idle:.2f}x')"
