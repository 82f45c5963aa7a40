// Linux xen-blkback messages, every era's prefix (SPEC xen §2.1, §2.2):
//   Xen 2.0/3.0 sparse:  "(file=drivers/xen/blkback/blkback.c, line=359) MSG"
//   ~3.1-3.x DPRINTK:    "xen-blkback:(dispatch_rw_block_io:NNN) MSG."
//   ~3.8+/4.x pr_fmt:    "xen-blkback: MSG"
//   ~3.2 xenbus DRV_PFX: "xen-blkback:ring-ref 8, event-channel 10, protocol 1 (x86_64-abi)"
//   Xen 3.0 sparse xenbus: "blkback/xenbus (func:line) MSG."
// Request-level messages become diagnostics the checks read (segment-limit, access-denied, misaligned,
// ring-overflow, io-error...). Sources: torvalds/linux blkback.c@013c3ca18485, WSL2 blkback.c@396d26b52643.
import type { TextFormatDef, ParserContext, LineRecord, PatternMatch } from './types.js';
import type { ParsedEvent } from '../src/model/types.js';
import { evidenceOf } from './match.js';

const ID = 'linux-xen-blkback';

/** Strip the era's prefix; returns the message, or null when the line is not blkback's. */
function stripPrefix(text: string): { msg: string; func?: string } | null {
  if (text.startsWith('xen-blkback:')) {
    let rest = text.slice(12);
    const m = /^\s?\((?<func>[A-Za-z0-9_]+):\d+\)\s?/.exec(rest);
    if (m) return { msg: rest.slice(m[0].length).replace(/\.$/, ''), func: m.groups!.func };
    rest = rest.startsWith(' ') ? rest.slice(1) : rest;
    return { msg: rest };
  }
  if (text.startsWith('xen_blkback: ')) return { msg: text.slice(13) };
  if (text.startsWith('(file=')) {
    const m = /^\(file=(?<file>[^,]*blkback[^,]*), line=\d+\)\s?/.exec(text);
    if (m) return { msg: text.slice(m[0].length) };
    return null;
  }
  if (text.startsWith('blkback/xenbus (')) {
    const m = /^blkback\/xenbus \((?<func>[A-Za-z0-9_]+):\d+\)\s?/.exec(text);
    if (m) return { msg: text.slice(m[0].length).replace(/\.$/, ''), func: m.groups!.func };
  }
  return null;
}

const patterns: Record<string, RegExp> = {
  badNseg: /^Bad number of segments in request \((?<n>-?\d+)\)$/,
  accessDenied: /^access denied: (?<op>read|write) of \[(?<start>\d+),(?<end>\d+)\] on dev=(?<dev>[0-9a-fA-F]+)$/,
  accessDeniedDiscard: /^access denied: DISCARD \[(?<start>\d+)->(?<end>\d+)\] on dev=(?<dev>[0-9a-fA-F]+)$/,
  misaligned: /^Misaligned I\/O request from domain (?<dom>\d+)$/,
  remap: /^invalid buffer -- could not remap it$/,
  notUpToDate: /^Buffer not up-to-date at end of operation(?:, error=(?<err>-?\d+))?$/,
  unknownOp: /^error: unknown block io operation \[(?<op>-?\d+)\]$/,
  badIndirect: /^Invalid indirect operation \((?<op>\d+)\)$/,
  unsupported: /^(?<what>write barrier|flush diskcache|discard) op failed, not supported$/,
  bogusRing: /^Frontend provided bogus ring requests \((?<rp>-?\d+) - (?<rc>-?\d+) = (?<d>-?\d+)\)\. Halting ring processing on dev=(?<dev>[0-9a-fA-F]+)$/,
  grantReuse: /^(?<msg>trying to add a gref that's already in the tree|requesting a grant already in use|freeing a grant already unused|Scheduled work from previous purge is still busy, cannot purge list)$/,
  persistent: /^(?:grant (?<gref>\d+) added to the tree of persistent grants, using (?<used>\d+)\/(?<max>\d+)|domain (?<dom>\d+), device (?<dev>0x[0-9a-fA-F]+|\d+) is using maximum number of persistent grants|Going to purge (?<n>\d+) persistent grants|Purged (?<a>\d+)\/(?<b>\d+))$/,
  oom: /^(?<what>\S+): out of memory$/,
  stats: /^\((?<name>[^)]*)\): oo +(?<oo>\d+) +\| +rd +(?<rd>\d+) +\| +wr +(?<wr>\d+) +\| +(?:f +(?<f>\d+) +\| +ds +(?<ds>\d+) +\| +pg: +(?<pg>\d+)\/ *(?<pgmax>-?\d+)|br +(?<br>\d+))\s*$/,
  resize: /^VBD Resize: (?:Domid: (?<dom>\d+), Device: \((?<maj>\d+), (?<min>\d+)\)|new size (?<size>\d+))$/,
  queues: /^(?<node>backend\/vbd\/(?<dom>\d+)\/(?<handle>\d+)): using (?<queues>\d+) queues, protocol (?<proto>\d) \((?<abi>[^)]*)\) ?(?<persistent>persistent grants)?\s*$/,
  ringRef: /^ring-ref (?<ref>\d+), event-channel (?<evtchn>\d+), protocol (?<proto>\d+) \((?<abi>[^)]*)\)$/,
  changeDev: /^changing physical device \(from (?<from>[0-9a-fA-F]+:[0-9a-fA-F]+) to (?<to>[0-9a-fA-F]+:[0-9a-fA-F]+)\) not supported$/,
  reconnect: /^(?<node>\S+): prepare for reconnect$/,
  other: /^(?<msg>.+)$/,
};

export const linuxBlkback: TextFormatDef = {
  id: ID,
  kind: 'text',
  family: 'xen',
  title: 'Linux xen-blkback messages',
  description: 'Linux Xen block backend messages of every era (DPRINTK, pr_debug, pr_warn; xenbus connect lines).',
  url: 'torvalds/linux drivers/block/xen-blkback/{blkback.c,xenbus.c,common.h} (SPEC xen §2.1-2.2)',
  backendModel: 'per-segment',
  fields: [
    { name: 'n', type: 'int', description: 'segment count of a rejected request' },
    { name: 'start', type: 'u64', description: 'first sector of a denied access' },
    { name: 'end', type: 'u64', description: 'end sector (exclusive) of a denied access' },
    { name: 'dev', type: 'hex', description: 'physical device (pdevice)' },
    { name: 'dom', type: 'int', description: 'frontend domain id' },
    { name: 'rp', type: 'int', description: 'req_prod the frontend published' },
    { name: 'rc', type: 'int', description: 'rsp_prod_pvt of the backend' },
    { name: 'queues', type: 'int', description: 'number of rings (multi-queue)' },
  ],
  patterns,
  samples: [
    { line: 'xen-blkback: Bad number of segments in request (12)', pattern: 'badNseg', fields: { n: '12' } },
    { line: '(file=drivers/xen/blkback/blkback.c, line=359) Bad number of segments in request (12)', pattern: 'badNseg', fields: { n: '12' } },
    { line: 'xen-blkback:(dispatch_rw_block_io:721) Bad number of segments in request (0).', pattern: 'badNseg', fields: { n: '0' } },
    { line: 'xen-blkback: access denied: write of [2048,2056] on dev=ca00', pattern: 'accessDenied', fields: { op: 'write', start: '2048', end: '2056', dev: 'ca00' } },
    { line: 'xen-blkback: access denied: DISCARD [100->200] on dev=ca00', pattern: 'accessDeniedDiscard' },
    { line: 'xen-blkback: Misaligned I/O request from domain 5', pattern: 'misaligned', fields: { dom: '5' } },
    { line: 'xen-blkback: invalid buffer -- could not remap it', pattern: 'remap' },
    { line: 'xen-blkback: Buffer not up-to-date at end of operation, error=-5', pattern: 'notUpToDate', fields: { err: '-5' } },
    { line: 'xen-blkback:(dispatch_rw_block_io:650) error: unknown block io operation [9].', pattern: 'unknownOp', fields: { op: '9' } },
    { line: 'xen-blkback: Invalid indirect operation (7)', pattern: 'badIndirect' },
    { line: 'xen-blkback: flush diskcache op failed, not supported', pattern: 'unsupported' },
    { line: 'xen-blkback: Frontend provided bogus ring requests (70 - 2 = 68). Halting ring processing on dev=ca00', pattern: 'bogusRing', fields: { rp: '70', rc: '2', d: '68' } },
    { line: 'xen-blkback: requesting a grant already in use', pattern: 'grantReuse' },
    { line: 'xen-blkback: grant 812 added to the tree of persistent grants, using 3/1056', pattern: 'persistent' },
    { line: 'xen-blkback: (blkback.2.xvda): oo   0  |  rd   12  |  wr    3  |  f    1  |  ds    0 | pg:   12/1056', pattern: 'stats' },
    { line: 'xen-blkback: VBD Resize: new size 4194304', pattern: 'resize' },
    { line: 'xen-blkback: backend/vbd/2635/51712: using 2 queues, protocol 1 (x86_64-abi) persistent grants', pattern: 'queues', fields: { dom: '2635', handle: '51712', queues: '2' } },
    { line: 'xen-blkback:ring-ref 8, event-channel 10, protocol 1 (x86_64-abi)', pattern: 'ringRef', fields: { ref: '8' } },
    { line: 'blkback/xenbus (connect_ring:449) ring-ref 8, event-channel 10, protocol 1 (x86_64-abi).', pattern: 'ringRef' },
  ],
  detect(lines) {
    let hits = 0;
    for (const l of lines) if (stripPrefix(l)) hits++;
    return hits ? Math.min(1, 0.5 + hits / Math.max(lines.length, 1)) : 0;
  },
  match(text) {
    const s = stripPrefix(text);
    if (!s) return null;
    for (const name in patterns) {
      const m = patterns[name]!.exec(s.msg);
      if (m) return { pattern: name, groups: { ...(m.groups ?? {}), func: s.func } };
    }
    return 'malformed';
  },
  createParser(ctx) {
    return new BlkbackParser(ctx);
  },
};

class BlkbackParser {
  constructor(private readonly ctx: ParserContext) {}

  private diag(code: string, message: string, rec: LineRecord, extra: Partial<Extract<ParsedEvent, { kind: 'diag' }>> = {}) {
    this.ctx.emit({ kind: 'diag', code, message, evidence: [evidenceOf(rec)], ...extra });
  }

  line(rec: LineRecord, m: PatternMatch): void {
    const g = m.groups;
    const dev = g.dev !== undefined ? `dev=${g.dev}` : undefined;
    switch (m.pattern) {
      case 'badNseg':
        this.diag('bad-nseg', `blkback rejected a request with ${g.n} segments`, rec, { data: { n: Number(g.n), max: 11 } });
        return;
      case 'accessDenied':
      case 'accessDeniedDiscard': {
        const start = Number(g.start);
        const end = Number(g.end);
        const op = m.pattern === 'accessDeniedDiscard' ? 'discard' : g.op!;
        this.diag('access-denied', `blkback denied ${op} of sectors [${start},${end}) on ${dev}`, rec, {
          device: dev,
          data: { op, start, end, sectors: end - start },
        });
        return;
      }
      case 'misaligned':
        this.diag('misaligned', `blkback rejected a misaligned request from domain ${g.dom}`, rec, { domain: Number(g.dom), device: `dom${g.dom}` });
        return;
      case 'remap':
        this.diag('grant-map-failed', 'blkback could not map a grant (invalid buffer)', rec);
        return;
      case 'notUpToDate':
        this.diag('io-error', `I/O failed at the end of the operation${g.err ? ` (error ${g.err})` : ''}`, rec, { data: g.err ? { errno: Number(g.err) } : {} });
        return;
      case 'unknownOp':
      case 'badIndirect':
        this.diag('unknown-op', rec.text, rec, { data: { op: Number(g.op) } });
        return;
      case 'unsupported':
        this.diag('unsupported', `${g.what} not supported by the backend device`, rec);
        return;
      case 'bogusRing': {
        const rp = Number(g.rp);
        const rc = Number(g.rc);
        this.diag('bogus-ring', `frontend published ${g.d} outstanding requests (req_prod ${rp} - rsp_prod_pvt ${rc}); blkback halted the ring`, rec, {
          device: dev,
          data: { reqProd: rp, rspProd: rc, outstanding: Number(g.d) },
        });
        return;
      }
      case 'grantReuse':
        this.diag('grant-reuse', g.msg!, rec);
        return;
      case 'queues':
        this.diag('connect', `domain ${g.dom} device ${g.handle}: ${g.queues} queue(s), ${g.abi}${g.persistent ? ', persistent grants' : ''}`, rec, {
          domain: Number(g.dom),
          device: `dom${g.dom}`,
          data: { handle: Number(g.handle), queues: Number(g.queues), protocol: Number(g.proto), abi: g.abi, persistent: !!g.persistent },
        });
        return;
      case 'ringRef':
        this.diag('connect', rec.text, rec, { data: { ringRef: Number(g.ref), evtchn: Number(g.evtchn), abi: g.abi } });
        return;
      default:
        return;
    }
  }

  end(): void {}
}
