#!/usr/bin/env bash
# Benchmark: blkscope's full analysis of a generated blktrace (2 per-CPU files) vs blkparse and btt.
# usage: bash bench/blktrace.sh [NREQ=1000000]   (needs `npm run build`; GNU time; blkparse/btt optional)
# NREQ requests = NREQ*5 + 2*ceil(NREQ/8) events (1 M -> 5.25 M events, 252 MB), written by
# ../shared/specs/anchors/tools/synth_blktrace.py to a temp dir (synced and read once, so that every tool reads
# it from the page cache). Each tool runs once, one after the other; ROUNDS=N (N > 1) then alternates
# `blkscope analyze` and `blkparse -o /dev/null` N more times and prints the median wall times and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
nreq=${1:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 ../shared/specs/anchors/tools/synth_blktrace.py "$tmp/big" "$nreq" 2 > "$tmp/gen.txt"
events=$(awk '/events:/{print $2}' "$tmp/gen.txt")
sync
bytes=$(cat "$tmp"/big.blktrace.* | wc -c)
echo "input: $events events, $bytes bytes in 2 per-CPU files; load average $(cut -d' ' -f1-3 /proc/loadavg)"
n=0
run() { # name, command...
  local name=$1; shift
  n=$((n + 1))
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" > "$tmp/out.$n" 2> "$tmp/err.$n" || { echo "$name: failed ($(head -c 300 "$tmp/err.$n"))"; return; }
  read -r secs user sys rss < "$tmp/time"
  awk -v n="$name" -v e="$events" -v s="$secs" -v u="$user" -v y="$sys" -v r="$rss" 'BEGIN{
    printf "%-28s %7.2f s wall %7.2f s cpu  %6.2f M events/s (wall)  %6.2f M events/cpu-s  peak RSS %5d MB\n", n, s, u+y, e/s/1e6, e/(u+y)/1e6, r/1024 }'
}
run "blkscope analyze" node dist/src/cli/main.js analyze --max-findings 1000 "$tmp/big"
run "blkscope analyze --json" node dist/src/cli/main.js analyze --json --max-findings 1000 "$tmp/big"
if command -v blkparse > /dev/null; then
  run "blkparse -o /dev/null" blkparse -i "$tmp/big" -o /dev/null
  run "blkparse -d (binary dump)" blkparse -q -i "$tmp/big" -O -d "$tmp/big.bin"
  if command -v btt > /dev/null; then run "btt" btt -i "$tmp/big.bin" -o "$tmp/bttout"; fi
else
  echo "blkparse/btt not installed (apt-get install blktrace): blkscope figures only"
fi
grep -E '^ *(Q2C|D2C) ' "$tmp/out.1" | head -2 | sed 's/^/blkscope: /' || true
[ -f "$tmp/bttout.avg" ] && grep -E '^(Q2C|D2C)' "$tmp/bttout.avg" | sed 's/^/btt:      /' || true
rounds=${ROUNDS:-1}
if [ "$rounds" -gt 1 ] && command -v blkparse > /dev/null; then
  a=(); b=()
  for ((i = 0; i < rounds; i++)); do
    /usr/bin/time -f '%e' -o "$tmp/t" node dist/src/cli/main.js analyze --max-findings 1000 "$tmp/big" > /dev/null 2>&1; a+=("$(cat "$tmp/t")")
    /usr/bin/time -f '%e' -o "$tmp/t" blkparse -i "$tmp/big" -o /dev/null > /dev/null 2>&1; b+=("$(cat "$tmp/t")")
  done
  ma=$(printf '%s\n' "${a[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  mb=$(printf '%s\n' "${b[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  echo "alternating $rounds rounds: blkscope analyze ${a[*]} s; blkparse ${b[*]} s"
  awk -v a="$ma" -v b="$mb" -v e="$events" 'BEGIN{ printf "median: blkscope analyze %.2f s (%.2f M events/s), blkparse %.2f s (%.2f M events/s): %.2fx blkparse\n", a, e/a/1e6, b, e/b/1e6, b/a }'
fi
