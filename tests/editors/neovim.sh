#!/usr/bin/env bash
# Runs tests/editors/neovim/test.lua: a headless Neovim (`nvim --headless -u NONE`) loads the
# shipped editors/neovim/kumoc.lua and drives `kumoc lsp` on a scratch copy of
# examples/example-com (completion, hover, a diagnostic for an introduced error, its quick fix).
#
#   tests/editors/neovim.sh                 # the `nvim` on PATH (Debian 12: 0.7.2)
#   NVIM=/path/to/nvim tests/editors/neovim.sh
#   KUMOC=/path/to/kumoc tests/editors/neovim.sh   # default: cargo build, target/debug/kumoc
#
# HOME and the XDG directories point into the scratch directory, so no user configuration is
# read and the LSP log lands there; it is printed when the test fails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
nvim=${NVIM:-nvim}

if ! command -v "$nvim" >/dev/null 2>&1; then
  echo "neovim.sh: \`$nvim\` not found (Debian: apt-get install neovim)" >&2
  exit 2
fi
if [ -z "${KUMOC:-}" ]; then
  cargo build --locked --quiet --manifest-path "$repo/Cargo.toml" --bin kumoc
  KUMOC=$repo/target/debug/kumoc
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/bin" "$scratch/home" "$scratch/config" "$scratch/data" "$scratch/state" "$scratch/cache"
cp -r "$repo/examples/example-com" "$scratch/example-com"
# The setup runs `kumoc lsp` from PATH, as it does for a user who installed kumoc.
ln -s "$(cd "$(dirname "$KUMOC")" && pwd)/$(basename "$KUMOC")" "$scratch/bin/kumoc"

# `timeout`: a Neovim that hangs (it should not: the test has its own time limits) must fail
# this step, not run into CI's time limit.
cd "$scratch"
PATH="$scratch/bin:$PATH" HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/config" \
  XDG_DATA_HOME="$scratch/data" XDG_STATE_HOME="$scratch/state" XDG_CACHE_HOME="$scratch/cache" \
  KUMOC_NVIM_SETUP="$repo/editors/neovim/kumoc.lua" KUMOC_NVIM_DIR="$scratch/example-com" \
  timeout -s KILL 180 "$nvim" --headless -u NONE -i NONE -n \
  -c "luafile $repo/tests/editors/neovim/test.lua" </dev/null
