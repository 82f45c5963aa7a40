#!/usr/bin/env bash
# Benchmark: QEMU simpletrace binary (real long73M trace: 73 MB, 1,216,109 records) decoded by
#   blkscope events   (simpletrace.py's text, byte for byte)   vs   QEMU 7.2 scripts/simpletrace.py
#   blkscope analyze  (request rebuild + checks)
# Prints wall/user/sys seconds and peak RSS per run (best of RUNS), and checks the events output against
# the sha256 simpletrace.py's own output had (../shared/realtraces/simpletrace/trace-long73M.sizes-sha256.txt).
#
# usage: npm run build && bash bench/simpletrace.sh [RUNS=3]
#   SIMPLETRACE_PY=/path/to/qemu-7.2/scripts/simpletrace.py  also times the reference decoder here
#   (it needs its sibling scripts/tracetool/). Without it, the recorded timings are printed instead.
#   One way to get it without touching the system's apt configuration (Debian 12):
#     mkdir -p /tmp/qsrc/lists/partial && cd /tmp/qsrc
#     echo 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main' > src.list
#     O="-o Dir::Etc::SourceList=$PWD/src.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=$PWD/lists"
#     apt-get $O update && apt-get $O source --download-only qemu
#     tar -xJf qemu_7.2+dfsg.orig.tar.xz --wildcards '*/scripts/simpletrace.py' '*/scripts/tracetool/*'
#     export SIMPLETRACE_PY=$PWD/qemu-7.2.0/scripts/simpletrace.py   # sha256 1e0da9ae...2674247
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
R=../shared/realtraces/simpletrace
TE=$R/trace-events-all
[ -f dist/src/cli/main.js ] || { echo "run 'npm run build' first" >&2; exit 2; }
command -v xz >/dev/null || { echo "xz is needed to unpack $R/trace-long73M.simpletrace.xz" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/trace-long73M.simpletrace
xz -dc "$R/trace-long73M.simpletrace.xz" > "$bin"
want_bin=$(awk '/trace-long73M.simpletrace$/ && length($1) == 64 {print $1}' "$R/trace-long73M.sizes-sha256.txt")
want_out=$(awk '/simpletrace-out.txt$/ && length($1) == 64 {print $1}' "$R/trace-long73M.sizes-sha256.txt")
[ "$(sha256sum < "$bin" | cut -d' ' -f1)" = "$want_bin" ] || { echo "decompressed trace does not match its recorded sha256" >&2; exit 1; }
echo "input: $(stat -c %s "$bin") bytes, 1216109 records (node $(node --version), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"

# best (lowest wall) of $runs: "wall user sys rssKB"
best() {
  local label=$1; shift
  local line bestline=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@"
    line=$(tail -1 "$tmp/time")
    if [ -z "$bestline" ] || awk -v a="$line" -v b="$bestline" 'BEGIN{split(a,x," ");split(b,y," ");exit !(x[1]<y[1])}'; then bestline=$line; fi
  done
  read -r w u s m <<< "$bestline"
  printf '%-44s wall %6.2f s  user %5.2f s  sys %5.2f s  peak RSS %4d MB\n' "$label" "$w" "$u" "$s" $((m / 1024))
  echo "$w" > "$tmp/last-wall"
}

cli="node dist/src/cli/main.js"
best "blkscope events > /dev/null" sh -c "$cli events --trace-events $TE $bin > /dev/null"
ev=$(cat "$tmp/last-wall")
best "blkscope events > file" sh -c "$cli events --trace-events $TE $bin > $tmp/out.txt"
got=$(sha256sum < "$tmp/out.txt" | cut -d' ' -f1)
[ "$got" = "$want_out" ] && echo "  output sha256 = simpletrace.py's recorded sha256 ($want_out)" || { echo "  OUTPUT DIFFERS from simpletrace.py's (sha256 $got)"; exit 1; }
best "blkscope events | cat > /dev/null" sh -c "$cli events --trace-events $TE $bin | cat > /dev/null"
best "blkscope events --style log > /dev/null" sh -c "$cli events --style log --trace-events $TE $bin > /dev/null"
best "blkscope analyze > /dev/null" sh -c "$cli analyze --trace-events $TE $bin > /dev/null"
an=$(cat "$tmp/last-wall")
best "blkscope analyze --json > /dev/null" sh -c "$cli analyze --json --trace-events $TE $bin > /dev/null"

if [ -n "${SIMPLETRACE_PY:-}" ] && [ -f "$SIMPLETRACE_PY" ]; then
  best "simpletrace.py > /dev/null" sh -c "python3 $SIMPLETRACE_PY $TE $bin > /dev/null"
  py=$(cat "$tmp/last-wall")
  echo "ratio (same machine, same load): events $(awk -v p="$py" -v e="$ev" 'BEGIN{printf "%.1f", p/e}')x faster than simpletrace.py; analyze $(awk -v p="$py" -v e="$an" 'BEGIN{printf "%.1f", p/e}')x"
else
  echo "simpletrace.py not run here (set SIMPLETRACE_PY); recorded on an idle 2-vCPU EPYC (/usr/bin/time -v):"
  for f in "$R"/trace-long73M.simpletrace-py.time-v.*.txt; do
    printf '  %-50s wall %s  user %s s  peak RSS %s KB\n' "$(basename "$f")" \
      "$(awk -F': ' '/Elapsed/{print $2}' "$f")" "$(awk -F': ' '/User time/{print $2}' "$f")" "$(awk -F': ' '/Maximum resident/{print $2}' "$f")"
  done
  echo "ratio vs the recorded best /dev/null run (5.19 s): events $(awk -v e="$ev" 'BEGIN{printf "%.1f", 5.19/e}')x, analyze $(awk -v e="$an" 'BEGIN{printf "%.1f", 5.19/e}')x"
fi
