#!/usr/bin/env bash
# Benchmark: `blkscope report` in every format on a generated xbdback log (default 100 MB), against
# `analyze` on the same file. Prints seconds, peak RSS and report size; the html timeline stays bounded
# (<= 20000 sampled points + flagged requests) whatever the input size.
# usage: bash bench/report.sh [SIZE_MB]   (builds first; GNU time for RSS)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-100}
npx tsc -p tsconfig.json >/dev/null 2>&1 || echo "report bench: tsc reported errors (continuing with dist/)" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bench/gen-xbdback.mjs "$size" > "$tmp/xbd.log"
echo "input: $(stat -c %s "$tmp/xbd.log") bytes, $(wc -l < "$tmp/xbd.log") lines"
/usr/bin/time -f '%e %M' -o "$tmp/time" node dist/src/cli/main.js analyze "$tmp/xbd.log" > /dev/null || true
read -r secs rss < "$tmp/time"
echo "analyze (text):  ${secs} s, peak RSS $((rss / 1024)) MB"
for f in text md html json; do
  /usr/bin/time -f '%e %M' -o "$tmp/time" node dist/src/cli/main.js report --format "$f" --output "$tmp/r.$f" "$tmp/xbd.log" || true
  read -r secs rss < "$tmp/time"
  printf 'report --format %-4s %s s, peak RSS %d MB, output %d bytes\n' "$f" "$secs" $((rss / 1024)) "$(stat -c %s "$tmp/r.$f")"
done
