// Linux xen-blkfront messages and the frontend-side grant-table / xenbus lines (SPEC xen §2.3, real excerpts E5-E6).
import type { TextFormatDef, ParserContext, LineRecord, PatternMatch } from './types.js';
import { evidenceOf, detectByPatterns } from './match.js';

const ID = 'linux-xen-blkfront';

const patterns: Record<string, RegExp> = {
  incorrectId: /^(?<disk>[a-z]+\d*[a-z]*\d*): response (?:to (?<op>\S+) )?has incorrect id \((?<id>-?\d+)\)$/,
  notRecycled: /^(?<disk>[a-z]+\d*[a-z]*\d*): response to (?<op>\S+) \(id (?<id>-?\d+)\) couldn't be recycled!$/,
  illegalResponses: /^(?<disk>[a-z]+\d*[a-z]*\d*): illegal number of responses (?<n>\d+)$/,
  noPending: /^(?<disk>[a-z]+\d*[a-z]*\d*): response references no pending request$/,
  wrongOp: /^(?<disk>[a-z]+\d*[a-z]*\d*): response has wrong operation \((?<got>\d+) instead of (?<want>\d+)\)$/,
  opFailed: /^blkfront: (?<disk>\S+): (?<empty>empty )?(?<op>\S+(?: \S+)?) op failed$/,
  badReturn: /^(?:vbd vbd-\d+: )?Bad return from blkdev data request: (?<status>-?[0-9a-fA-F]+)$/,
  features: /^blkfront: (?<disk>\S+): (?<msg>(?:flush diskcache|barrier|barrier or flush): .*)$/,
  xenbusError: /^vbd vbd-(?<vdev>\d+): (?<err>-?\d+) (?<msg>.+)$/,
  grantInUse: /^(?:xen:grant_table: )?(?:WARNING: )?g\.e\. 0x(?<gref>[0-9a-fA-F]+) still (?<what>in use!|pending)$/,
  grantDefer: /^(?:xen:grant_table: )?deferring g\.e\. 0x(?<gref>[0-9a-fA-F]+) \(pfn 0x(?<pfn>[0-9a-fA-F]+)\)$/,
  ringPages: /^Back-end specified (?<what>ring-pages|max_requests) of (?<a>\d+) (?<msg>.*)$/,
  blkfront: /^blkfront: (?<msg>.+)$/,
};

const PREFIX = /^(?:[a-z]+\d*[a-z]*\d*: (?:response|illegal number)|blkfront: |vbd vbd-\d+: |Bad return from blkdev|(?:xen:grant_table: )?(?:WARNING: )?g\.e\. |(?:xen:grant_table: )?deferring g\.e\.|Back-end specified )/;

export const linuxBlkfront: TextFormatDef = {
  id: ID,
  kind: 'text',
  family: 'xen',
  title: 'Linux xen-blkfront messages',
  description: 'Linux Xen block frontend warnings (bad response ids, response ring overflow, failed ops) and grant-table/xenbus lines.',
  url: 'torvalds/linux drivers/block/xen-blkfront.c (SPEC xen §2.3)',
  fields: [
    { name: 'disk', type: 'string', description: 'frontend disk name (xvda...)' },
    { name: 'id', type: 'int', description: 'response id' },
    { name: 'n', type: 'int', description: 'responses the backend published at once' },
    { name: 'gref', type: 'hex', description: 'grant reference' },
  ],
  patterns,
  prefix: PREFIX,
  samples: [
    { line: 'xvda: response to read has incorrect id (40)', pattern: 'incorrectId', fields: { disk: 'xvda', op: 'read', id: '40' } },
    { line: 'xvda: response has incorrect id (77)', pattern: 'incorrectId', fields: { id: '77' } },
    { line: "xvda: response to write (id 3) couldn't be recycled!", pattern: 'notRecycled' },
    { line: 'xvda: illegal number of responses 40', pattern: 'illegalResponses', fields: { n: '40' } },
    { line: 'xvda: response references no pending request', pattern: 'noPending' },
    { line: 'xvda: response has wrong operation (1 instead of 0)', pattern: 'wrongOp', fields: { got: '1', want: '0' } },
    { line: 'blkfront: xvda: flush diskcache op failed', pattern: 'opFailed' },
    { line: 'vbd vbd-51712: Bad return from blkdev data request: ffffffff', pattern: 'badReturn' },
    { line: 'blkfront: xvda: flush diskcache: enabled; persistent grants: enabled; indirect descriptors: enabled;', pattern: 'features' },
    { line: 'vbd vbd-51728: 16 Device in use; refusing to close', pattern: 'xenbusError', fields: { vdev: '51728', err: '16' } },
    { line: 'xen:grant_table: WARNING: g.e. 0x37f still in use!', pattern: 'grantInUse', fields: { gref: '37f' } },
    { line: 'xen:grant_table: g.e. 0x735 still pending', pattern: 'grantInUse' },
    { line: 'deferring g.e. 0x37f (pfn 0xffffffffffffffff)', pattern: 'grantDefer' },
    { line: 'Back-end specified ring-pages of 15 is not a power of 2. Limited to 8.', pattern: 'ringPages' },
    { line: 'blkfront: xvda: barrier or flush: disabled; persistent grants: disabled;', pattern: 'features' },
    { line: 'blkfront: resuming xvda', pattern: 'blkfront' },
  ],
  detect(lines) {
    return detectByPatterns(linuxBlkfront, lines);
  },
  createParser(ctx) {
    return new BlkfrontParser(ctx);
  },
};

class BlkfrontParser {
  constructor(private readonly ctx: ParserContext) {}

  line(rec: LineRecord, m: PatternMatch): void {
    const g = m.groups;
    const ev = evidenceOf(rec);
    const device = g.disk;
    switch (m.pattern) {
      case 'incorrectId':
      case 'noPending':
        this.ctx.emit({ kind: 'orphan', device, id: g.id ?? '?', evidence: [ev] });
        return;
      case 'wrongOp':
        this.ctx.emit({ kind: 'diag', code: 'wrong-op', device, message: `response operation ${g.got} does not match the request's ${g.want}`, data: { got: Number(g.got), want: Number(g.want) }, evidence: [ev] });
        return;
      case 'illegalResponses':
        this.ctx.emit({ kind: 'diag', code: 'bogus-ring', device, message: `backend published ${g.n} responses at once (more than the ring holds)`, data: { outstanding: Number(g.n), side: 'responses' }, evidence: [ev] });
        return;
      case 'opFailed':
        this.ctx.emit({ kind: 'diag', code: 'unsupported', device, message: `${g.empty ?? ''}${g.op} op failed (not supported by the backend)`, evidence: [ev] });
        return;
      case 'badReturn':
        this.ctx.emit({ kind: 'diag', code: 'io-error', device, message: `backend returned status 0x${g.status} for a data request`, data: { status: g.status }, evidence: [ev] });
        return;
      case 'xenbusError':
        this.ctx.emit({ kind: 'diag', code: 'xenbus-error', device: `vbd-${g.vdev}`, message: `${g.msg} (errno ${g.err})`, data: { errno: Number(g.err) }, evidence: [ev] });
        return;
      case 'grantInUse':
      case 'grantDefer':
        this.ctx.emit({ kind: 'diag', code: 'grant-in-use', message: rec.text, data: { gref: parseInt(g.gref!, 16) }, evidence: [ev] });
        return;
      default:
        return;
    }
  }

  end(): void {}
}
