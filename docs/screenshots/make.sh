#!/usr/bin/env bash
# Build the `minilm inspect --html` page for a fixed sentence and take a
# screenshot of it with headless Chromium, to docs/screenshots/inspect.png.
#
#   bash docs/screenshots/make.sh            # needs chromium (Debian: apt-get install chromium)
#
# Not part of `cargo test` (CI has no browser); the page's structure is
# checked there by tests/inspect.rs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SENTENCE=${SENTENCE:-"The quick brown fox jumps over the lazy dog."}
OUT=docs/screenshots
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cargo build --release --quiet --bin minilm
BIN=${CARGO_TARGET_DIR:-target}/release/minilm
"$BIN" inspect --html "$TMP/inspect.html" "$SENTENCE"

CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
    echo "no chromium found: install it (apt-get install chromium) to take the screenshot" >&2
    exit 1
fi
SANDBOX=()
[ "$(id -u)" = 0 ] && SANDBOX=(--no-sandbox)
"$CHROME" --headless "${SANDBOX[@]}" --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$TMP/profile" \
    --window-size="${WINDOW:-1400,2950}" --screenshot="$TMP/full.png" \
    "file://$TMP/inspect.html#${HEAD:-L1H8}" 2>"$TMP/chromium.log" || { cat "$TMP/chromium.log" >&2; exit 1; }
mv "$TMP/full.png" "$OUT/inspect.png"
ls -l "$OUT/inspect.png"
