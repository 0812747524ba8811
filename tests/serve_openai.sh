#!/usr/bin/env bash
# .ci/run: the official `openai` Python client (pinned, in a venv under
# target/) against `minilm serve` started here on a free loopback port;
# tests/serve_openai.py compares its vectors with `minilm embed`'s. Then
# SIGTERM, and the server must exit 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${MINILM_BIN:-target/release/minilm}
venv=target/openai-venv
if ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q openai==3.51.0
fi
key="ci-$RANDOM$RANDOM"
log=$(mktemp)
MINILM_API_KEY=$key "$bin" serve --port 0 2> "$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
addr=""
for _ in $(seq 600); do
    addr=$(grep -o 'listening on http://[0-9.:]*' "$log" | sed 's/listening on //' || true)
    if [ -n "$addr" ] && curl -sf "$addr/health" > /dev/null; then
        break
    fi
    sleep 0.1
done
[ -n "$addr" ] || { cat "$log"; echo "serve_openai: the server never started" >&2; exit 1; }
"$venv/bin/python" tests/serve_openai.py --base-url "$addr/v1" --api-key "$key" --minilm "$bin"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap 'rm -f "$log"' EXIT
if [ "$status" -ne 0 ]; then
    cat "$log"
    echo "serve_openai: the server exited $status after SIGTERM" >&2
    exit 1
fi
if grep -q "$key" "$log"; then
    echo "serve_openai: the API key appears in the server's log" >&2
    exit 1
fi
