// Live tail: an InputSource that follows a file by name with `tail -F` semantics, and a live stdin source.
//  - appended data is read as it arrives (polled every `pollMs`, default 50 ms, plus fs.watch wake-ups);
//  - truncation (size drops below what was read): read again from the start;
//  - rotation by rename or re-creation (the name points at another inode): the old file is drained to its
//    end first (nothing written before the rotation is lost), then the new file is read from its start;
//  - the file may be missing at start or between rotation and re-creation: wait for it.
// A partial last line is completed with a newline before switching files so it never glues onto the
// first line of the next file. Stops when `signal` aborts.
// Limits (shared with tail -F): a truncation followed, before the next poll, by writes that grow the file past
// the old read position is not seen as a truncation (the bytes before that position are skipped); evidence
// line numbers keep counting across truncation/rotation (they number lines as read, not per file).
// An empty chunk is yielded each time the file goes idle so the pipeline can release a line it holds back.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';
import { InputError, describeFsError, type InputSource } from './sources.js';

export interface FollowOptions {
  signal?: AbortSignal;
  /** Poll interval in ms (default 50). */
  pollMs?: number;
  /** Read size (default 1 MiB). */
  chunkSize?: number;
  /** Called on truncation/rotation (for a status line). */
  onEvent?: (what: 'truncated' | 'rotated' | 'missing' | 'opened') => void;
}

export function followSource(path: string, opts: FollowOptions = {}): InputSource {
  return {
    name: path,
    live: true,
    chunks: () => followChunks(path, opts),
  };
}

/** Standard input as a live source (data arrives as it is written; ends at EOF). */
export function liveStdinSource(stream: NodeJS.ReadableStream = process.stdin): InputSource {
  return {
    name: '<stdin>',
    live: true,
    async *chunks() {
      for await (const chunk of stream) {
        yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        // Tell the pipeline the data so far is complete (no line waits for the next chunk).
        yield Buffer.alloc(0);
      }
    },
  };
}

async function statOrNull(path: string): Promise<{ ino: number; dev: number; size: number; isDir: boolean } | null> {
  try {
    const s = await stat(path);
    return { ino: s.ino, dev: s.dev, size: s.size, isDir: s.isDirectory() };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new InputError(path, describeFsError(e));
  }
}

async function* followChunks(path: string, opts: FollowOptions): AsyncGenerator<Buffer> {
  const pollMs = opts.pollMs ?? 50;
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const signal = opts.signal;
  const buf = Buffer.allocUnsafe(chunkSize);
  let fh: FileHandle | undefined;
  let ino = -1;
  let dev = -1;
  let pos = 0;
  let lastByte = 0x0a;

  // Wake-ups: fs.watch on the directory (rename/create/change) cuts the wait short; polling is the floor.
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_ev, name) => {
      if (!name || name.toString() === basename(path)) wake?.();
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  const sleep = () =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, pollMs);
      function done() {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /** Read from the open file until EOF, yielding chunks; an empty chunk tells the pipeline it went idle. */
  let sinceIdle = false;
  async function* drain(): AsyncGenerator<Buffer> {
    if (!fh) return;
    for (;;) {
      if (signal?.aborted) return;
      const { bytesRead } = await fh.read(buf, 0, chunkSize, pos);
      if (bytesRead <= 0) {
        if (sinceIdle) {
          sinceIdle = false;
          yield Buffer.alloc(0);
        }
        return;
      }
      sinceIdle = true;
      pos += bytesRead;
      lastByte = buf[bytesRead - 1]!;
      yield Buffer.from(buf.subarray(0, bytesRead));
    }
  }

  const newline = Buffer.from('\n');
  let reportedMissing = false;
  try {
    while (!signal?.aborted) {
      if (!fh) {
        const st = await statOrNull(path);
        if (st?.isDir) throw new InputError(path, 'is a directory');
        if (!st) {
          if (!reportedMissing) opts.onEvent?.('missing');
          reportedMissing = true;
          await sleep();
          continue;
        }
        try {
          fh = await open(path, 'r');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') {
            await sleep();
            continue;
          }
          throw new InputError(path, describeFsError(e));
        }
        const fst = await fh.stat();
        ino = fst.ino;
        dev = fst.dev;
        pos = 0;
        reportedMissing = false;
        opts.onEvent?.('opened');
      }
      yield* drain();
      if (signal?.aborted) break;
      // At EOF: look for truncation, rotation or re-creation.
      const fst = await fh.stat();
      if (fst.size < pos) {
        opts.onEvent?.('truncated');
        if (lastByte !== 0x0a) {
          lastByte = 0x0a;
          yield newline;
        }
        pos = 0;
        continue;
      }
      if (fst.size > pos) continue;
      const st = await statOrNull(path);
      if (!st || st.ino !== ino || st.dev !== dev) {
        // Rotated or removed: take what was written to the old file, then move to the new one.
        yield* drain();
        if (st) {
          opts.onEvent?.('rotated');
          if (lastByte !== 0x0a) {
            lastByte = 0x0a;
            yield newline;
          }
          await fh.close();
          fh = undefined;
          continue;
        }
      }
      await sleep();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    watcher?.close();
    await fh?.close().catch(() => undefined);
  }
}
