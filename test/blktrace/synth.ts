// A small blktrace writer for tests: real struct blk_io_trace records (version 7), either byte order,
// one file per CPU. Same shape as ../shared/specs/anchors/tools/synth_blktrace.py (Q G I [Q M] D C).
export interface Rec {
  seq: number;
  time: number; // ns
  sector: number;
  bytes: number;
  action: number;
  pid: number;
  dev: number;
  cpu: number;
  error?: number;
  pdu?: Buffer;
}

export function encode(r: Rec, le = true): Buffer {
  const pdu = r.pdu ?? Buffer.alloc(0);
  const b = Buffer.alloc(48 + pdu.length);
  const u32 = (v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const u64 = (v: number, o: number) => {
    const hi = Math.floor(v / 4294967296);
    const lo = v % 4294967296;
    if (le) {
      b.writeUInt32LE(lo, o);
      b.writeUInt32LE(hi, o + 4);
    } else {
      b.writeUInt32BE(hi, o);
      b.writeUInt32BE(lo, o + 4);
    }
  };
  u32(0x65617407, 0);
  u32(r.seq, 4);
  u64(r.time, 8);
  u64(r.sector, 16);
  u32(r.bytes, 24);
  u32(r.action, 28);
  u32(r.pid, 32);
  u32(r.dev, 36);
  u32(r.cpu, 40);
  if (le) {
    b.writeUInt16LE(r.error ?? 0, 44);
    b.writeUInt16LE(pdu.length, 46);
  } else {
    b.writeUInt16BE(r.error ?? 0, 44);
    b.writeUInt16BE(pdu.length, 46);
  }
  pdu.copy(b, 48);
  return b;
}

const TC = (bits: number) => bits << 16;
const READ = 1, WRITE = 2, QUEUE = 1 << 4, REQUEUE = 1 << 5, ISSUE = 1 << 6, COMPLETE = 1 << 7, FS = 1 << 8;
export const ACT = {
  Q: (w: boolean) => 1 | TC(QUEUE | FS | (w ? WRITE : READ)),
  M: (w: boolean) => 2 | TC(QUEUE | FS | (w ? WRITE : READ)),
  G: (w: boolean) => 4 | TC(QUEUE | FS | (w ? WRITE : READ)),
  R: (w: boolean) => 6 | TC(REQUEUE | FS | (w ? WRITE : READ)),
  I: (w: boolean) => 12 | TC(QUEUE | FS | (w ? WRITE : READ)),
  D: (w: boolean) => 7 | TC(ISSUE | FS | (w ? WRITE : READ)),
  C: (w: boolean) => 8 | TC(COMPLETE | FS | (w ? WRITE : READ)),
};
export const DEV = (8 << 20) | 16;

/** Per-CPU record lists for `nreq` requests over `ncpu` CPUs (times strictly increasing overall). */
export function synth(nreq: number, ncpu: number, opts: { requeueEvery?: number } = {}): Rec[][] {
  const out: Rec[][] = Array.from({ length: ncpu }, () => []);
  const seq = new Array<number>(ncpu).fill(0);
  let t = 1000;
  let sector = 2048;
  for (let r = 0; r < nreq; r++) {
    const cpu = r % ncpu;
    const w = r % 3 === 0;
    const bytes = 4096 * (1 + (r % 32));
    const evs: [keyof typeof ACT, number, number][] = [
      ['Q', sector, bytes],
      ['G', sector, bytes],
      ['I', sector, bytes],
    ];
    let total = bytes;
    if (r % 8 === 0) {
      evs.push(['Q', sector + bytes / 512, 4096], ['M', sector + bytes / 512, 4096]);
      total += 4096;
    }
    if (opts.requeueEvery && r % opts.requeueEvery === 0) {
      for (let k = 0; k < 3; k++) evs.push(['D', sector, total], ['R', sector, total]);
    }
    evs.push(['D', sector, total], ['C', sector, total]);
    for (const [a, s, b] of evs) {
      t += 250;
      out[cpu]!.push({ seq: ++seq[cpu]!, time: t, sector: s, bytes: b, action: ACT[a](w), pid: 1000 + (r % 7), dev: DEV, cpu });
    }
    sector += total / 512 + (r % 5 ? 0 : 4096);
  }
  return out;
}

export function fileBytes(recs: Rec[], le = true): Buffer {
  return Buffer.concat(recs.map((r) => encode(r, le)));
}
