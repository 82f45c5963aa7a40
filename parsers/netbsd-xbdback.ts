// NetBSD xbdback, Xen 2.0 control-interface backend (sys/arch/xen/xen/xbdback.c), XENDEBUG_VBD output.
// Two eras share the ring line "xbdback op %d req_cons 0x%x req_prod 0x%x/0x%x resp_prod 0x%x/0x%x":
//  - rev 1.2 and the 2005 post (seed-004): frame_and_sects in 0x%lx, "start sect %d start %d size %d" (bytes),
//    one contiguous transfer over one VA page per segment  -> backend model 'window'.
//  - the 2005 "continuation" rewrite (rev 1.4.2.10 / 1.21.10.1): frame_and_sects in 0%lo (octal),
//    "start sect %d size %d" (sectors, per segment), "glue same page", "segment break", "flush sect",
//    "iodone", "end request %lu error=%d"; splits or glues segments -> 'per-segment'.
// Source: SPEC xen §1.1, §1.3, §3.6 (NetBSD/src xbdback.c rev 1.2, 1.4.2.10 daedbc53c4a3).
import type { TextFormatDef, ParserContext, LineRecord, PatternMatch } from './types.js';
import type { Evidence, Request } from '../src/model/types.js';
import { evidenceOf, detectByPatterns } from './match.js';
import { decodeFasDigits, hexNum, newXenRequest, sealSizes, xen2Op } from './xen/common.js';

const ID = 'netbsd-xbdback';
/** Xen 2.0 BLKIF_RING_SIZE. */
const RING_SIZE = 64;

const patterns: Record<string, RegExp> = {
  op: /^xbdback op (?<op>\d+) req_cons 0x(?<cons>[0-9a-fA-F]+) req_prod 0x(?<prod>[0-9a-fA-F]+)\/0x(?<prodm>[0-9a-fA-F]+) resp_prod 0x(?<rsp>[0-9a-fA-F]+)\/0x(?<rspm>[0-9a-fA-F]+)$/,
  fasHex: /^xbdback_io domain (?<dom>\d+): frame_and_sects\[(?<idx>\d+)\]=0x(?<fas>[0-9a-fA-F]+)$/,
  fasOct: /^xbdback_io domain (?<dom>\d+): frame_and_sects\[(?<idx>\d+)\]=0(?<fas>[0-7]+)$/,
  startBytes: /^xbdback_io domain (?<dom>\d+): start sect (?<sect>-?\d+) start (?<start>-?\d+) size (?<size>-?\d+)$/,
  startSectors: /^xbdback_io domain (?<dom>\d+): start sect (?<sect>-?\d+) size (?<size>-?\d+)$/,
  startReq: /^xbdback_io domain (?<dom>\d+): start re(?:qu|qy)est$/,
  endReq: /^xbdback_io domain (?<dom>\d+): end re(?:q|qu)est(?: (?<id>\d+))? error=(?<err>-?\d+)$/,
  glue: /^xbdback_io domain (?<dom>\d+): glue same page$/,
  appendPage: /^xbdback_io domain (?<dom>\d+): appending page 0(?<page>[0-7]+)$/,
  segBreak: /^xbdback_io domain (?<dom>\d+): segment break$/,
  hoping: /^xbdback_io domain (?<dom>\d+): hoping for sector (?<want>-?\d+); ?got (?<got>-?\d+)$/,
  flush: /^xbdback_io domain (?<dom>\d+): flush sect (?<sect>-?\d+) size (?<size>-?\d+) ptr 0x(?<ptr>[0-9a-fA-F]+)$/,
  iodone: /^xbdback_io domain (?<dom>\d+): iodone ptr 0x(?<ptr>[0-9a-fA-F]+)$/,
  nseg: /^xbdback_io domain (?<dom>\d+): (?<n>-?\d+) segments$/,
  unknownVbd: /^xbdback_io domain (?<dom>\d+): unknown vbd (?<vbd>-?\d+)$/,
  negSize: /^xbdback_io domain (?<dom>\d+): negative-size request$/,
  ioError: /^xbd IO domain (?<dom>\d+): error (?<err>-?\d+)$/,
  unknownOp: /^xbdback_evthandler domain (?<dom>\d+): unknown operation (?<op>-?\d+)$/,
  fragmented: /^xbdback: domain (?<dom>\d+) sending excessively fragmented I\/O$/,
  attach: /^xbd backend: (?<what>attach|detach) device (?<dev>\S+)(?: \(size (?<size>\d+)\))? for domain (?<dom>\d+)$/,
  backend: /^xbd backend (?<n>\d+) for domain (?<dom>\d+) (?:interrupting at irq|using event channel) (?<ch>\d+)$/,
  probe: /^xbdback_probe(?: domain (?<dom>\d+))?: (?<msg>.*)$/,
  doIo: /^xbdback_do_io vaddr 0x(?<vaddr>[0-9a-fA-F]+) (?<msg>.*)$/,
  misc: /^xbdback(?:_co_probe_gotio|_shm_callback|_pool_get|_trampoline|_map_shm|_init)\b:?(?<msg>.*)$/,
};

const PREFIX = /^(?:xbdback|xbd IO|xbd backend)/;

export const xbdbackXen2: TextFormatDef = {
  id: ID,
  kind: 'text',
  family: 'xen',
  title: 'NetBSD xbdback (Xen 2.0 backend, XENDEBUG_VBD)',
  description:
    'NetBSD Xen 2.0 block backend debug log: ring line, frame_and_sects per segment (hex in rev 1.2 and the 2005 post, octal after the 2005 rewrite), start/flush/end lines.',
  url: 'NetBSD/src sys/arch/xen/xen/xbdback.c rev 1.2, 1.4.2.10 (SPEC xen §1.1)',
  backendModel: 'window',
  fields: [
    { name: 'op', type: 'int', description: 'ring request operation (0 read, 1 write, 2 probe)' },
    { name: 'cons', type: 'hex', description: 'req_cons, free-running ring index' },
    { name: 'prod', type: 'hex', description: 'req_prod (free-running); prodm = req_prod & 63' },
    { name: 'rsp', type: 'hex', description: 'resp_prod (free-running); rspm = resp_prod & 63' },
    { name: 'dom', type: 'int', description: 'frontend domain id' },
    { name: 'idx', type: 'int', description: 'segment index' },
    { name: 'fas', type: 'hex', description: 'frame_and_sects: [31:12] machine frame, [5:3] first sector, [2:0] last sector (octal after the 2005 rewrite)' },
    { name: 'sect', type: 'int', description: 'start sector (request sector_number, or the running next sector after the rewrite)' },
    { name: 'start', type: 'int', description: 'byte offset of the transfer in the first page = first_sect(seg0)*512 (rev 1.2)' },
    { name: 'size', type: 'int', description: 'bytes in "start sect S start B size N"; sectors in "start sect S size N"' },
    { name: 'err', type: 'int', description: 'BLKIF_RSP_* status or errno' },
  ],
  patterns,
  prefix: PREFIX,
  samples: [
    { line: 'xbdback op 0 req_cons 0xcd40 req_prod 0xcd47/0x7 resp_prod 0xcd40/0x0', pattern: 'op', fields: { op: '0', cons: 'cd40', prod: 'cd47', prodm: '7', rsp: 'cd40', rspm: '0' } },
    { line: 'xbdback_io domain 2: frame_and_sects[1]=0x27f68009', pattern: 'fasHex', fields: { dom: '2', idx: '1', fas: '27f68009' } },
    { line: 'xbdback_io domain 2: frame_and_sects[0]=0237550000', pattern: 'fasOct', fields: { dom: '2', idx: '0', fas: '237550000' } },
    { line: 'xbdback_io domain 2: start sect 1 start 0 size 5632', pattern: 'startBytes', fields: { sect: '1', start: '0', size: '5632' } },
    { line: 'xbdback_io domain 2: start sect 524304 size 8', pattern: 'startSectors', fields: { sect: '524304', size: '8' } },
    { line: 'xbdback_io domain 2: start request', pattern: 'startReq' },
    { line: 'xbdback_io domain 2: start reqyest', pattern: 'startReq', comment: 'typo in rev 1.2' },
    { line: 'xbdback_io domain 2: end request 17 error=0', pattern: 'endReq', fields: { id: '17', err: '0' } },
    { line: 'xbdback_io domain 2: end reqest error=-1', pattern: 'endReq', fields: { err: '-1' }, comment: 'typo in rev 1.2' },
    { line: 'xbdback_io domain 2: glue same page', pattern: 'glue' },
    { line: 'xbdback_io domain 2: appending page 0237550000', pattern: 'appendPage', fields: { page: '237550000' } },
    { line: 'xbdback_io domain 2: segment break', pattern: 'segBreak' },
    { line: 'xbdback_io domain 2: hoping for sector 1000; got 2000', pattern: 'hoping', fields: { want: '1000', got: '2000' } },
    { line: 'xbdback_io domain 2: flush sect 524304 size 16384 ptr 0xc0a1b2c0', pattern: 'flush', fields: { sect: '524304', size: '16384' } },
    { line: 'xbdback_io domain 2: iodone ptr 0xc0a1b2c0', pattern: 'iodone' },
    { line: 'xbdback_io domain 2: 12 segments', pattern: 'nseg', fields: { n: '12' } },
    { line: 'xbdback_io domain 2: unknown vbd 3', pattern: 'unknownVbd' },
    { line: 'xbdback_io domain 2: negative-size request', pattern: 'negSize' },
    { line: 'xbd IO domain 2: error 5', pattern: 'ioError', fields: { err: '5' } },
    { line: 'xbdback_evthandler domain 2: unknown operation 7', pattern: 'unknownOp' },
    { line: 'xbdback: domain 2 sending excessively fragmented I/O', pattern: 'fragmented' },
    { line: 'xbd backend: attach device wd0a (size 2097152) for domain 2', pattern: 'attach' },
    { line: 'xbd backend 0 for domain 2 using event channel 5', pattern: 'backend' },
    { line: 'xbdback_probe: reply 1', pattern: 'probe' },
    { line: 'xbdback_do_io vaddr 0xc8a10000 bdata 0xc8a10200', pattern: 'doIo' },
    { line: 'xbdback_shm_callback: xen_shm error 12', pattern: 'misc' },
  ],
  detect(lines) {
    // Distinctive: the masked ring line or frame_and_sects lines.
    let strong = 0;
    for (const l of lines) if (l.startsWith('xbdback op ') ? patterns.op!.test(l) : l.includes('frame_and_sects[')) strong++;
    // Without the distinctive lines, the always-on messages alone still count, with less confidence.
    if (strong === 0) return detectByPatterns(xbdbackXen2, lines) * 0.5;
    return detectByPatterns(xbdbackXen2, lines);
  },
  createParser(ctx) {
    return new Xen2Parser(ctx);
  },
};

interface Pending {
  req: Request;
  era?: 'hex' | 'oct';
  /** "start sect S size N" lines of the rewrite (per segment). */
  starts: { sect: number; size: number }[];
  highBits: number[];
  splits: number;
  glued: number;
}

class Xen2Parser {
  private cur: Pending | undefined;
  private n = 0;

  constructor(private readonly ctx: ParserContext) {}

  line(rec: LineRecord, m: PatternMatch): void {
    const g = m.groups;
    const ev = evidenceOf(rec);
    const dom = g.dom !== undefined ? Number(g.dom) : undefined;
    switch (m.pattern) {
      case 'op': {
        this.finish();
        const ring = {
          reqCons: hexNum(g.cons),
          reqProd: hexNum(g.prod),
          rspProd: hexNum(g.rsp),
          reqProdMasked: hexNum(g.prodm),
          rspProdMasked: hexNum(g.rspm),
          ringSize: this.ctx.options.ringSize ?? RING_SIZE,
        };
        this.ctx.emit({ kind: 'ring', stream: `${this.ctx.file}:xbdback`, ring, evidence: [ev] });
        const { req } = this.newReq(ev, `0x${g.cons!.toLowerCase()}`);
        req.op = xen2Op(Number(g.op));
        req.ring = ring;
        return;
      }
      case 'fasHex':
      case 'fasOct': {
        const idx = Number(g.idx);
        const era = m.pattern === 'fasHex' ? 'hex' : 'oct';
        let p = this.cur;
        // A segment 0 after segments: a new request whose ring line was not logged (partial paste).
        if (!p || (idx === 0 && p.req.segments.length > 0) || (p.era && p.era !== era)) {
          this.finish();
          p = this.newReq(ev, `#${this.n + 1}`);
        } else p.req.evidence.push(ev);
        p.era = era;
        if (p.req.domain !== dom) {
          p.req.domain = dom;
          p.req.device = `dom${dom}`;
        }
        const d = decodeFasDigits(g.fas!, era === 'hex' ? 16 : 8);
        if (!d) {
          this.ctx.malformed(ev, 'frame_and_sects value does not parse');
          return;
        }
        if (d.highBits) p.highBits.push(idx);
        if (idx !== p.req.segments.length) {
          p.req.info = { ...(p.req.info ?? {}), segmentIndexGap: true };
        }
        p.req.segments.push({ frame: d.frame, firstSect: d.firstSect, lastSect: d.lastSect });
        return;
      }
      case 'startBytes': {
        const p = this.cur ?? this.newReq(ev, `#${this.n + 1}`);
        if (p !== this.cur) this.cur = p;
        else p.req.evidence.push(ev);
        p.req.domain = dom;
        p.req.device = `dom${dom}`;
        p.req.sector = Number(g.sect);
        p.req.loggedStartOffset = Number(g.start);
        p.req.loggedBytes = Number(g.size);
        return;
      }
      case 'startSectors': {
        const p = this.cur;
        if (!p) return;
        p.req.evidence.push(ev);
        if (p.starts.length === 0) p.req.sector = Number(g.sect);
        p.starts.push({ sect: Number(g.sect), size: Number(g.size) });
        return;
      }
      case 'startReq': {
        if (this.cur) this.cur.req.evidence.push(ev);
        this.finish();
        return;
      }
      case 'glue':
      case 'appendPage':
      case 'segBreak':
      case 'hoping':
      case 'flush':
      case 'iodone': {
        const p = this.cur;
        if (p) {
          p.req.evidence.push(ev);
          if (m.pattern === 'flush' || m.pattern === 'segBreak') p.splits++;
          if (m.pattern === 'glue') p.glued++;
        }
        return;
      }
      case 'endReq': {
        const err = Number(g.err);
        if (err !== 0) {
          this.ctx.emit({
            kind: 'diag',
            code: 'io-error',
            domain: dom,
            device: `dom${dom}`,
            message: `backend ended request${g.id ? ' ' + g.id : ''} with error ${err}`,
            data: { id: g.id, status: err },
            evidence: [ev],
          });
        }
        return;
      }
      case 'ioError':
        this.ctx.emit({ kind: 'diag', code: 'io-error', domain: dom, device: `dom${dom}`, message: `disk I/O error ${g.err} (errno)`, data: { errno: Number(g.err) }, evidence: [ev] });
        return;
      case 'nseg':
        this.ctx.emit({ kind: 'diag', code: 'bad-nseg', domain: dom, device: `dom${dom}`, message: `backend rejected a request with ${g.n} segments`, data: { n: Number(g.n), max: 11 }, evidence: [ev] });
        return;
      case 'negSize':
        this.ctx.emit({ kind: 'diag', code: 'negative-size', domain: dom, device: `dom${dom}`, message: 'backend rejected a negative-size request (a segment with first_sect > last_sect)', evidence: [ev] });
        return;
      case 'unknownVbd':
      case 'unknownOp':
      case 'fragmented':
        this.ctx.emit({ kind: 'diag', code: m.pattern === 'fragmented' ? 'fragmented' : m.pattern === 'unknownOp' ? 'unknown-op' : 'unknown-vbd', domain: dom, device: dom !== undefined ? `dom${dom}` : undefined, message: rec.text, evidence: [ev] });
        return;
      default:
        return; // attach/backend/probe/doIo/misc: recognised, informational
    }
  }

  end(): void {
    this.finish();
  }

  private newReq(ev: Evidence, id: string): Pending {
    this.n++;
    const req = newXenRequest(this.ctx.file, `${this.ctx.file}#xbd${this.n}`, id, ID, ev);
    const p: Pending = { req, starts: [], highBits: [], splits: 0, glued: 0 };
    this.cur = p;
    return p;
  }

  private finish(): void {
    const p = this.cur;
    this.cur = undefined;
    if (!p) return;
    const req = p.req;
    sealSizes(req);
    req.backendModel = p.era === 'oct' ? 'per-segment' : 'window';
    req.expectsCompletion = false;
    if (p.starts.length) {
      req.loggedBytes = p.starts.reduce((a, s) => a + s.size, 0) * 512;
      // "start sect" must advance by exactly the previous size (SPEC xen §5 item 6).
      const jumps: number[] = [];
      for (let i = 1; i < p.starts.length; i++) {
        if (p.starts[i]!.sect !== p.starts[i - 1]!.sect + p.starts[i - 1]!.size) jumps.push(i);
      }
      req.info = { ...(req.info ?? {}), startSectors: p.starts, ...(jumps.length ? { startSectorJumps: jumps } : {}) };
    }
    if (p.highBits.length) req.info = { ...(req.info ?? {}), fasHighBits: p.highBits };
    if (p.splits || p.glued) req.info = { ...(req.info ?? {}), splitIOs: p.splits, gluedSegments: p.glued };
    this.ctx.emit({ kind: 'submit', req });
    this.ctx.emit({ kind: 'retire', key: req.key });
  }
}
