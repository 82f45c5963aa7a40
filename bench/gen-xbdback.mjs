#!/usr/bin/env node
// Generates a NetBSD xbdback (Xen 2.0) debug log of about SIZE_MB megabytes on stdout, streamed:
// mostly clean full-page requests, with a seed-004-like request (repeated frames) every 1000 requests,
// in mail quoting every 7th block and syslog prefixes every 5th, to exercise the normalizer.
// usage: node bench/gen-xbdback.mjs SIZE_MB > file
const target = Number(process.argv[2] ?? 100) * 1024 * 1024;
let written = 0;
let cons = 0x1000;
let buf = [];
let bufLen = 0;
function out(s) {
  buf.push(s);
  bufLen += s.length;
  if (bufLen > 1 << 20) flush();
}
function flush() {
  const ok = process.stdout.write(buf.join(''));
  written += bufLen;
  buf = [];
  bufLen = 0;
  return ok;
}
async function main() {
  let i = 0;
  while (written < target) {
    const prefix = i % 7 === 0 ? '> ' : i % 5 === 0 ? 'Jun  6 21:08:01 xenhost /netbsd: ' : '';
    const bad = i % 1000 === 999;
    const n = bad ? 11 : 1 + (i % 11);
    const c = (cons >>> 0).toString(16);
    const p = ((cons + 3) >>> 0).toString(16);
    out(`${prefix}xbdback op ${i & 1} req_cons 0x${c} req_prod 0x${p}/0x${((cons + 3) & 63).toString(16)} resp_prod 0x${c}/0x${(cons & 63).toString(16)}\n`);
    for (let s = 0; s < n; s++) {
      let fas;
      if (bad) fas = s < 8 ? 0x27f68000 + s * 9 : 0x27f67000 + (s - 8) * 9;
      else fas = (0x20000 + ((i * 16 + s) & 0xfffff)) * 4096 + 7;
      out(`${prefix}xbdback_io domain ${1 + (i % 3)}: frame_and_sects[${s}]=0x${fas.toString(16)}\n`);
    }
    out(`${prefix}xbdback_io domain ${1 + (i % 3)}: start sect ${i * 8} start 0 size ${bad ? 5632 : n * 4096}\n`);
    out(`${prefix}xbdback_io domain ${1 + (i % 3)}: start request\n`);
    cons++;
    i++;
    if (bufLen === 0 && !process.stdout.writableNeedDrain) continue;
    if (process.stdout.writableNeedDrain) await new Promise((r) => process.stdout.once('drain', r));
  }
  flush();
}
main();
