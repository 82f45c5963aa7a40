#!/usr/bin/env node
// Bench: QEMU log-backend trace (virtio-blk) analysed by `blkscope analyze` (text summary and --json).
// Generates a trace of the shape seen in ../shared/realtraces/run1 (TID@SEC.USEC:event args; per request
// notify, alloc, pop, handle, blk_co_*, qcow2_* for writes, rw_complete, req_complete, fill, flush, irqfd;
// up to 4 requests in flight, a flush every 32 writes) streamed to a temp file, then runs the CLI under
// /usr/bin/time -v (text summary, then --json) and reports lines/s and peak RSS.
// Usage: npm run build && node bench/qemu-log.mjs [sizeMB=1024] [--keep] [--trace FILE]
//   ROUNDS=N (default 3): each configuration runs N times, alternating; min and median are printed.
//   --trace FILE analyses an existing trace (e.g. one kept with --keep) instead of generating one.
// Configurations: the text summary (lines read on a worker thread, the default for big files), the same with
// BLKSCOPE_TEXT_WORKER=never (all on one thread), and --json.
import { createReadStream, createWriteStream, statSync, unlinkSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sizeMB = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1024);
const keep = process.argv.includes('--keep');
const given = process.argv.includes('--trace') ? process.argv[process.argv.indexOf('--trace') + 1] : undefined;
const rounds = Math.max(1, Number(process.env.ROUNDS ?? 3));
const target = sizeMB * 1024 * 1024;
const file = given ?? join(mkdtempSync(join(tmpdir(), 'blkscope-bench-')), 'qemu-log.trace');

const hex = (n) => '0x' + n.toString(16);
const VDEV = '0x563dcaab0600';
const VQ = '0x7f7410ad8010';
const BLK = '0x563dca068ea0';
const BS = '0x563dca06b6d0';
const TID = 4887;

async function generate() {
  const out = createWriteStream(file, { highWaterMark: 1 << 22 });
  let bytes = 0;
  let lines = 0;
  let usec = 0;
  let sec = 1795471911;
  let buf = '';
  let writes = 0;
  let reqs = 0;
  const ts = () => {
    usec += 3 + (reqs & 7);
    if (usec >= 1000000) {
      usec -= 1000000;
      sec++;
    }
    return `${TID}@${sec}.${String(usec).padStart(6, '0')}:`;
  };
  const emit = (s) => {
    buf += ts() + s + '\n';
    lines++;
  };
  const flushBuf = async () => {
    bytes += Buffer.byteLength(buf);
    if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
    buf = '';
  };
  let sector = 2048;
  while (bytes < target) {
    // a batch of up to 4 requests popped together, completed in reverse order
    const n = 1 + (reqs % 4);
    const batch = [];
    emit(`virtio_queue_notify vdev ${VDEV} n 0 vq ${VQ}`);
    for (let i = 0; i < n; i++) {
      const elem = hex(0x563dc9f89800 + i * 0x1000);
      const write = (reqs + i) % 3 === 0;
      const nsec = 8 << (reqs % 5);
      const flush = write && ++writes % 32 === 0;
      emit(`virtqueue_alloc_element elem ${elem} size 240 in_num ${write ? 1 : 2} out_num ${write ? 2 : 1}`);
      if (flush) {
        emit(`virtqueue_pop vq ${VQ} elem ${elem} in_num 1 out_num 1`);
        batch.push({ elem, len: 1, rw: false });
      } else {
        emit(`virtqueue_pop vq ${VQ} elem ${elem} in_num ${write ? 1 : 2} out_num ${write ? 2 : 1}`);
        emit(`virtio_blk_handle_${write ? 'write' : 'read'} vdev ${VDEV} req ${elem} sector ${sector} nsectors ${nsec}`);
        emit(`blk_co_p${write ? 'writev' : 'readv'} blk ${BLK} bs ${BS} offset ${sector * 512} bytes ${nsec * 512} flags 0x8`);
        if (write) {
          emit(`qcow2_writev_start_req co 0x563dcad67200 offset ${hex(sector * 512)} bytes ${nsec * 512}`);
          emit(`qcow2_writev_data co 0x563dcad67200 offset ${hex(0x50000 + sector * 512)}`);
          emit(`qcow2_writev_done_req co 0x563dcad67200 ret 0`);
        }
        batch.push({ elem, len: write ? 1 : nsec * 512 + 1, rw: true });
        sector = (sector + nsec) % 200000000;
      }
      reqs++;
    }
    for (const r of batch.reverse()) {
      if (r.rw) emit(`virtio_blk_rw_complete vdev ${VDEV} req ${r.elem} ret 0`);
      emit(`virtio_blk_req_complete vdev ${VDEV} req ${r.elem} status 0`);
      emit(`virtqueue_fill vq ${VQ} elem ${r.elem} len ${r.len} idx 0`);
      emit(`virtqueue_flush vq ${VQ} count 1`);
      emit(`virtio_notify_irqfd vdev ${VDEV} vq ${VQ}`);
    }
    if (buf.length > 1 << 20) await flushBuf();
  }
  await flushBuf();
  await new Promise((r) => out.end(r));
  return { lines, requests: reqs, bytes: statSync(file).size };
}

/** Lines and bytes of an existing trace. */
async function count(path) {
  let lines = 0;
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
  return { lines, requests: NaN, bytes: statSync(path).size };
}

const t0 = Date.now();
const gen = given ? await count(given) : await generate();
console.log(`${given ? 'using' : 'generated'} ${file}: ${(gen.bytes / 1048576).toFixed(0)} MiB, ${gen.lines} lines${given ? '' : `, ${gen.requests} requests`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const cli = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
const os = await import('node:os');
console.log(`node ${process.version}, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0].toFixed(1)}, ${rounds} round(s)`);
// The text summary (the analysis), the same on one thread, and --json (the same analysis plus every request written as JSON).
const configs = [
  { label: 'analyze', args: ['analyze', file], env: {} },
  { label: 'analyze (BLKSCOPE_TEXT_WORKER=never)', args: ['analyze', file], env: { BLKSCOPE_TEXT_WORKER: 'never' } },
  { label: 'analyze --json', args: ['analyze', '--json', file], env: {} },
];
const runs = configs.map(() => []);
for (let round = 0; round < rounds; round++) {
  configs.forEach((c, i) => {
    const r = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, ...c.args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 1 << 26,
      env: { ...process.env, ...c.env },
    });
    const err = r.stderr.toString();
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(err);
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
    const user = Number(/User time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? NaN);
    const sys = Number(/System time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? NaN);
    const secs = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
    runs[i].push({ secs, user, sys, rss: rss ? Number(rss[1]) / 1024 : NaN });
    console.log(
      `${c.label}: exit ${r.status}; wall ${secs.toFixed(2)} s; ${(gen.lines / secs / 1e6).toFixed(2)} M lines/s; ${(gen.bytes / 1048576 / secs).toFixed(0)} MiB/s; ` +
        `CPU user ${user} s + sys ${sys} s; peak RSS ${rss ? (Number(rss[1]) / 1024).toFixed(0) : '?'} MiB`,
    );
    if (r.status !== 0 && r.status !== 1) console.log(err.split('\n').slice(0, 20).join('\n'));
  });
}
console.log('summary (lines/s from the min and median wall; peak RSS the largest):');
configs.forEach((c, i) => {
  const w = runs[i].map((r) => r.secs).sort((a, b) => a - b);
  const med = w[(w.length - 1) >> 1];
  const rss = Math.max(...runs[i].map((r) => r.rss));
  console.log(`  ${c.label}: best ${w[0].toFixed(2)} s = ${(gen.lines / w[0] / 1e6).toFixed(2)} M lines/s; median ${med.toFixed(2)} s = ${(gen.lines / med / 1e6).toFixed(2)} M lines/s; peak RSS ${rss.toFixed(0)} MiB`);
});
if (!given && !keep) unlinkSync(file);
else if (!given) console.log(`kept ${file}`);
