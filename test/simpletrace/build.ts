// Test helper: writes QEMU simpletrace binaries (the inverse of the parser), little-endian, following
// ../shared/specs/virtio/SPEC.md §3: header {u64 ~0, u64 magic, u64 version}; v4 records prefixed by a u64
// type (0 mapping {u64 id, u32 len, name}, 1 event); event {u64 id, u64 ts_ns, u32 length, u32 pid, args}.
// Arguments: bigint -> u64; Buffer/string -> u32 length + bytes.

export type Arg = bigint | Buffer | string;

export class TraceBuilder {
  private parts: Buffer[] = [];

  constructor(readonly version = 4) {
    const h = Buffer.alloc(24);
    h.writeBigUInt64LE(0xffffffffffffffffn, 0);
    h.writeBigUInt64LE(0xf2b177cb0aa429b4n, 8);
    h.writeBigUInt64LE(BigInt(version), 16);
    this.parts.push(h);
  }

  mapping(id: number | bigint, name: string): this {
    const nb = Buffer.from(name, 'utf8');
    const b = Buffer.alloc(20 + nb.length);
    b.writeBigUInt64LE(0n, 0);
    b.writeBigUInt64LE(BigInt(id), 8);
    b.writeUInt32LE(nb.length, 16);
    nb.copy(b, 20);
    this.parts.push(b);
    return this;
  }

  event(id: number | bigint, tsNs: bigint, pid: number, args: Arg[], lengthOverride?: number): this {
    const enc: Buffer[] = args.map((a) => {
      if (typeof a === 'bigint') {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt.asUintN(64, a));
        return b;
      }
      const s = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
      const b = Buffer.alloc(4 + s.length);
      b.writeUInt32LE(s.length, 0);
      s.copy(b, 4);
      return b;
    });
    const body = Buffer.concat(enc);
    const pre = this.version === 4 ? 8 : 0;
    const h = Buffer.alloc(pre + 24);
    if (pre) h.writeBigUInt64LE(1n, 0);
    h.writeBigUInt64LE(BigInt(id), pre);
    h.writeBigUInt64LE(tsNs, pre + 8);
    h.writeUInt32LE(lengthOverride ?? 24 + body.length, pre + 16);
    h.writeUInt32LE(pid, pre + 20);
    this.parts.push(h, body);
    return this;
  }

  dropped(tsNs: bigint, pid: number, count: bigint): this {
    return this.event(0xfffffffffffffffen, tsNs, pid, [count]);
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Parse one simpletrace.py output line back into its parts (u64 hex and b'...' reprs). */
export interface StLine {
  name: string;
  /** Delta in integer nanoseconds ('%0.3f' of microseconds). */
  deltaNs: bigint;
  pid: number;
  args: { name: string; value: Arg }[];
}

/** Decode a Python bytes repr (b'...' or b"..."), as simpletrace.py prints string arguments. */
export function fromBytesRepr(s: string): Buffer {
  const q = s[1]!;
  const body = s.slice(2, s.lastIndexOf(q));
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out.push(c.charCodeAt(0));
      continue;
    }
    const e = body[++i]!;
    if (e === 'x') {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(e === 'n' ? 10 : e === 't' ? 9 : e === 'r' ? 13 : e.charCodeAt(0));
  }
  return Buffer.from(out);
}

export function parseStLine(line: string): StLine {
  const m = /^(\S+) (-?)(\d+)\.(\d{3}) pid=(\d+)(.*)$/.exec(line);
  if (!m) throw new Error(`not a simpletrace.py line: ${line}`);
  const deltaNs = (BigInt(m[3]!) * 1000n + BigInt(m[4]!)) * (m[2] ? -1n : 1n);
  const args: { name: string; value: Arg }[] = [];
  const re = / (\w+)=(0x[0-9a-f]+|b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")/gy;
  const rest = m[6]!;
  let am: RegExpExecArray | null;
  let last = 0;
  while ((am = re.exec(rest))) {
    const v = am[2]!;
    args.push({ name: am[1]!, value: v.startsWith('0x') ? BigInt(v) : fromBytesRepr(v) });
    last = re.lastIndex;
  }
  if (last !== rest.length) throw new Error(`unparsed arguments in: ${line}`);
  return { name: m[1]!, deltaNs, pid: Number(m[5]), args };
}

/**
 * Re-encode simpletrace.py output lines as a v4 binary: names get ids in order of first appearance, the
 * first record's timestamp is `t0`, later ones add each line's delta.
 */
export function encodeLines(lines: string[], t0 = 1_000_000_000_000n): Buffer {
  const b = new TraceBuilder(4);
  const ids = new Map<string, number>();
  let ts = t0;
  let first = true;
  for (const line of lines) {
    const l = parseStLine(line);
    let id = ids.get(l.name);
    if (id === undefined) {
      id = ids.size;
      ids.set(l.name, id);
      b.mapping(id, l.name);
    }
    if (!first) ts += l.deltaNs;
    first = false;
    b.event(id, ts, l.pid, l.args.map((a) => a.value));
  }
  return b.build();
}
