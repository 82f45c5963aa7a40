// NetBSD xbdback_xenbus (Xen 3+ grant-table backend, sys/arch/xen/xen/xbdback_xenbus.c), XENDEBUG_VBD output
// and always-on printfs. Ring line carries the request id; segments are "first,last_sect[i]=0%o,0%o" followed by
// "appending grant %u"; completions are "end request %llu error=%d".
// Revisions 1.24/1.65 split a segment not at a page boundary into a new I/O (safe, 'per-segment');
// 1.77 (2020) maps grants to consecutive VA like Xen 2 rev 1.2 ('window'); 1.101 (2024) bounces. Default:
// 'per-segment'; `--backend-model window` for 1.77 backends. Source: SPEC xen §1.2, §1.3.
import type { TextFormatDef, ParserContext, LineRecord, PatternMatch } from './types.js';
import type { Evidence, Request } from '../src/model/types.js';
import { evidenceOf, detectByPatterns } from './match.js';
import { blkifStatus, hexNum, newXenRequest, sealSizes, xen3Op } from './xen/common.js';

const ID = 'netbsd-xbdback-xenbus';
/** One 4 KiB ring page of 112-byte (64-bit) or 108-byte (32-bit) entries rounds down to 32 (SPEC xen §3.4). */
const RING_SIZE = 32;

const patterns: Record<string, RegExp> = {
  op: /^xbdback op (?<op>\d+) req_cons 0x(?<cons>[0-9a-fA-F]+) req_prod 0x(?<prod>[0-9a-fA-F]+) resp_prod 0x(?<rsp>[0-9a-fA-F]+) id (?<id>\d+)$/,
  seg: /^xbdback_io domain (?<dom>\d+): first,last_sect\[(?<idx>\d+)\]=0(?<first>[0-7]*),0(?<last>[0-7]*)$/,
  grant: /^xbdback_io domain (?<dom>\d+): appending grant (?<gref>\d+)$/,
  startSectors: /^xbdback_io domain (?<dom>\d+): start sect (?<sect>-?\d+) size (?<size>-?\d+)$/,
  hoping: /^xbdback_io domain (?<dom>\d+): hoping for sector (?<want>-?\d+); ?got (?<got>-?\d+)$/,
  segBreak: /^xbdback_io domain (?<dom>\d+): segment break$/,
  flush: /^xbdback_io domain (?<dom>\d+): flush sect (?<sect>-?\d+) size (?<size>-?\d+) ptr 0x(?<ptr>[0-9a-fA-F]+)$/,
  iodone: /^xbdback_io domain (?<dom>\d+): iodone ptr 0x(?<ptr>[0-9a-fA-F]+)$/,
  endReq: /^xbdback_io domain (?<dom>\d+): end request (?<id>\d+) error=(?<err>-?\d+)$/,
  nseg: /^xbdback_io domain (?<dom>\d+): (?<n>-?\d+) segments$/,
  negSize: /^xbdback_io domain (?<dom>\d+): negative-size request \((?<last>-?\d+) (?<first>-?\d+)\)$/,
  wouldGlue: /^xbdback_io: would maybe glue same page sec (?<sec>\d+) \((?<a>\d+)->(?<b>\d+)\)$/,
  ioError: /^xbd IO domain (?<dom>\d+): error (?<err>-?\d+)$/,
  named: /^(?<inst>xbdb\d+i\d+): (?<msg>invalid number of segments: (?<n>-?\d+)|unknown operation (?<op>-?\d+)|unknown ind operation (?<iop>-?\d+)|too many indirect segments|too many segments|invalid number of segments|GNTTABOP_copy failed|invalid segment sectors (?<first>-?\d+) (?<last>-?\d+)|domain is sending excessively fragmented I\/O)$/,
  mapShm: /^xbdback_map_shm map grant (?<grefs>(?:\d+ ?)*)handle ?(?<handles>(?:\s*\d+)*)\s*$/,
  unmapShm: /^xbdback_unmap_shm handle (?<handles>(?:\d+ ?)*)$/,
  shmError: /^xbdback_map_shm: xen_shm error (?<err>-?\d+)\s*$/,
  connect: /^xbdback (?<inst>\S+): (?<msg>connect .*|new state \d+|can't map grant ref(?:: (?<err>-?\d+)\/(?<st>-?\d+))?|invalid frontend state \d+|unmap_grant_ref failed: -?\d+|can't VOP_OPEN .*)$/,
  backendInfo: /^xbd backend (?:domain (?<dom>\d+) handle (?<h>0x[0-9a-fA-F]+|\d+) \((?<hd>\d+)\)|0x(?<h2>[0-9a-fA-F]+) for domain (?<dom2>\d+)) using event channel (?<ch>\d+), protocol (?<proto>\S+)$/,
  attach: /^xbd backend: (?:attach|detach) device (?<dev>\S+)(?: \(size (?<size>\d+)\))? for domain (?<dom>\d+)$/,
  blkbackEvtchn: /^blkback (?<inst>\S+): can't get event channel: (?<err>-?\d+)$/,
  unknownProto: /^xbd domain (?<dom>\d+): unknown proto (?<proto>\S+)$/,
};

const PREFIX = /^(?:xbdback|xbd IO|xbd backend|xbd domain|xbdb\d+i\d+:|blkback )/;

export const xbdbackXenbus: TextFormatDef = {
  id: ID,
  kind: 'text',
  family: 'xen',
  title: 'NetBSD xbdback_xenbus (Xen 3+ backend)',
  description: 'NetBSD Xen 3+ grant-table block backend: ring line with request id, first,last_sect and appending grant per segment, end request with status.',
  url: 'NetBSD/src sys/arch/xen/xen/xbdback_xenbus.c rev 1.24.2.1, 1.65, 1.77.2.3, 1.101.4.2 (SPEC xen §1.2)',
  backendModel: 'per-segment',
  fields: [
    { name: 'op', type: 'int', description: 'blkif operation (0 read, 1 write, 2 barrier, 3 flush, 5 discard, 6 indirect)' },
    { name: 'cons', type: 'hex', description: 'req_cons' },
    { name: 'prod', type: 'hex', description: 'req_prod seen by the backend' },
    { name: 'rsp', type: 'hex', description: 'rsp_prod_pvt (backend private response producer)' },
    { name: 'id', type: 'u64', description: 'request id chosen by the frontend' },
    { name: 'first', type: 'octal', description: 'first sector of the segment in its page' },
    { name: 'last', type: 'octal', description: 'last sector of the segment in its page' },
    { name: 'gref', type: 'int', description: 'grant reference of the segment page' },
    { name: 'err', type: 'int', description: 'BLKIF_RSP_* (0 ok, -1 error, -2 eopnotsupp) or raw errno' },
  ],
  patterns,
  prefix: PREFIX,
  samples: [
    { line: 'xbdback op 0 req_cons 0x12 req_prod 0x14 resp_prod 0x11 id 7', pattern: 'op', fields: { op: '0', cons: '12', prod: '14', rsp: '11', id: '7' } },
    { line: 'xbdback_io domain 3: first,last_sect[0]=00,07', pattern: 'seg', fields: { dom: '3', idx: '0', first: '0', last: '7' } },
    { line: 'xbdback_io domain 3: appending grant 812', pattern: 'grant', fields: { gref: '812' } },
    { line: 'xbdback_io domain 3: start sect 2048 size 8', pattern: 'startSectors', fields: { sect: '2048', size: '8' } },
    { line: 'xbdback_io domain 3: hoping for sector 2056; got 4096', pattern: 'hoping' },
    { line: 'xbdback_io domain 3: segment break', pattern: 'segBreak' },
    { line: 'xbdback_io domain 3: flush sect 2048 size 4096 ptr 0xffffa0001234', pattern: 'flush' },
    { line: 'xbdback_io domain 3: iodone ptr 0xffffa0001234', pattern: 'iodone' },
    { line: 'xbdback_io domain 3: end request 7 error=0', pattern: 'endReq', fields: { id: '7', err: '0' } },
    { line: 'xbdback_io domain 3: 12 segments', pattern: 'nseg', fields: { n: '12' } },
    { line: 'xbdback_io domain 3: negative-size request (2 5)', pattern: 'negSize' },
    { line: 'xbd IO domain 3: error 5', pattern: 'ioError' },
    { line: 'xbdb3i51712: invalid number of segments: 12', pattern: 'named', fields: { inst: 'xbdb3i51712', n: '12' } },
    { line: 'xbdb3i51712: invalid segment sectors 3 9', pattern: 'named', fields: { first: '3', last: '9' } },
    { line: 'xbdback_map_shm map grant 812 813 handle 4 5 ', pattern: 'mapShm', fields: { grefs: '812 813 ' } },
    { line: 'xbdback_unmap_shm handle 4 5 ', pattern: 'unmapShm' },
    { line: 'xbdback backend/vbd/3/51712: connect ring-ref 8', pattern: 'connect' },
    { line: "xbdback backend/vbd/3/51712: can't map grant ref: -1/-3", pattern: 'connect', fields: { err: '-1', st: '-3' } },
    { line: 'xbd backend domain 3 handle 0xca00 (51712) using event channel 12, protocol x86_64-abi', pattern: 'backendInfo' },
    { line: 'xbd backend: attach device wd0e (size 4194304) for domain 3', pattern: 'attach' },
    { line: 'xbd domain 3: unknown proto x86_16-abi', pattern: 'unknownProto' },
    { line: 'xbdback_io: would maybe glue same page sec 8 (3->4)', pattern: 'wouldGlue', comment: 'dead code in 1.24/1.65, kept for completeness' },
    { line: 'xbdback_map_shm: xen_shm error 12 ', pattern: 'shmError', fields: { err: '12' } },
    { line: "blkback backend/vbd/3/51712: can't get event channel: -22", pattern: 'blkbackEvtchn' },
  ],
  detect(lines) {
    let strong = 0;
    for (const l of lines) if ((l.startsWith('xbdback op ') && patterns.op!.test(l)) || l.includes('first,last_sect[') || l.includes('appending grant')) strong++;
    // Without the distinctive lines, the always-on messages alone still count, with less confidence.
    if (strong === 0) return detectByPatterns(xbdbackXenbus, lines) * 0.5;
    return detectByPatterns(xbdbackXenbus, lines);
  },
  createParser(ctx) {
    return new XenbusParser(ctx);
  },
};

class XenbusParser {
  private cur: { req: Request; starts: { sect: number; size: number }[]; splits: number } | undefined;
  private n = 0;
  private coalescing = false;
  /** Requests submitted (by domain:id) to match "end request" lines. */
  private readonly open = new Map<string, string>();
  private gen = 0;
  private domainOfStream: number | undefined;

  constructor(private readonly ctx: ParserContext) {}

  line(rec: LineRecord, m: PatternMatch): void {
    const g = m.groups;
    const ev = evidenceOf(rec);
    const dom = g.dom !== undefined ? Number(g.dom) : undefined;
    if (dom !== undefined) this.domainOfStream = dom;
    switch (m.pattern) {
      case 'op': {
        this.finish();
        const ring = { reqCons: hexNum(g.cons), reqProd: hexNum(g.prod), rspProd: hexNum(g.rsp), ringSize: this.ctx.options.ringSize ?? RING_SIZE };
        this.ctx.emit({ kind: 'ring', stream: `${this.ctx.file}:xbdback-xenbus`, ring, evidence: [ev] });
        this.n++;
        const req = newXenRequest(this.ctx.file, '', g.id!, ID, ev);
        req.op = xen3Op(Number(g.op));
        req.ring = ring;
        this.cur = { req, starts: [], splits: 0 };
        return;
      }
      case 'seg': {
        const c = this.cur;
        if (!c) {
          this.ctx.malformed(ev, 'segment line without a preceding "xbdback op" ring line');
          return;
        }
        c.req.evidence.push(ev);
        c.req.domain = dom;
        c.req.device = `dom${dom}`;
        const first = g.first ? parseInt(g.first, 8) : 0;
        const last = g.last ? parseInt(g.last, 8) : 0;
        c.req.segments.push({ firstSect: first, lastSect: last });
        return;
      }
      case 'grant': {
        const c = this.cur;
        if (!c) return;
        c.req.evidence.push(ev);
        const seg = c.req.segments[c.req.segments.length - 1];
        if (seg && seg.gref === undefined) seg.gref = Number(g.gref);
        return;
      }
      case 'mapShm': {
        // 1.77+: one map per request, grants in segment order.
        const c = this.cur;
        const grefs = (g.grefs ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
        if (c && grefs.length) {
          c.req.evidence.push(ev);
          grefs.forEach((gr, i) => {
            const seg = c.req.segments[i];
            if (seg && seg.gref === undefined) seg.gref = gr;
          });
        }
        return;
      }
      case 'startSectors': {
        const c = this.cur;
        if (!c) return;
        c.req.evidence.push(ev);
        if (c.starts.length === 0) c.req.sector = Number(g.sect);
        c.starts.push({ sect: Number(g.sect), size: Number(g.size) });
        return;
      }
      case 'hoping':
      case 'segBreak':
      case 'flush':
      case 'iodone':
        this.coalescing = true;
        if (this.cur) {
          this.cur.req.evidence.push(ev);
          if (m.pattern !== 'iodone' && m.pattern !== 'hoping') this.cur.splits++;
        }
        return;
      case 'endReq': {
        const id = g.id!;
        if (this.cur && this.cur.req.id === id) this.finish();
        const k = `${dom}:${id}`;
        const key = this.open.get(k);
        const status = blkifStatus(Number(g.err));
        if (!key) {
          this.ctx.emit({ kind: 'orphan', device: `dom${dom}`, id, status, evidence: [ev] });
          return;
        }
        this.open.delete(k);
        this.ctx.emit({ kind: 'complete', key, status, evidence: ev });
        return;
      }
      case 'ioError':
        this.ctx.emit({ kind: 'diag', code: 'io-error', domain: dom, device: `dom${dom}`, message: `disk I/O error ${g.err} (errno)`, data: { errno: Number(g.err) }, evidence: [ev] });
        return;
      case 'nseg':
        this.ctx.emit({ kind: 'diag', code: 'bad-nseg', domain: dom, device: `dom${dom}`, message: `backend rejected a request with ${g.n} segments`, data: { n: Number(g.n), max: 11 }, evidence: [ev] });
        return;
      case 'negSize':
        this.ctx.emit({ kind: 'diag', code: 'negative-size', domain: dom, device: `dom${dom}`, message: `backend rejected a segment with last ${g.last} < first ${g.first}`, data: { first: Number(g.first), last: Number(g.last) }, evidence: [ev] });
        return;
      case 'named': {
        const inst = g.inst!;
        const mdom = /^xbdb(\d+)i/.exec(inst);
        const d = mdom ? Number(mdom[1]) : undefined;
        const msg = g.msg!;
        let code = 'backend-error';
        const data: Record<string, unknown> = { instance: inst };
        if (g.n !== undefined || msg.startsWith('too many') || msg === 'invalid number of segments') {
          code = 'bad-nseg';
          if (g.n !== undefined) data.n = Number(g.n);
          data.max = msg.includes('indirect') ? 16 : 11;
        } else if (g.first !== undefined) {
          code = 'invalid-segment-sectors';
          data.first = Number(g.first);
          data.last = Number(g.last);
        } else if (g.op !== undefined || g.iop !== undefined) code = 'unknown-op';
        else if (msg.includes('fragmented')) code = 'fragmented';
        this.ctx.emit({ kind: 'diag', code, domain: d, device: d !== undefined ? `dom${d}` : inst, message: msg, data, evidence: [ev] });
        return;
      }
      case 'connect':
        if (g.err !== undefined || /can't map grant ref/.test(g.msg ?? '')) {
          this.ctx.emit({ kind: 'diag', code: 'grant-map-failed', device: g.inst, message: g.msg!, evidence: [ev] });
        }
        return;
      case 'shmError':
        this.ctx.emit({ kind: 'diag', code: 'grant-map-failed', device: this.domainOfStream !== undefined ? `dom${this.domainOfStream}` : undefined, message: rec.text, evidence: [ev] });
        return;
      default:
        return;
    }
  }

  end(): void {
    this.finish();
  }

  private finish(): void {
    const c = this.cur;
    this.cur = undefined;
    if (!c) return;
    const req = c.req;
    sealSizes(req);
    const dom = req.domain ?? this.domainOfStream;
    req.key = `${this.ctx.file}#xbdx:${dom}:${req.id}:${this.gen++}`;
    req.backendModel = this.coalescing ? 'per-segment' : (xbdbackXenbus.backendModel ?? 'per-segment');
    req.expectsCompletion = true;
    if (c.starts.length) {
      req.loggedBytes = c.starts.reduce((a, s) => a + s.size, 0) * 512;
      const jumps: number[] = [];
      for (let i = 1; i < c.starts.length; i++) if (c.starts[i]!.sect !== c.starts[i - 1]!.sect + c.starts[i - 1]!.size) jumps.push(i);
      req.info = { ...(req.info ?? {}), startSectors: c.starts, ...(jumps.length ? { startSectorJumps: jumps } : {}) };
    }
    if (c.splits) req.info = { ...(req.info ?? {}), splitIOs: c.splits };
    const k = `${dom}:${req.id}`;
    this.open.set(k, req.key);
    this.ctx.emit({ kind: 'submit', req });
  }
}

export type { Evidence };
