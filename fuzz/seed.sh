#!/usr/bin/env bash
# Writes the seed inputs (from the repository's .kumo files) into fuzz/seeds/<target>/.
# The committed corpus (fuzz/corpus/<target>/) was grown from these seeds and minimized;
# rerun this after adding fixtures, then merge:  cargo +nightly fuzz cmin <target> fuzz/seeds/<target>
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/seeds
rm -rf "$out"
mkdir -p "$out/parse" "$out/format" "$out/check_emit"

name() { echo "$1" | sed 's|/|_|g'; }
ff=$'\x0c' # check_emit: the files of one deployment are separated by form feeds

while IFS= read -r f; do
  for t in parse format check_emit; do cp "$f" "$out/$t/$(name "$f")"; done
done < <(find tests/fixtures examples stdlib -name '*.kumo' | sort)

# Multi-file deployments, one input each (check_emit), and the examples as one file.
join() { local first=1; for f in "$@"; do [ $first = 1 ] || printf '%s' "$ff"; cat "$f"; first=0; done; }
join examples/example-com/*.kumo > "$out/check_emit/example-com.multi"
cat examples/example-com/*.kumo > "$out/check_emit/example-com.concat.kumo"
for d in $(find tests/fixtures -mindepth 2 -type d | sort); do
  join "$d"/*.kumo > "$out/check_emit/$(name "$d").multi"
done
for t in parse format check_emit; do echo "$t: $(ls "$out/$t" | wc -l) seeds"; done
