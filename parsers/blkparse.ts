// blkparse default text output (SPEC virtio §4.2; blkparse_fmt.c process_default, as read in the blktrace tree):
//   "%D %2c %8s %5T.%9t %5p %2a %3d " = "maj,min cpu seq sec.nsec pid action rwbs " then a tail per action:
//   Q G I D M F S B:  "SECTOR + N [comm]", or "[comm]" without data (pure flush: "Q FWS [dd]")
//   C R:              "SECTOR + N [error]", or "SECTOR [error]" without data ("C FN 0 [0]", "C WS 32768 [0]")
//   passthrough (PC): D/I/Q "BYTES [comm]" or "BYTES (cdb) [comm]"; C/R "[error]" or "(cdb) [error]"
//   P:  "[comm]";  U, UT:  "[comm] DEPTH";  X: "SECTOR / NEWSECTOR [comm]";  A: "SECTOR + N <- (maj,min) FROM"
//   m (message): "N text"
// With -t an elapsed time "(%8llu)" sits before the bracket. The summary blocks blkparse prints after the
// events ("CPU0 (vda):", " Reads Queued: ...", "Total (vda):", "Events (vda): N entries") are not records.
import type { LineRecord, ParserContext, PatternMatch, TextFormatDef, TextParser } from './types.js';
import { evidenceOf, detectByPatterns } from './match.js';
import { BlkAssembler, type BlkAction, type BlkEvent } from './linux-block/events.js';

export const BLKPARSE_ID = 'blkparse';

const HEAD =
  String.raw`^(?<maj>\d+),(?<min>\d+)\s+(?<cpu>\d+)\s+(?<seq>\d+)\s+(?<sec>\d+)\.(?<nsec>\d{9})\s+(?<pid>\d+)\s+(?<act>[A-Za-z]{1,2})\s+(?<rwbs>[A-Z]+)`;
const HEAD_RE = new RegExp(HEAD + String.raw`(?:\s+(?<tail>.*))?$`);
const EL = String.raw`(?: \((?<elapsed>\s*\d+)\))?`;

const TAILS: Record<string, string> = {
  range: String.raw`(?<sector>\d+) \+ (?<sectors>\d+)${EL} \[(?<who>.*)\]`,
  remap: String.raw`(?<sector>\d+) \+ (?<sectors>\d+) <- \((?<fmaj>\d+),(?<fmin>\d+)\) (?<from>\d+)`,
  split: String.raw`(?<sector>\d+) / (?<newsector>\d+) \[(?<who>.*)\]`,
  number: String.raw`(?<num>\d+)${EL} \[(?<who>.*)\]`,
  pc: String.raw`(?<num>\d+) \((?<cdb>[^)]*)\) \[(?<who>.*)\]`,
  unplug: String.raw`\[(?<who>.*)\] (?<depth>\d+)`,
  bare: String.raw`(?:\((?<cdb>[^)]*)\) )?\[(?<who>.*)\]`,
  message: String.raw`(?<text>.*)`,
};
const TAIL_RE: Record<string, RegExp> = {};
for (const [k, v] of Object.entries(TAILS)) TAIL_RE[k] = new RegExp(`^${v}$`);

/** Full-line patterns (header + tail), for the registry, docs and the generic matcher. */
const patterns: Record<string, RegExp> = {};
for (const [k, v] of Object.entries(TAILS)) patterns[k] = new RegExp(`${HEAD}\\s+${v}$`);

const PREFIX = /^\d+,\d+\s+\d+\s+\d+\s+\d+\.\d+\s+\d+\s+[A-Za-z]{1,2}\b/;
const ACTIONS = new Set(['Q', 'G', 'I', 'D', 'C', 'M', 'F', 'R', 'X', 'A', 'P', 'U', 'UT', 'S', 'B', 'm', 'T']);

/** Which tail forms an action can have, tried in order. */
function tailOrder(act: string): string[] {
  switch (act) {
    case 'A':
      return ['remap', 'range'];
    case 'X':
      return ['split', 'range'];
    case 'U':
    case 'UT':
    case 'T':
      return ['unplug', 'bare'];
    case 'm':
      return ['message'];
    case 'P':
      return ['bare', 'range'];
    default:
      return ['range', 'pc', 'number', 'bare'];
  }
}

function matchLine(text: string): PatternMatch | 'malformed' | null {
  const c = text.charCodeAt(0);
  if (c < 48 || c > 57) return null;
  const h = HEAD_RE.exec(text);
  if (!h) return PREFIX.test(text) ? 'malformed' : null;
  const g = h.groups!;
  const act = g.act!;
  if (!ACTIONS.has(act)) return 'malformed';
  const tail = g.tail ?? '';
  for (const name of tailOrder(act)) {
    const t = TAIL_RE[name]!.exec(tail);
    if (t) {
      const groups: Record<string, string | undefined> = { ...g, ...t.groups };
      delete groups.tail;
      return { pattern: name, groups };
    }
  }
  return 'malformed';
}

const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

class BlkparseParser implements TextParser {
  private readonly asm: BlkAssembler;
  constructor(private readonly ctx: ParserContext) {
    this.asm = new BlkAssembler(ctx, { format: BLKPARSE_ID });
  }

  line(rec: LineRecord, m: PatternMatch): void {
    const g = m.groups;
    let act = g.act!;
    if (act === 'UT') act = 'T';
    const ev: BlkEvent = {
      time: num(g.sec) + num(g.nsec) / 1e9,
      dev: `${g.maj},${g.min}`,
      cpu: num(g.cpu),
      pid: num(g.pid),
      action: act as BlkAction,
      rwbs: g.rwbs!,
      sector: 0,
      sectors: 0,
      seq: num(g.seq),
      evidence: evidenceOf(rec),
    };
    const isRq = act === 'C' || act === 'R';
    switch (m.pattern) {
      case 'range':
        ev.sector = num(g.sector);
        ev.sectors = num(g.sectors);
        if (isRq) ev.error = num(g.who);
        else ev.comm = g.who;
        break;
      case 'remap':
        ev.sector = num(g.sector);
        ev.sectors = num(g.sectors);
        ev.fromDev = `${g.fmaj},${g.fmin}`;
        ev.newSector = num(g.from);
        break;
      case 'split':
        ev.sector = num(g.sector);
        ev.newSector = num(g.newsector);
        ev.comm = g.who;
        break;
      case 'number':
        if (isRq) {
          // "C WS 32768 [0]": a completion without data.
          ev.sector = num(g.num);
          ev.error = num(g.who);
        } else {
          // "D R 20 [cat]": a passthrough request of 20 bytes.
          ev.pc = true;
          ev.bytes = num(g.num);
          ev.comm = g.who;
        }
        break;
      case 'pc':
        ev.pc = true;
        ev.bytes = num(g.num);
        if (isRq) ev.error = num(g.who);
        else ev.comm = g.who;
        break;
      case 'unplug':
        ev.comm = g.who;
        ev.depth = num(g.depth);
        break;
      case 'bare':
        if (isRq) {
          ev.pc = true; // an FS completion always prints its sector
          ev.error = num(g.who);
        } else ev.comm = g.who;
        break;
      case 'message':
        ev.message = g.text;
        break;
    }
    if (ev.error !== undefined && !Number.isFinite(ev.error)) ev.error = undefined;
    this.asm.event(ev);
  }

  end(): void {
    this.asm.end();
  }
}

export const blkparse: TextFormatDef = {
  id: BLKPARSE_ID,
  kind: 'text',
  family: 'linux-block',
  title: 'blkparse text (default format)',
  description:
    'The default text output of blkparse (blktrace suite): one line per block-layer event ' +
    '("254,0 0 57 0.052604892 24 Q W 4096 + 8 [kworker/u2:1]"). Rebuilds each request from its Q/G/I/M/D/C ' +
    'lines and computes blkparse\'s per-device counts and btt\'s Q2C/D2C/Q2G/G2I/I2D/M2D.',
  url: 'https://man7.org/linux/man-pages/man1/blkparse.1.html',
  fields: [
    { name: 'maj', type: 'int', description: 'device major' },
    { name: 'min', type: 'int', description: 'device minor' },
    { name: 'cpu', type: 'int', description: 'CPU' },
    { name: 'seq', type: 'int', description: 'per-device sequence number' },
    { name: 'sec', type: 'int', description: 'seconds since the first event' },
    { name: 'nsec', type: 'int', description: 'nanoseconds' },
    { name: 'pid', type: 'int', description: 'process id' },
    { name: 'act', type: 'string', description: 'action: Q G I D C M F R X A P U UT S B m' },
    { name: 'rwbs', type: 'string', description: '[F flush] D|W|R|N [F fua] [A readahead] [S sync] [M meta]' },
    { name: 'sector', type: 'u64', description: 'first 512-byte sector' },
    { name: 'sectors', type: 'int', description: 'sectors' },
    { name: 'who', type: 'string', description: 'process name, or the error for C and R' },
    { name: 'num', type: 'int', description: 'bytes of a passthrough request, or the sector of a C without data' },
    { name: 'depth', type: 'int', description: 'requests unplugged (U, UT)' },
    { name: 'newsector', type: 'u64', description: 'split point (X)' },
    { name: 'from', type: 'u64', description: 'sector before the remap (A)' },
  ],
  patterns,
  prefix: PREFIX,
  samples: [
    { line: '254,0    0       57     0.052604892    24  Q   W 4096 + 8 [kworker/u2:1]', pattern: 'range', fields: { maj: '254', min: '0', seq: '57', act: 'Q', rwbs: 'W', sector: '4096', sectors: '8', who: 'kworker/u2:1' } },
    { line: '254,0    0      578     0.062068028     0  C   W 4096 + 1768 [0]', pattern: 'range', fields: { act: 'C', sector: '4096', sectors: '1768', who: '0' } },
    { line: '254,0    0      608     0.080104196   101  Q FWS [dd]', pattern: 'bare', fields: { act: 'Q', rwbs: 'FWS', who: 'dd' } },
    { line: '254,0    0      611     0.082212705     0  C  FN 0 [0]', pattern: 'number', fields: { act: 'C', rwbs: 'FN', num: '0', who: '0' } },
    { line: '254,0    0     1544     1.033352812   153  D   R 20 [cat]', pattern: 'number', fields: { act: 'D', num: '20', who: 'cat' }, comment: 'passthrough (virtio GET_ID): bytes, no sector' },
    { line: '254,0    0     1545     1.033647702     0  C   R [0]', pattern: 'bare', fields: { act: 'C', who: '0' }, comment: 'passthrough completion' },
    { line: '254,0    0      604     0.078809812   101  U   N [dd] 1', pattern: 'unplug', fields: { act: 'U', who: 'dd', depth: '1' } },
    { line: '254,0    0        4     0.001300022    97 UT   N [dd] 1', pattern: 'unplug', fields: { act: 'UT', depth: '1' } },
    { line: '254,0    0       13     0.077074155   119  P   N [dd]', pattern: 'bare', fields: { act: 'P', who: 'dd' } },
    { line: '8,0    1       12     0.000500000  4321  X   W 2048 / 2304 [fio]', pattern: 'split', fields: { act: 'X', sector: '2048', newsector: '2304' } },
    { line: '8,0    1       10     0.000400000  4321  A   W 4096 + 8 <- (8,1) 2048', pattern: 'remap', fields: { act: 'A', sector: '4096', fmaj: '8', fmin: '1', from: '2048' } },
    { line: '8,0    0        0     0.000100000     0  m   N cfq4321 insert_request', pattern: 'message', fields: { act: 'm', text: 'cfq4321 insert_request' } },
  ],
  detect(lines: string[]): number {
    return detectByPatterns(blkparse, lines);
  },
  match: matchLine,
  createParser(ctx: ParserContext): TextParser {
    return new BlkparseParser(ctx);
  },
};
