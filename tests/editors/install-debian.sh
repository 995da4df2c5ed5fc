#!/usr/bin/env bash
# Installs the Debian 12 packages the editor tests need, where they are missing:
#   neovim       the Neovim test (Debian 12: 0.7.2)
#   chromium     the browser that shows VS Code's web workbench (driven by playwright-core)
#   libkrb5-dev  for code-server's native modules (kerberos), built when it is installed
# Needs root (CI runs as root); without it, it names what is missing and fails.
set -euo pipefail
packages=(neovim chromium libkrb5-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "Debian packages present: ${packages[*]}"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-debian.sh: missing Debian packages: ${missing[*]} (as root: apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 1
fi
echo "apt-get install ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
