#!/usr/bin/env bash
# Property-based checks of the OpenAPI document against a real server with
# schemathesis (PyPI): every operation, every check, a fixed seed, with an admin
# token so the registry's operations run too. Not part of `scripts/test.sh` (it takes
# minutes and some findings are rules JSON Schema cannot state; see BENCHMARKS.md).
#
#   scripts/schemathesis.sh [EXAMPLES] [SEED]        (defaults 25 and 1)
#
# Uses target/release/waystation (build it first) on a fresh database in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-25}
seed=${2:-1}
command -v schemathesis >/dev/null || python3 -m pip install --quiet schemathesis
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/waystation serve --db "$work/st.db" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
token=$(target/release/waystation token create --db "$work/st.db" --name schemathesis --role admin | tail -1)
schemathesis run "http://127.0.0.1:$port/api/openapi.json" \
  --checks all --max-examples "$examples" --seed "$seed" --continue-on-failure \
  --header "Authorization: Bearer $token" --header "Origin: http://127.0.0.1:$port"
