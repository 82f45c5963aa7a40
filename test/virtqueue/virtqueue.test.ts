// qemu-virtqueue format and the repeated-page check, on real QEMU 7.2 dumps (samples/virtqueue) and on
// inputs derived from them (other transports, forward order, hostile edits), all through analyze().
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { analyze } from '../../src/analyze.js';
import { bufferSource, fileSource } from '../../src/input/sources.js';
import type { ParsedEvent, Request } from '../../src/model/types.js';
import { RULES } from '../../src/rules/index.js';
import type { Rule } from '../../src/rules/types.js';

const DIR = 'samples/virtqueue';

interface Run {
  requests: Request[];
  findings: { rule: string; severity: string; requestId?: string; data?: Record<string, unknown>; message: string }[];
  diags: Extract<ParsedEvent, { kind: 'diag' }>[];
  skipped: number;
  reasons: string[];
  formats: string[];
  errors: string[];
}

// A spy check that records diagnostics (the model only counts them); added for the duration of a run.
const diagSink: Extract<ParsedEvent, { kind: 'diag' }>[] = [];
const spy: Rule = {
  meta: { id: 'test-diag-spy', title: 'spy', group: 'io', defaultSeverity: 'info', summary: 'spy', families: ['virtio'] },
  create: () => ({
    event(ev) {
      if (ev.kind === 'diag') diagSink.push(ev);
    },
  }),
};

async function run(source: ReturnType<typeof bufferSource>): Promise<Run> {
  diagSink.length = 0;
  RULES.push(spy);
  try {
    const requests: Request[] = [];
    const r = await analyze([source], { options: {}, sink: { request: (q) => requests.push(q) } });
    requests.sort((a, b) => a.seq - b.seq);
    const i = r.inputs[0]!;
    return {
      requests,
      findings: r.model.findings,
      diags: [...diagSink],
      skipped: i.skipped,
      reasons: i.skippedSamples.map((s) => s.reason),
      formats: i.formats,
      errors: r.errors,
    };
  } finally {
    RULES.splice(RULES.indexOf(spy), 1);
  }
}

const runFile = (name: string) => run(fileSource(`${DIR}/${name}`));
const runText = (text: string | Buffer, name = 'dump.txt') => run(bufferSource(name, text, 4096));

function tally(findings: { rule: string; severity: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of findings) out[`${f.rule}/${f.severity}`] = (out[`${f.rule}/${f.severity}`] ?? 0) + 1;
  return out;
}

/** What a request looks like without file-specific keys and evidence. */
function shape(reqs: Request[]) {
  return reqs.map((r) => ({ id: r.id, device: r.device, queue: r.queue, op: r.op, sector: r.sector, bytes: r.bytes, segments: r.segments, pos: r.info?.availPos }));
}

const read = (name: string) => readFileSync(`${DIR}/${name}`, 'utf8');

describe('virtqueue samples match their expected findings', () => {
  const cases = readdirSync(DIR).filter((f) => f.endsWith('.expected.json'));
  it('every sample has expectations and a provenance note', () => {
    const inputs = readdirSync(DIR).filter((f) => /\.(txt|jsonl)$/.test(f));
    expect(inputs.length).toBeGreaterThanOrEqual(5);
    for (const f of inputs) {
      const base = f.replace(/\.(txt|jsonl)$/, '');
      expect(existsSync(`${DIR}/${base}.expected.json`), base).toBe(true);
      expect(existsSync(`${DIR}/${base}.md`), base).toBe(true);
    }
  });
  for (const c of cases) {
    const base = c.replace(/\.expected\.json$/, '');
    it(base, async () => {
      const input = readdirSync(DIR).find((f) => f.startsWith(base + '.') && /\.(txt|jsonl)$/.test(f))!;
      const exp = JSON.parse(read(c)) as { requests: number; findings: { rule: string; severity: string; count: number }[] };
      const r = await runFile(input);
      expect(r.errors).toEqual([]);
      expect(r.formats).toEqual(['qemu-virtqueue']);
      expect(r.skipped).toBe(0);
      expect(r.requests).toHaveLength(exp.requests);
      const want: Record<string, number> = {};
      for (const f of exp.findings) want[`${f.rule}/${f.severity}`] = f.count;
      expect(tally(r.findings)).toEqual(want);
    });
  }
});

describe('live chains rebuilt from a dump', () => {
  it('decodes the xp header and puts header, data and status in device order (QEMU 7.2 lists them reversed)', async () => {
    const r = await runFile('hmp-xp-round1-vblk0-q1.txt');
    const sgio = r.requests.find((q) => q.op === 'write')!;
    expect(sgio.device).toBe('/machine/peripheral/vblk0/virtio-backend');
    expect(sgio.queue).toBe(1);
    expect(sgio.sector).toBe(98368);
    expect(sgio.sectors).toBe(32);
    expect(sgio.bytes).toBe(16384);
    expect(sgio.segments).toEqual([
      { addr: '0x1fd31790', len: 16, write: false, role: 'header' },
      ...Array.from({ length: 4 }, () => ({ addr: '0x2d8c000', len: 4096, write: false, role: 'data' })),
      { addr: '0x1fd317a0', len: 1, write: true, role: 'status' },
    ]);
    expect(sgio.info).toMatchObject({ head: 7, availPos: 486, listedOrder: 'reversed', header: { type: 1, ioprio: 0x4004, sector: 98368 }, statusByte: 0 });
    expect(sgio.expectsCompletion).toBe(false);
    // Reads: device-writable data, header decoded to type 0.
    const reads = r.requests.filter((q) => q.op === 'read');
    expect(reads.map((q) => q.sector)).toEqual([133120, 9472, 9600]);
    for (const q of reads) expect(q.segments.slice(1, -1).every((s) => s.write === true && s.role === 'data')).toBe(true);
  });

  it('matches the README decoded headers (vblk1 direct chains)', async () => {
    const r = await runFile('hmp-xp-round1-vblk1-q0.txt');
    const byHdr = new Map(r.requests.map((q) => [q.segments[0]!.addr, q]));
    expect(byHdr.get('0x101c8090')).toMatchObject({ op: 'write', sector: 17920 });
    expect(byHdr.get('0x101c7d90')).toMatchObject({ op: 'read', sector: 133120 });
    // Status right after the header: same page, never a repeated page.
    for (const q of r.requests) expect(BigInt(q.segments.at(-1)!.addr!) - BigInt(q.segments[0]!.addr!)).toBe(16n);
    expect(r.findings).toEqual([]);
  });

  it('counts stale slots in a diagnostic and never turns them into requests; snapshots are retired, not never-completed', async () => {
    const r = await runFile('hmp-round2-vblk1-q0.txt');
    expect(r.requests.map((q) => q.info?.availPos)).toEqual([480, 481, 482, 483]);
    expect(r.requests.every((q) => q.state === 'retired')).toBe(true);
    expect(r.findings.map((f) => f.rule)).not.toContain('never-completed');
    const d = r.diags.find((x) => x.code === 'virtqueue-snapshot')!;
    expect(d.data).toMatchObject({ live: 4, stale: 24, usedIdx: 480, lastAvailIdx: 484 });
    expect(r.diags.filter((x) => x.code === 'virtqueue-stale-slot')).toHaveLength(24);
    const f = r.findings.find((x) => x.rule === 'repeated-page')!;
    expect(f.requestId).toBe('q0:14');
    expect(f.data).toMatchObject({ page: '0x2fcb000', count: 4, segments: [1, 2, 3, 4], overlap: true });
  });

  it('HMP text and QMP JSON of the same dump give the same requests', async () => {
    const hmp = await runFile('hmp-round2-vblk1-q0.txt');
    const qmp = await runFile('qmp-round2-vblk1-q0.jsonl');
    expect(qmp.requests.length).toBe(4);
    expect(shape(qmp.requests)).toEqual(shape(hmp.requests));
  });

  it('takes a forward-ordered chain (a QEMU that lists head first) the same way', async () => {
    const text = read('hmp-round2-vblk1-q0.txt');
    // Reverse every block of descriptor lines and move the trailing comma.
    const lines = text.split('\n');
    const out: string[] = [];
    for (let i = 0; i < lines.length; ) {
      if (!/^\s+addr 0x/.test(lines[i]!)) {
        out.push(lines[i++]!);
        continue;
      }
      const block: string[] = [];
      while (i < lines.length && /^\s+addr 0x/.test(lines[i]!)) block.push(lines[i++]!.replace(/,$/, ''));
      block.reverse();
      out.push(...block.map((l, k) => (k < block.length - 1 ? l + ',' : l)));
    }
    const fwd = await runText(out.join('\n'));
    const rev = await runFile('hmp-round2-vblk1-q0.txt');
    expect(shape(fwd.requests)).toEqual(shape(rev.requests));
    expect(fwd.requests.every((q) => q.info?.listedOrder === 'forward')).toBe(true);
  });

  it('reads HMP text carried in QMP human-monitor-command replies', async () => {
    const text = read('hmp-xp-round1-vblk0-q1.txt');
    const blocks: { cmd: string; out: string[] }[] = [];
    for (const l of text.split('\n')) {
      if (l.startsWith('(qemu) ')) blocks.push({ cmd: l.slice(7), out: [] });
      else if (blocks.length && !l.startsWith('#')) blocks.at(-1)!.out.push(l);
    }
    const jsonl = blocks
      .map((b) => JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': b.cmd } }) + '\n' + JSON.stringify({ return: b.out.join('\r\n') + '\r\n' }))
      .join('\n');
    const viaQmp = await runText(jsonl, 'hmp-via-qmp.jsonl');
    const direct = await runFile('hmp-xp-round1-vblk0-q1.txt');
    expect(viaQmp.requests.length).toBe(4);
    expect(shape(viaQmp.requests)).toEqual(shape(direct.requests));
    expect(tally(viaQmp.findings)).toEqual({ 'repeated-page/warning': 1 });
  });

  it('stitches pretty-printed (multi-line) QMP replies', async () => {
    const pretty = read('qmp-round2-vblk1-q0.jsonl')
      .split('\n')
      .map((l) => (l.startsWith('{') ? JSON.stringify(JSON.parse(l), null, 2) : l))
      .join('\n');
    const r = await runText(pretty, 'pretty.json');
    const ref = await runFile('qmp-round2-vblk1-q0.jsonl');
    expect(r.skipped).toBe(0);
    expect(shape(r.requests)).toEqual(shape(ref.requests));
  });

  it('reads a qmp-shell transcript ("(QEMU) cmd key=value" and pretty replies)', async () => {
    const lines = read('qmp-round2-vblk1-q0.jsonl').split('\n');
    const out: string[] = [];
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const o = JSON.parse(l) as { execute?: string; arguments?: Record<string, unknown> };
      if (o.execute) out.push(`(QEMU) ${o.execute}${Object.entries(o.arguments ?? {}).map(([k, v]) => ` ${k}=${String(v)}`).join('')}`);
      else out.push(JSON.stringify(o, null, 4));
    }
    const r = await runText(out.join('\n'), 'qmp-shell.txt');
    const ref = await runFile('qmp-round2-vblk1-q0.jsonl');
    expect(r.skipped).toBe(0);
    expect(shape(r.requests)).toEqual(shape(ref.requests));
  });

  it('reads QMP traffic written with "-> " / "<- " arrows', async () => {
    const arrows = read('qmp-round2-vblk1-q0.jsonl')
      .split('\n')
      .map((l) => (l.startsWith('{"execute"') ? '-> ' + l : l.startsWith('{') ? '<- ' + l : l))
      .join('\n');
    const r = await runText(arrows, 'arrows.txt');
    const ref = await runFile('qmp-round2-vblk1-q0.jsonl');
    expect(r.skipped).toBe(0);
    expect(shape(r.requests)).toEqual(shape(ref.requests));
  });

  it('reads multi-line QMP in the QAPI documentation style (arrows, indented, nested arrays)', async () => {
    const text = [
      '-> { "execute": "x-query-virtio-queue-status",',
      '     "arguments": { "path": "/machine/peripheral/vblk1/virtio-backend",',
      '                    "queue": 0 }',
      '   }',
      '<- { "return": {',
      '         "signalled-used": 480, "inuse": 1, "queue-index": 0,',
      '         "last-avail-idx": 481, "used-idx": 480, "shadow-avail-idx": 481,',
      '         "vring-num": 256 }',
      '   }',
      '-> { "execute": "x-query-virtio-queue-element",',
      '     "arguments": { "path": "/machine/peripheral/vblk1/virtio-backend",',
      '                    "queue": 0,',
      '                    "index": 224 }',
      '   }',
      '<- { "return": {',
      '         "index": 45,',
      '         "name": "virtio-blk",',
      '         "descs": [',
      '             {',
      '                 "flags": ["write"],',
      '                 "len": 1,',
      '                 "addr": 270303008',
      '             },',
      '             {',
      '                 "flags": ["next"],',
      '                 "len": 4096,',
      '                 "addr": 1234567',
      '             },',
      '             {',
      '                 "flags": ["next"],',
      '                 "len": 16,',
      '                 "addr": 270302992',
      '             }',
      '         ],',
      '         "avail": { "idx": 481, "flags": 0, "ring": 45 },',
      '         "used": { "idx": 480, "flags": 0 }',
      '     }',
      '   }',
    ].join('\n');
    const r = await runText(text, 'qapi-doc.txt');
    expect(r.skipped).toBe(0);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.segments).toEqual([
      { addr: '0x101c7f10', len: 16, write: false, role: 'header' },
      { addr: '0x12d687', len: 4096, write: false, role: 'data' },
      { addr: '0x101c7f20', len: 1, write: true, role: 'status' },
    ]);
  });

  it('reads a dump pasted into a mail (quoted, CRLF)', async () => {
    const mail = 'Here is the dump:\r\n' + read('hmp-xp-round2-vblk1-q1.txt').split('\n').map((l) => '> ' + l).join('\r\n');
    const r = await runText(mail, 'mail.txt');
    const ref = await runFile('hmp-xp-round2-vblk1-q1.txt');
    expect(shape(r.requests)).toEqual(shape(ref.requests));
    expect(tally(r.findings)).toEqual({ 'repeated-page/warning': 1 });
  });

  it('takes commands from a raw monitor socket echo (escape sequences)', async () => {
    const esc = (cmd: string) => {
      let s = '(qemu) ';
      for (let i = 1; i <= cmd.length; i++) s += cmd.slice(0, i) + '\x1b[K' + '\x1b[D'.repeat(i);
      return s.replace(/(\x1b\[D)+$/, '') + '\r';
    };
    const raw = read('hmp-raw-socket.txt');
    const body = read('hmp-round2-vblk1-q0.txt')
      .split('\n')
      .map((l) => (l.startsWith('(qemu) ') ? esc(l.slice(7)) : l + '\r'))
      .join('\n');
    const r = await runText(raw + '\n' + body, 'raw.txt');
    expect(r.skipped).toBe(0);
    expect(r.requests.length).toBe(4);
    expect(tally(r.findings)).toEqual({ 'repeated-page/warning': 1 });
  });
});

describe('hostile dump inputs', () => {
  it('a truncated QMP reply is reported with its line; the rest is analysed', async () => {
    const lines = read('qmp-round2-vblk1-q0.jsonl').split('\n');
    const idx = lines.findIndex((l) => l.includes('"index": 14,') && l.startsWith('{"return"'));
    expect(idx).toBeGreaterThan(0);
    lines[idx] = lines[idx]!.slice(0, Math.floor(lines[idx]!.length / 2));
    const r = await runText(lines.join('\n'), 'cut.jsonl');
    expect(r.skipped).toBe(1);
    expect(r.reasons[0]).toMatch(/JSON/);
    expect(r.requests.length).toBe(3); // the sgio request (head 14) was in the cut reply
    expect(r.findings).toEqual([]);
  });

  it('garbage, binary noise and a huge line do not stop it', async () => {
    const good = read('hmp-xp-round2-vblk1-q1.txt');
    const noise = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));
    const huge = '{"return": "' + 'A'.repeat(3 << 20);
    const input = Buffer.concat([Buffer.from(good.slice(0, 200) + '\n'), noise, Buffer.from('\n' + huge + '\n' + good)]);
    const r = await runText(input, 'noisy.txt');
    expect(r.requests.length).toBe(5);
    expect(tally(r.findings)).toEqual({ 'repeated-page/warning': 1 });
    expect(r.reasons.every((s) => s.length < 200 && !s.includes('\n'))).toBe(true);
  });

  it('absurd numbers are rejected as malformed, never crash, never become requests', async () => {
    const status = (used: string, last: string) =>
      [
        '(qemu) info virtio-queue-status /machine/peripheral/vblk9/virtio-backend 0',
        '/machine/peripheral/vblk9/virtio-backend:',
        '  device_name:          virtio-blk',
        '  queue_index:          0',
        `  used_idx:             ${used}`,
        `  last_avail_idx:       ${last}`,
        '  VRing:',
        '    num:          256',
      ].join('\n');
    const elem = (pos: string, descs: string[]) =>
      [
        `(qemu) info virtio-queue-element /machine/peripheral/vblk9/virtio-backend 0 ${pos}`,
        '/machine/peripheral/vblk9/virtio-backend:',
        '  device_name: virtio-blk',
        '  index:   3',
        '  desc:',
        '    descs:',
        ...descs.map((d) => '        ' + d),
      ].join('\n');
    const text = [
      status('99999999999999999999', '5'),
      status('4', '6'),
      elem('4', ['addr 0x1000 len 1 (write),', 'addr 0x2000 len 99999999999 (next),', 'addr 0xff0 len 16 (next)']),
      elem('5', ['addr 0x1000 len 1 (write),', 'addr 0x123456789abcdef0123 len 4096 (next),', 'addr 0xff0 len 16 (next)']),
      elem('70000', ['addr 0x1000 len 1 (write),', 'addr 0xff0 len 16 (next)']),
      elem('4', ['addr 0x1000 len -1 (write, next),', 'addr 0xff0 len 16 (next)']),
      JSON.stringify({ execute: 'x-query-virtio-queue-element', arguments: { path: '/machine/peripheral/vblk9/virtio-backend', queue: 0, index: 1e20 } }),
      JSON.stringify({ return: { index: 1, descs: [{ addr: -5, len: 1e300, flags: ['write'] }] } }),
      '{"return": {"index": 1, "descs": [{"addr": 1' + '9'.repeat(400) + ', "len": 1, "flags": []}]}}',
    ].join('\n');
    const r = await runText(text, 'absurd.txt');
    expect(r.requests).toEqual([]);
    expect(r.skipped).toBeGreaterThanOrEqual(4);
    for (const reason of r.reasons) expect(reason).toMatch(/range|number|index|JSON|parse/);
  });

  it('elements without a known position, queue or device are counted, not requested', async () => {
    // A bare QMP reply (no request line) and an element queried without index (= next to pop).
    const lines = read('qmp-round2-vblk1-q0.jsonl').split('\n');
    const reply = lines.find((l) => l.startsWith('{"return": {"index": 14,'))!;
    const r = await runText(reply + '\n', 'bare.jsonl');
    expect(r.requests).toEqual([]);
    expect(r.diags.map((d) => d.code)).toContain('virtqueue-unplaced-elements');
  });
});

// --- repeated-page on synthetic dumps built with the real HMP layout ---------------------------------------

interface D {
  addr: number;
  len: number;
  write?: boolean;
}

/** One live element at avail position 10 of a queue whose window is [10, 11); descriptors in device order. */
function dump(chain: D[], opts: { type?: number; pos?: number } = {}): string {
  const pos = opts.pos ?? 10;
  const listed = [...chain].reverse(); // QEMU 7.2 order
  const descLines = listed.map((d, i) => {
    const flags = [d.write ? 'write' : '', i > 0 ? 'next' : ''].filter(Boolean).join(', ');
    return `        addr 0x${d.addr.toString(16)} len ${d.len}${flags ? ` (${flags})` : ''}${i < listed.length - 1 ? ',' : ''}`;
  });
  const out = [
    '(qemu) info virtio-queue-status /machine/peripheral/vblk0/virtio-backend 0',
    '/machine/peripheral/vblk0/virtio-backend:',
    '  device_name:          virtio-blk',
    '  queue_index:          0',
    '  inuse:                1',
    '  used_idx:             10',
    '  last_avail_idx:       11',
    '  shadow_avail_idx:     11',
    '  VRing:',
    '    num:          256',
    `(qemu) info virtio-queue-element /machine/peripheral/vblk0/virtio-backend 0 ${pos}`,
    '/machine/peripheral/vblk0/virtio-backend:',
    '  device_name: virtio-blk',
    '  index:   5',
    '  desc:',
    '    descs:',
    ...descLines,
    '  avail:',
    '    flags: 0',
    '    idx:   11',
    '    ring:  5',
    '  used:',
    '    flags: 0',
    '    idx:   10',
  ];
  if (opts.type !== undefined) {
    const h = chain[0]!.addr;
    const b = [opts.type, 0, 0, 0, 0x04, 0x40, 0, 0, 0x00, 0x10, 0, 0, 0, 0, 0, 0].map((x) => '0x' + x.toString(16).padStart(2, '0'));
    out.push(`(qemu) xp /16xb 0x${h.toString(16)}`);
    out.push(`${h.toString(16).padStart(16, '0')}: ${b.slice(0, 8).join(' ')}`);
    out.push(`${(h + 8).toString(16).padStart(16, '0')}: ${b.slice(8).join(' ')}`);
  }
  return out.join('\n') + '\n';
}

const HDR = 0x101c8210;
const hdr: D = { addr: HDR, len: 16 };
const st: D = { addr: HDR + 16, len: 1, write: true };

describe('repeated-page', () => {
  it('read (decoded header) with a page used twice: error', async () => {
    const r = await runText(dump([hdr, { addr: 0x2d0d000, len: 4096, write: true }, { addr: 0x2d0d000, len: 4096, write: true }, st], { type: 0 }));
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]).toMatchObject({ op: 'read', sector: 4096 });
    expect(tally(r.findings)).toEqual({ 'repeated-page/error': 1 });
  });

  it('write (decoded header) with a page used twice: warning', async () => {
    const r = await runText(dump([hdr, { addr: 0x2d0d000, len: 4096 }, { addr: 0x2d0d000, len: 4096 }, st], { type: 1 }));
    expect(tally(r.findings)).toEqual({ 'repeated-page/warning': 1 });
  });

  it('without header bytes, device-writable repeated data is an error', async () => {
    const r = await runText(dump([hdr, { addr: 0x2d0d000, len: 4096, write: true }, { addr: 0x2d0d000, len: 4096, write: true }, st]));
    expect(r.requests[0]!.op).toBe('unknown');
    expect(tally(r.findings)).toEqual({ 'repeated-page/error': 1 });
  });

  it('two disjoint buffers in one page are flagged without overlap', async () => {
    const r = await runText(dump([hdr, { addr: 0x3000000, len: 512, write: true }, { addr: 0x3000800, len: 512, write: true }, st], { type: 0 }));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]!.data).toMatchObject({ overlap: false, count: 2, page: '0x3000000' });
  });

  it('header and status sharing a page, or data in the header page once, do not trigger', async () => {
    const a = await runText(dump([hdr, { addr: 0x2e23000, len: 512, write: true }, st], { type: 0 }));
    const b = await runText(dump([hdr, { addr: HDR + 0x100, len: 512, write: true }, { addr: 0x5000000, len: 8192, write: true }, st], { type: 0 }));
    const c = await runText(dump([hdr, { addr: 0x6000000, len: 65536 }, { addr: 0x6010000, len: 4096 }, st], { type: 1 }));
    for (const r of [a, b, c]) {
      expect(r.requests).toHaveLength(1);
      expect(r.findings).toEqual([]);
    }
  });

  it('a stale slot with a repeated page is not a request and is not flagged', async () => {
    const r = await runText(dump([hdr, { addr: 0x2d0d000, len: 4096 }, { addr: 0x2d0d000, len: 4096 }, st], { pos: 200 }));
    expect(r.requests).toEqual([]);
    expect(r.findings).toEqual([]);
    expect(r.diags.find((d) => d.code === 'virtqueue-snapshot')?.data).toMatchObject({ stale: 1, live: 0 });
  });
});
