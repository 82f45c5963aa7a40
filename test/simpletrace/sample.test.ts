// samples/simpletrace: the cut-down real trace decodes byte for byte as simpletrace.py printed it.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCli, analyzeFiles } from '../helpers.js';

const S = join(dirname(new URL(import.meta.url).pathname), '../../samples/simpletrace');
const BIN = join(S, 'virtio-blk-writes.simpletrace');
const TXT = readFileSync(join(S, 'virtio-blk-writes.simpletrace.txt'), 'latin1');
const TE = join(S, 'trace-events-sample');

describe('samples/simpletrace', () => {
  it('events reproduces the recorded simpletrace.py output', async () => {
    const r = await runCli(['events', '--trace-events', TE, BIN]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(TXT);
  });

  it('analyze rebuilds one request per handled read/write, all completed', async () => {
    const count = (name: string) => TXT.split('\n').filter((l) => l.startsWith(name + ' ')).length;
    const res = await analyzeFiles([BIN], { traceEvents: TE });
    expect(res.inputs[0]!.format).toBe('qemu-simpletrace');
    expect(res.inputs[0]!.records).toBe(TXT.split('\n').length - 1);
    expect(res.requests.filter((q) => q.op === 'write')).toHaveLength(count('virtio_blk_handle_write'));
    expect(res.requests.filter((q) => q.op === 'read')).toHaveLength(count('virtio_blk_handle_read'));
    expect(res.requests).toHaveLength(count('virtqueue_pop'));
    expect(res.requests.every((q) => q.state === 'completed' && q.status === 'ok')).toBe(true);
    const w = res.requests.find((q) => q.op === 'write')!;
    expect(w.evidence.some((e) => e.offset !== undefined && /^virtqueue_pop @\d+\.\d{9} pid=15805 /.test(e.text ?? ''))).toBe(true);
  });
});
