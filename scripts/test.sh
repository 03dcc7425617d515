#!/usr/bin/env bash
# Runs every test of waystation: format, lints, unit / property / integration tests,
# and the browser tests in headless Chromium. Installs Debian's chromium and the
# browser test's npm packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

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
WAYSTATION_URL="http://127.0.0.1:$port" WAYSTATION_TOKEN="$token" node tests/browser/admin.test.mjs
WAYSTATION_URL="http://127.0.0.1:$port" WAYSTATION_TOKEN="$token" node tests/browser/station.test.mjs
echo "== all tests passed"
