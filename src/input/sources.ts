// Input sources: a name and a stream of byte chunks. Files, stdin and (in tui/follow) growing files.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface InputSource {
  /** Name used in evidence (the path, or "-" / "<stdin>"). */
  name: string;
  /** Bytes, chunk by chunk. May never end (live tail). */
  chunks(): AsyncIterable<Buffer>;
  /** True for sources that keep growing (follow mode): detection must work on what is there. */
  live?: boolean;
  /** The input's size in bytes when known (a file, once chunks() has begun). */
  size?: number;
}

export class InputError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export function fileSource(path: string, highWaterMark = 1 << 20): InputSource {
  const src: InputSource = {
    name: path,
    async *chunks() {
      try {
        const st = await stat(path);
        if (st.isDirectory()) throw new InputError(path, 'is a directory');
        if (st.isFile()) src.size = st.size;
      } catch (e) {
        if (e instanceof InputError) throw e;
        throw new InputError(path, describeFsError(e));
      }
      const stream = createReadStream(path, { highWaterMark });
      try {
        for await (const chunk of stream) yield chunk as Buffer;
      } catch (e) {
        throw new InputError(path, describeFsError(e));
      }
    },
  };
  return src;
}

export function stdinSource(stream: NodeJS.ReadableStream = process.stdin): InputSource {
  return {
    name: '<stdin>',
    async *chunks() {
      for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    },
  };
}

export function bufferSource(name: string, data: Buffer | string, chunkSize = 1 << 16): InputSource {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return {
    name,
    async *chunks() {
      for (let off = 0; off < buf.length; off += chunkSize) yield buf.subarray(off, Math.min(buf.length, off + chunkSize));
    },
  };
}

export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return err?.message ? String(err.message).split('\n')[0]! : String(e);
  }
}
