// The virtio rebuild reads arguments as numbers (pointers as their value, VirtioEvent fields). Two ways in must
// agree with the plain one (an argument object per event, VirtioAssembler.event): the simpletrace parser's
// compiled fillers, which read the record bytes, and the log parser's compiled fillers. Pointers too big for a
// double (>= 2^53, only in damaged or synthetic input) must keep their exact identity and text.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { SimpletraceDecoder, decodeArgs, qemuSimpletrace, timeOf } from '../../parsers/qemu-simpletrace.js';
import { qemuLog } from '../../parsers/qemu-log.js';
import { loadTraceEvents, parseTraceEvents } from '../../parsers/qemu/trace-events.js';
import { VirtioAssembler } from '../../parsers/qemu/events.js';
import type { ParsedEvent } from '../../src/model/types.js';
import type { LineRecord, ParserContext, PatternMatch } from '../../parsers/types.js';
import { bufferSource } from '../../src/input/sources.js';
import { analyzeSources } from '../helpers.js';
import { TraceBuilder } from '../simpletrace/build.js';
import { randomQemuLog } from './random-trace.js';

const R = join(dirname(new URL(import.meta.url).pathname), '../../../shared/realtraces');
const TE = join(R, 'simpletrace/trace-events-all');
const te = loadTraceEvents(TE)!;

/** JSON of emitted events with evidence reduced to where it points (the two paths word their texts alike but build them apart). */
function canon(events: ParsedEvent[]): string {
  return JSON.stringify(events, (k, v: unknown) => {
    if (k === 'evidence' && Array.isArray(v)) return v.map((e: { file: string; offset?: number; line?: number }) => [e.file, e.offset ?? e.line]);
    if (k === 'evidence' && v && typeof v === 'object') return [(v as { file: string }).file, (v as { offset?: number }).offset];
    return v;
  });
}

function collector(traceEvents = TE): { ctx: ParserContext; events: ParsedEvent[] } {
  const events: ParsedEvent[] = [];
  return { events, ctx: { file: 'trace', options: { traceEvents }, emit: (ev) => void events.push(ev), malformed: () => {} } };
}

/** Every record through decodeArgs and VirtioAssembler.event (an argument object each). */
function viaObjects(data: Buffer, decls = te, traceEvents = TE): ParsedEvent[] {
  const { ctx, events } = collector(traceEvents);
  const asm = new VirtioAssembler(ctx, { format: 'qemu-simpletrace' });
  const dec = new SimpletraceDecoder(
    {
      event(t, h, buf, a, e, offset) {
        if (t.dropped) return;
        asm.event({ name: t.name, args: decodeArgs(t, buf, a, e), time: timeOf(h), tid: h.pid, evidence: { file: 'trace', offset } });
      },
      malformed: () => {},
    },
    decls,
  );
  dec.chunk(data, 0);
  dec.end();
  asm.end();
  return events;
}

/** The simpletrace parser itself (compiled fillers over the record bytes, ticks for count-only records). */
function viaParser(data: Buffer, traceEvents = TE): ParsedEvent[] {
  const { ctx, events } = collector(traceEvents);
  const p = qemuSimpletrace.createParser(ctx);
  for (let o = 0; o < data.length; o += 65536) p.chunk(data.subarray(o, o + 65536), o);
  p.end();
  return events.filter((e) => !(e.kind === 'diag' && e.code === 'trace-time-reversal'));
}

describe('compiled fillers agree with argument objects', () => {
  for (const name of ['trace-simple.simpletrace', 'trace-long73M.simpletrace.xz']) {
    it(`simpletrace parser on ${name}`, () => {
      const raw = readFileSync(join(R, 'simpletrace', name));
      const data = name.endsWith('.xz') ? execFileSync('xz', ['-dc'], { input: raw, maxBuffer: 1 << 28 }) : raw;
      const a = viaObjects(data);
      const b = viaParser(data);
      expect(a.filter((e) => e.kind === 'submit').length).toBeGreaterThan(100);
      expect(b.length).toBe(a.length);
      expect(canon(b)).toBe(canon(a));
    });
  }

  /** The log parser (compiled filler per layout, ticks) and argument objects on the same matches. */
  function logBothWays(lines: string[]): { one: ParsedEvent[]; two: ParsedEvent[]; used: number } {
    const one = collector();
    const parser = qemuLog.createParser(one.ctx);
    const two = collector();
    const asm = new VirtioAssembler(two.ctx, { format: 'qemu-log' });
    let used = 0;
    lines.forEach((text, i) => {
      const m = qemuLog.match!(text) as (PatternMatch & { event?: string; args?: Record<string, number | bigint | string>; tid?: number; time?: number }) | 'malformed' | null;
      if (!m || m === 'malformed') return;
      used++;
      const rec: LineRecord = { file: 'trace', line: i + 1, text, raw: text };
      parser.line(rec, m);
      asm.event({ name: m.event!, args: m.args!, time: m.time, tid: m.tid, evidence: { file: 'trace', line: i + 1 } });
    });
    parser.end();
    asm.end();
    return { one: one.events, two: two.events, used };
  }

  it('log parser on 60 random traces (every event the rebuild reads, events missing, resets, big pointers)', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const { one, two } = logBothWays(randomQemuLog(seed).split('\n'));
      for (const e of one) kinds.add(e.kind === 'diag' ? `diag:${e.code}` : e.kind);
      expect(canon(one), `seed ${seed}`).toBe(canon(two));
    }
    // What the traces exercised.
    for (const k of ['submit', 'complete', 'orphan', 'reset', 'diag:multireq-unmatched', 'diag:qcow2-low-write', 'diag:host-io', 'diag:io-error']) expect(kinds).toContain(k);
  });

  for (const name of ['run1-qcow2-none/host-trace.log', 'virtio-samples/qemu7.2-log-backend-stderr-no-timestamp.log']) {
    it(`log parser on ${name}`, () => {
      const lines = readFileSync(join(R, name), 'utf8').split('\n');
      const { one, two, used } = logBothWays(lines);
      expect(used).toBeGreaterThan(100);
      expect(one.filter((e) => e.kind === 'submit').length).toBeGreaterThan(10);
      expect(canon(one)).toBe(canon(two));
    });
  }
});

describe('pointers of 2^53 and more', () => {
  // Two elements that differ in their lowest bit: as doubles they would be one number.
  const VDEV = 0xffff888000001000n;
  const VQ = 0xffff888000002000n;
  const ELEMS = [0xffff888000003000n, 0xffff888000003001n];
  const hex = (v: bigint) => '0x' + v.toString(16);

  function check(requests: { id: string; device?: string; state: string; op: string; sector: number }[]): void {
    expect(requests.map((r) => r.id)).toEqual(ELEMS.map(hex));
    for (const [i, r] of requests.entries()) {
      expect(r.state).toBe('completed');
      expect(r.device).toBe(hex(VDEV));
      expect(r.op).toBe('read');
      expect(r.sector).toBe(100 + i * 8);
    }
  }

  it('simpletrace: two requests with their exact ids, both completed, nothing flagged', async () => {
    const ids = ['virtio_queue_notify', 'virtqueue_pop', 'virtio_blk_handle_read', 'virtio_blk_rw_complete', 'virtio_blk_req_complete', 'virtqueue_fill'];
    const b = new TraceBuilder(4);
    ids.forEach((n, i) => b.mapping(i, n));
    let ts = 1_000_000n;
    const ev = (name: string, args: bigint[]) => b.event(ids.indexOf(name), (ts += 1000n), 77, args);
    ev('virtio_queue_notify', [VDEV, 0n, VQ]);
    // Both popped before either completes: the table must keep them apart.
    ELEMS.forEach((e, i) => {
      ev('virtqueue_pop', [VQ, e, 2n, 1n]);
      ev('virtio_blk_handle_read', [VDEV, e, BigInt(100 + i * 8), 8n]);
    });
    for (const e of ELEMS) {
      ev('virtio_blk_rw_complete', [VDEV, e, 0n]);
      ev('virtio_blk_req_complete', [VDEV, e, 0n]);
      ev('virtqueue_fill', [VQ, e, 4097n, 0n]);
    }
    const r = await analyzeSources([bufferSource('trace-big-ptr', b.build())], { traceEvents: TE });
    expect(r.errors).toEqual([]);
    check(r.requests);
    expect(r.model.findings).toEqual([]);
    expect(r.model.stats.orphans).toBe(0);
  });

  it('log backend: the same lines give the same requests', async () => {
    const lines = [`9@1.000001:virtio_queue_notify vdev ${hex(VDEV)} n 0 vq ${hex(VQ)}`];
    let us = 2;
    const t = () => `9@1.${String(us++).padStart(6, '0')}:`;
    ELEMS.forEach((e, i) => {
      lines.push(`${t()}virtqueue_pop vq ${hex(VQ)} elem ${hex(e)} in_num 2 out_num 1`);
      lines.push(`${t()}virtio_blk_handle_read vdev ${hex(VDEV)} req ${hex(e)} sector ${100 + i * 8} nsectors 8`);
    });
    for (const e of ELEMS) {
      lines.push(`${t()}virtio_blk_rw_complete vdev ${hex(VDEV)} req ${hex(e)} ret 0`);
      lines.push(`${t()}virtio_blk_req_complete vdev ${hex(VDEV)} req ${hex(e)} status 0`);
      lines.push(`${t()}virtqueue_fill vq ${hex(VQ)} elem ${hex(e)} len 4097 idx 0`);
    }
    const r = await analyzeSources([bufferSource('big-ptr.log', lines.join('\n') + '\n')]);
    expect(r.errors).toEqual([]);
    check(r.requests);
    expect(r.model.findings).toEqual([]);
  });
});

describe('declarations the fillers must not trip over', () => {
  // Argument names and types as another QEMU build (or a hostile file) might declare them: both names of the
  // dataplane pointer, pointers and an int declared as strings, names of Object.prototype members, a missing
  // argument. The compiled fillers must convert exactly as the argument objects do.
  const DECLS = [
    'virtio_queue_notify(void *vdev, int n, void *vq) "vdev %p n %d vq %p"',
    'virtqueue_pop(const char *vq, void *elem, unsigned int in_num, unsigned int out_num) "vq %s elem %p in_num %u out_num %u"',
    'virtio_blk_handle_read(void *vdev, void *req, uint64_t sector, size_t nsectors) "vdev %p req %p sector %"PRIu64" nsectors %zu"',
    'virtio_blk_rw_complete(void *vdev, void *req, const char *ret) "vdev %p req %p ret %s"',
    'virtio_blk_req_complete(void *req, int status, int __proto__, int constructor) "req %p status %d %d %d"',
    'virtqueue_fill(void *vq, const void *elem, unsigned int len) "vq %p elem %p len %u"',
    'virtio_set_status(void *vdev, uint8_t val) "vdev %p val %u"',
    'virtio_blk_data_plane_start(void *dataplane, void *s) "dataplane %p s %p"',
    'virtio_blk_data_plane_stop(void *dataplane, void *s) "dataplane %p s %p"',
    'qcow2_handle_alloc(void *co, uint64_t guest_offset, void *host_offset, uint64_t bytes) "co %p guest_offset 0x%" PRIx64 " host_offset %p bytes 0x%" PRIx64',
  ];
  const names = DECLS.map((d) => d.slice(0, d.indexOf('(')));

  it('simpletrace: parser and argument objects give the same events', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkscope-decls-'));
    try {
      const file = join(dir, 'trace-events');
      writeFileSync(file, DECLS.join('\n') + '\n');
      const decls = parseTraceEvents(DECLS.join('\n'), file);
      const b = new TraceBuilder(4);
      names.forEach((n, i) => b.mapping(i, n));
      let ts = 1_000_000n;
      const ev = (name: string, args: (bigint | string)[]) => b.event(names.indexOf(name), (ts += 1000n), 5, args);
      ev('virtio_set_status', [0x5000n, 4n]);
      ev('virtio_blk_data_plane_start', [0x7000n, 0x7100n]);
      ev('virtio_queue_notify', [0x5000n, 0n, 0x6000n]);
      for (let i = 0n; i < 3n; i++) {
        const e = 0x9000n + i * 0x100n;
        ev('virtqueue_pop', ['0x6000', e, 2n, 1n]);
        ev('virtio_blk_handle_read', [0x5000n, e, 8n * i, 8n]);
        ev('qcow2_handle_alloc', [0x1n, 0n, i === 1n ? 0xffffffffffffffffn : 0x200n, 0x1000n]);
        ev('virtio_blk_rw_complete', [0x5000n, e, i === 2n ? '-5' : '0']);
        ev('virtio_blk_req_complete', [e, i === 2n ? 0xffffffffn : 0n, 1n, 2n]);
        ev('virtqueue_fill', [0x6000n, e, 4097n]);
      }
      ev('virtio_blk_data_plane_stop', [0x7000n, 0x7100n]);
      ev('virtio_set_status', [0x5000n, 0n]);
      const data = b.build();
      const a = viaObjects(data, decls, file);
      const p = viaParser(data, file);
      expect(a.filter((e) => e.kind === 'submit').length).toBe(3);
      expect(a.filter((e) => e.kind === 'complete').length).toBe(3);
      // The scenario is exercised: the vq given as text is the notified queue (device and queue known), the
      // ret given as text is an error, status 0xffffffff is -1, the dataplane stop and the reset are seen.
      const subs = a.flatMap((e) => (e.kind === 'submit' ? [e.req] : []));
      expect(subs.map((r) => [r.device, r.queue])).toEqual([['0x5000', 0], ['0x5000', 0], ['0x5000', 0]]);
      expect(subs.map((r) => r.info?.ret)).toEqual([0, 0, -5]);
      expect(a.flatMap((e) => (e.kind === 'complete' ? [e.status] : []))).toEqual(['ok', 'ok', '-1']);
      expect(a.filter((e) => e.kind === 'reset').map((e) => (e as { reason: string }).reason)).toEqual(['stop', 'reset']);
      expect(canon(p)).toBe(canon(a));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('event names', () => {
  it('past 65536 distinct names, the rest count under one name (memory does not grow with names)', async () => {
    const n = 65536 + 500;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`7@1.${String(i % 1000000).padStart(6, '0')}:zz_event_${i} x ${i}`);
    lines.push('7@2.000000:virtio_queue_notify vdev 0x10 n 0 vq 0x20');
    const r = await analyzeSources([bufferSource('names.log', lines.join('\n') + '\n')]);
    const qemu = (r.model as unknown as { statsExt: { qemu: { events: number; unknownEvents: number; byEvent: Record<string, number> } } }).statsExt.qemu;
    expect(qemu.events).toBe(n + 1);
    expect(qemu.unknownEvents).toBe(n);
    expect(Object.keys(qemu.byEvent).length).toBe(65536 + 2);
    expect(qemu.byEvent['(other event names)']).toBe(500);
    expect(qemu.byEvent.zz_event_0).toBe(1);
    // A name the rebuild acts on keeps its own count after them.
    expect(qemu.byEvent.virtio_queue_notify).toBe(1);
  });
});

