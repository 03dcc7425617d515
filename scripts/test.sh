#!/usr/bin/env bash
# Runs every test of waystation: format, lints, unit / property / integration tests,
# and the browser tests in headless Chromium. Installs Debian's chromium and the
# browser test's npm packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# One-off builds gain nothing from incremental state; it was a quarter of target/.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  echo "== installing Debian chromium and CJK fonts"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test
echo "== benches compile"
cargo bench --no-run

echo "== browser tests (release server: the coverage analyses are heavy in debug)"
cargo build --release
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# A fresh database each run, created from geodata/ as `cargo run --release` does.
db=target/browser.db
rm -f "$db" "$db"-*
target/release/waystation serve --db "$db" --bind "127.0.0.1:$port" >target/browser-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
  sleep 0.1
done
token=$(target/release/waystation token create --db "$db" --name browser-tests --role admin | tail -1)
WAYSTATION_URL="http://127.0.0.1:$port" node tests/browser/map.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" node tests/browser/planner.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" node tests/browser/along.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" node tests/browser/search.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" node tests/browser/embed.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" node tests/browser/offline.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" WAYSTATION_TOKEN="$token" node tests/browser/admin.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" WAYSTATION_TOKEN="$token" node tests/browser/station.test.mjs
# Vector tiles on a generated national set: made once (kept in target/tiles-1m between
# runs), served read-only by one server, drawn on a phone screen.
echo "== vector tiles: 1,000,000 generated facilities on a 360 px phone"
tiles_dir=target/tiles-1m
if [ ! -f "$tiles_dir/park.synthetic.geojson" ]; then
  gen_start=$(date +%s)
  target/release/waystation gen --facilities 1000000 --parks 1000 --seed 42 --out "$tiles_dir"
  echo "generated in $(($(date +%s) - gen_start)) s"
fi
tiles_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/waystation serve --data "$tiles_dir" --bind "127.0.0.1:$tiles_port" >target/tiles-server.log 2>&1 &
tiles_server=$!
trap 'kill $server $tiles_server 2>/dev/null || true' EXIT
WAYSTATION_TILES_URL="http://127.0.0.1:$tiles_port" node tests/browser/tiles.test.mjs
kill $tiles_server 2>/dev/null || true
# Park outlines from the tiles (a copy of geodata/ with polygons; its own server).
node tests/browser/outlines.test.mjs
echo "== target/ holds $(du -sh target | cut -f1); $(df -h . | tail -1 | awk "{print \$4}") free on this disk"
echo "== all tests passed"
