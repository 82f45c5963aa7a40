// VirtioAssembler.tick(): the analyze path hands records the assembler only counts to tick() without
// decoding their arguments. It must be indistinguishable from event() on the same records.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { SimpletraceDecoder, decodeArgs, timeOf } from '../../parsers/qemu-simpletrace.js';
import { loadTraceEvents } from '../../parsers/qemu/trace-events.js';
import { VirtioAssembler, type QemuEvent } from '../../parsers/qemu/events.js';
import type { ParsedEvent } from '../../src/model/types.js';
import type { ParserContext } from '../../parsers/types.js';

const R = join(dirname(new URL(import.meta.url).pathname), '../../../shared/realtraces/simpletrace');
const te = loadTraceEvents(join(R, 'trace-events-all'))!;

/** Every ParsedEvent an assembler emits for the records of `data`, ticking count-only records when `tick`. */
function assemble(data: Buffer, tick: boolean): { events: ParsedEvent[]; ticked: number } {
  const events: ParsedEvent[] = [];
  const ctx: ParserContext = { file: 'trace', options: {}, emit: (ev) => void events.push(ev), malformed: () => {} };
  const asm = new VirtioAssembler(ctx, { format: 'qemu-simpletrace' });
  let ticked = 0;
  const dec = new SimpletraceDecoder(
    {
      event(t, h, buf, a, e, offset) {
        if (t.dropped) return;
        if (tick && !asm.kind(t.name).needsArgs) {
          ticked++;
          asm.tick(asm.kind(t.name), h.pid);
          return;
        }
        const ev: QemuEvent = { name: t.name, args: decodeArgs(t, buf, a, e), time: timeOf(h), tid: h.pid, evidence: { file: 'trace', offset } };
        asm.event(ev);
      },
      malformed: () => {},
    },
    te,
  );
  dec.chunk(data, 0);
  dec.end();
  asm.end();
  return { events, ticked };
}

describe('VirtioAssembler.tick', () => {
  for (const name of ['trace-simple.simpletrace', 'trace-long73M.simpletrace.xz']) {
    it(`gives the same requests, events and counts as event() on ${name}`, () => {
      const raw = readFileSync(join(R, name));
      const data = name.endsWith('.xz') ? execFileSync('xz', ['-dc'], { input: raw, maxBuffer: 1 << 28 }) : raw;
      const all = assemble(data, false);
      const ticked = assemble(data, true);
      expect(ticked.ticked).toBeGreaterThan(1000); // the trace has count-only records (alloc_element, flush, qcow2_cache_*...)
      expect(ticked.events.length).toBe(all.events.length);
      expect(JSON.stringify(ticked.events)).toBe(JSON.stringify(all.events));
    });
  }
});
