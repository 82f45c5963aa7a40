#!/usr/bin/env bash
# Benchmark: analyze a generated xbdback log (default 500 MB). Prints lines/s and peak RSS.
# usage: bash bench/xen.sh [SIZE_MB]   (needs `npm run build` first; GNU time for RSS)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-500}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bench/gen-xbdback.mjs "$size" > "$tmp/xbd.log"
lines=$(wc -l < "$tmp/xbd.log")
bytes=$(stat -c %s "$tmp/xbd.log")
for mode in text json; do
  flag=""; [ "$mode" = json ] && flag="--json"
  /usr/bin/time -f '%e %M' -o "$tmp/time" node dist/src/cli/main.js analyze $flag --max-findings 1000 "$tmp/xbd.log" > "$tmp/out.$mode"
  read -r secs rss < "$tmp/time"
  echo "$mode: ${bytes} bytes, ${lines} lines in ${secs} s = $(awk -v l="$lines" -v s="$secs" 'BEGIN{printf "%.0f", l/s}') lines/s, peak RSS $((rss/1024)) MB"
done
