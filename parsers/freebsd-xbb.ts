// FreeBSD Xen block backend (sys/dev/xen/blkback/blkback.c@0279031f): DPRINTF lines
// "xbb(func:line): MSG" (XBB_DEBUG builds) and the always-on device_printf about I/O sizes (SPEC xen §2.4).
import type { TextFormatDef, ParserContext, LineRecord, PatternMatch } from './types.js';
import { evidenceOf, detectByPatterns } from './match.js';

const ID = 'freebsd-xbb';

const patterns: Record<string, RegExp> = {
  badNseg: /^xbb\((?<func>\w+):\d+\): Bad number of segments in request \((?<n>-?\d+)\)$/,
  remap: /^xbb\((?<func>\w+):\d+\): invalid buffer -- could not remap it \((?<st>-?\d+)\)$/,
  mapping: /^xbb\((?<func>\w+):\d+\): Mapping\((?<idx>\d+)\): Host Addr 0x(?<addr>[0-9a-fA-F]+), flags 0x(?<flags>[0-9a-fA-F]+) ref 0x(?<gref>[0-9a-fA-F]+), dom (?<dom>\d+)$/,
  pastEnd: /^xbb\((?<func>\w+):\d+\): (?<op>\S+) of \[(?<start>\d+),(?<end>\d+)\] extends past end of device (?<dev>\S+)$/,
  readOnly: /^xbb\((?<func>\w+):\d+\): Attempt to write to read only device (?<dev>\S+)$/,
  unknownOp: /^xbb\((?<func>\w+):\d+\): error: unknown block io operation \[(?<op>-?\d+)\]$/,
  bioError: /^xbb\((?<func>\w+):\d+\): BIO returned error (?<err>-?\d+) for operation on device (?<dev>\S+)$/,
  ioSize: /^(?<dev>xbbd\d+): (?<func>\w+): I\/O size \((?<bytes>\d+)\) is not a multiple of the backing store sector size \((?<ss>\d+)\)$/,
  other: /^xbb\((?<func>\w+):\d+\): (?<msg>.*)$/,
};

export const freebsdXbb: TextFormatDef = {
  id: ID,
  kind: 'text',
  family: 'xen',
  title: 'FreeBSD xbb (Xen block backend) messages',
  description: 'FreeBSD blkback DPRINTF lines (XBB_DEBUG) and the always-on I/O size message.',
  url: 'freebsd/freebsd-src sys/dev/xen/blkback/blkback.c (SPEC xen §2.4)',
  backendModel: 'per-segment',
  fields: [
    { name: 'n', type: 'int', description: 'segment count of a rejected request' },
    { name: 'gref', type: 'hex', description: 'grant reference being mapped' },
    { name: 'start', type: 'u64', description: 'first sector of a refused range' },
    { name: 'end', type: 'u64', description: 'end sector of a refused range' },
    { name: 'bytes', type: 'int', description: 'I/O size in bytes' },
    { name: 'ss', type: 'int', description: 'backing store sector size' },
  ],
  patterns,
  prefix: /^(?:xbb\(|xbbd\d+: )/,
  samples: [
    { line: 'xbb(xbb_dispatch_io:1234): Bad number of segments in request (12)', pattern: 'badNseg', fields: { n: '12' } },
    { line: 'xbb(xbb_dispatch_io:1301): invalid buffer -- could not remap it (-1)', pattern: 'remap' },
    { line: 'xbb(xbb_dispatch_io:1280): Mapping(0): Host Addr 0x7f000000, flags 0x4 ref 0x1a2, dom 3', pattern: 'mapping', fields: { gref: '1a2', dom: '3' } },
    { line: 'xbb(xbb_dispatch_dev:2101): write of [4194300,4194308] extends past end of device xbbd0', pattern: 'pastEnd', fields: { start: '4194300', end: '4194308' } },
    { line: 'xbb(xbb_dispatch_io:1190): Attempt to write to read only device xbbd0', pattern: 'readOnly' },
    { line: 'xbb(xbb_dispatch_io:1150): error: unknown block io operation [9]', pattern: 'unknownOp' },
    { line: 'xbb(xbb_bio_done:900): BIO returned error 5 for operation on device xbbd0', pattern: 'bioError', fields: { err: '5' } },
    { line: 'xbbd0: xbb_dispatch_dev: I/O size (1536) is not a multiple of the backing store sector size (4096)', pattern: 'ioSize', fields: { bytes: '1536', ss: '4096' } },
    { line: 'xbb(xbb_attach:3000): attaching', pattern: 'other' },
  ],
  detect(lines) {
    return detectByPatterns(freebsdXbb, lines);
  },
  createParser(ctx) {
    return new XbbParser(ctx);
  },
};

class XbbParser {
  constructor(private readonly ctx: ParserContext) {}

  line(rec: LineRecord, m: PatternMatch): void {
    const g = m.groups;
    const ev = evidenceOf(rec);
    const emit = (code: string, message: string, data: Record<string, unknown> = {}, device?: string) =>
      this.ctx.emit({ kind: 'diag', code, device, message, data, evidence: [ev] });
    switch (m.pattern) {
      case 'badNseg':
        emit('bad-nseg', `xbb rejected a request with ${g.n} segments`, { n: Number(g.n), max: 11 });
        return;
      case 'remap':
        emit('grant-map-failed', `xbb could not map a grant (status ${g.st})`);
        return;
      case 'pastEnd':
        emit('access-denied', `xbb refused ${g.op} of sectors [${g.start},${g.end}) past the end of ${g.dev}`, { op: g.op, start: Number(g.start), end: Number(g.end) }, g.dev);
        return;
      case 'readOnly':
        emit('access-denied', `xbb refused a write to read-only ${g.dev}`, { op: 'write' }, g.dev);
        return;
      case 'unknownOp':
        emit('unknown-op', rec.text, { op: Number(g.op) });
        return;
      case 'bioError':
        emit('io-error', `disk I/O error ${g.err} on ${g.dev}`, { errno: Number(g.err) }, g.dev);
        return;
      case 'ioSize':
        emit('misaligned', `xbb: I/O size ${g.bytes} is not a multiple of the ${g.ss}-byte sector size of ${g.dev}`, { bytes: Number(g.bytes), sectorSize: Number(g.ss) }, g.dev);
        return;
      default:
        return;
    }
  }

  end(): void {}
}
