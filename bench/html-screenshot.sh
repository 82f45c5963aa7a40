#!/usr/bin/env bash
# Open `blkscope report --format html` pages in headless Chromium (Debian package `chromium`) with the network
# unreachable: each page must load without errors, its DOM must hold the inline SVGs, and the screenshot
# must be a non-trivial PNG. Inputs: seed-004 plus every sample with an .expected.json (or the files given).
# Usage: bench/html-screenshot.sh [input...]    (OUT=dir keeps the pages and screenshots; default a temp dir)
# Exit 0 when every page passes, 1 otherwise, 2 when chromium is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  echo "html-screenshot: chromium not found (apt-get install -y chromium)" >&2
  exit 2
fi
npx tsc -p tsconfig.json >/dev/null 2>&1 || echo "html-screenshot: tsc reported errors (continuing with dist/)" >&2
OUT=${OUT:-$(mktemp -d /tmp/blkscope-html.XXXXXX)}
mkdir -p "$OUT"
if [ $# -gt 0 ]; then inputs=("$@"); else
  inputs=(samples/xen/seed-004-mail.txt)
  while IFS= read -r e; do
    base=${e%.expected.json}
    in=$(ls "$base" "$base".* 2>/dev/null | grep -v -e '\.expected\.json$' -e '\.md$' | head -1)
    [ -n "$in" ] && inputs+=("$in")
  done < <(find samples -name '*.expected.json' | sort)
fi
fail=0
n=0
for in in "${inputs[@]}"; do
  n=$((n + 1))
  name=$(echo "$in" | tr '/' '_')
  html="$OUT/$name.html"
  png="$OUT/$name.png"
  node dist/src/cli/main.js report --format html --output "$html" "$in" 2>"$OUT/$name.report.err"
  rc=$?
  if [ $rc -eq 2 ] || [ ! -s "$html" ]; then
    echo "FAIL $in: report exited $rc: $(head -c 200 "$OUT/$name.report.err")"
    fail=1
    continue
  fi
  prof=$(mktemp -d /tmp/blkscope-chromium.XXXXXX)
  flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
    --disable-sync --no-first-run --user-data-dir="$prof" --host-resolver-rules="MAP * ~NOTFOUND"
    --enable-logging=stderr --v=0 --window-size=1100,1600 --hide-scrollbars)
  start=$(date +%s%N)
  timeout 60 "$CHROME" "${flags[@]}" --screenshot="$png" "file://$(realpath "$html")" >/dev/null 2>"$OUT/$name.shot.err"
  src=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  timeout 60 "$CHROME" "${flags[@]}" --dump-dom "file://$(realpath "$html")" >"$OUT/$name.dom" 2>"$OUT/$name.dom.err"
  drc=$?
  rm -rf "$prof"
  problems=""
  [ $src -eq 0 ] || problems="$problems screenshot-exit=$src"
  [ $drc -eq 0 ] || problems="$problems dump-dom-exit=$drc"
  size=$(stat -c %s "$png" 2>/dev/null || echo 0)
  magic=$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
  [ "$magic" = "89504e470d0a1a0a" ] || problems="$problems not-a-png"
  [ "$size" -gt 10000 ] || problems="$problems png-too-small($size)"
  grep -q '<svg class="timeline"\|No requests\.' "$OUT/$name.dom" || problems="$problems no-timeline-in-dom"
  # Page errors: console errors, failed loads (any network attempt fails under the resolver rule).
  errs=$(grep -hE 'CONSOLE|Uncaught|net::ERR_|Failed to load|Refused to' "$OUT/$name.shot.err" "$OUT/$name.dom.err" | head -3)
  [ -z "$errs" ] || problems="$problems page-errors: $errs"
  if [ -n "$problems" ]; then
    echo "FAIL $in:$problems"
    fail=1
  else
    echo "ok   $in  html $(stat -c %s "$html") B  png $size B  ${ms} ms"
  fi
done
echo "html-screenshot: $n page(s), output in $OUT, $([ $fail -eq 0 ] && echo 'all passed' || echo 'FAILURES')"
exit $fail
