// qemu-log format: line shapes (prefix eras, pre-vdev and zoned layouts), hostile inputs, mixed stderr.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { qemuLog, matchQemuLog } from '../../parsers/qemu-log.js';
import { analyzeText, tally } from '../helpers.js';

const RUN1 = readFileSync('samples/virtio/run1-phase6-dsync-flush.log', 'utf8');

describe('qemu-log matcher', () => {
  it('reads the TID@SEC.USEC: prefix and the event fields', () => {
    const m = matchQemuLog('4887@1795471925.894709:virtio_blk_handle_read vdev 0x563dcaab0600 req 0x563dc9f89800 sector 260010 nsectors 1');
    expect(m).not.toBeNull();
    expect(m).not.toBe('malformed');
    const g = (m as { groups: Record<string, string | undefined> }).groups;
    expect(g).toMatchObject({ tid: '4887', sec: '1795471925', usec: '894709', event: 'virtio_blk_handle_read', vdev: '0x563dcaab0600', req: '0x563dc9f89800', sector: '260010', nsectors: '1' });
  });
  it('accepts bare lines, PID@ lines of old QEMU and the pre-vdev layout', () => {
    expect(matchQemuLog('virtqueue_pop vq 0x557b38a97930 elem 0x557b38b5aac0 in_num 2 out_num 1')).toMatchObject({ pattern: 'event' });
    const old = matchQemuLog('3902@1500000000.000123:virtio_blk_rw_complete req 0x7f00aa001000 ret -5');
    expect((old as { groups: Record<string, string> }).groups).toMatchObject({ req: '0x7f00aa001000', ret: '-5' });
  });
  it('reads zone events with hex sectors and (nil) pointers', () => {
    const z = matchQemuLog('virtio_blk_handle_zone_mgmt vdev 0x5600 req 0x5700 op 0x18 sector 0x80000 len 0x80000');
    expect((z as { groups: Record<string, string> }).groups).toMatchObject({ op: '18', sector: '80000', len: '80000' });
    const q = matchQemuLog('4585@1795471889.703442:qcow2_add_task co 0x55c26c6cdbe0 bs 0x55c26b53cd30 pool (nil): write: cluster_type 0 file_cluster_offset 327680 offset 0 bytes 4096 qiov 0x55c26c4a0758 qiov_offset 0');
    expect((q as { groups: Record<string, string> }).groups).toMatchObject({ pool: '(nil)', action: 'write', host_offset: '327680' });
  });
  it('tells malformed event lines from foreign text', () => {
    expect(matchQemuLog('4887@1795471911.777373:virtqueue_pop vq 0x7f7410ad8010 elem 0x563dc9f8')).toBe('malformed');
    expect(matchQemuLog('virtio_blk_handle_read vdev 0x5 req 0x6 sector x nsectors 1')).toBe('malformed');
    expect(matchQemuLog('qemu-system-x86_64: warning: host doesn\'t support requested feature')).toBeNull();
    expect(matchQemuLog('hello world')).toBeNull();
    expect(matchQemuLog('[    5.927023] reboot: Power down')).toBeNull();
    // Unknown events are accepted (counted), not errors.
    expect(matchQemuLog('4887@1795471911.777373:qemu_coroutine_yield from 0x1 to 0x2')).toMatchObject({ pattern: 'event' });
  });
  it('detects real traces and not prose', () => {
    expect(qemuLog.detect(RUN1.split('\n').slice(0, 50))).toBeGreaterThan(0.9);
    expect(qemuLog.detect(['Dear list,', 'my disk broke', 'thanks'])).toBe(0);
  });
});

describe('qemu-log hostile and mixed inputs', () => {
  it('skips a truncated last line and keeps everything before it', async () => {
    const cut = RUN1.slice(0, RUN1.lastIndexOf('virtqueue_fill') + 30);
    const r = await analyzeText(cut);
    expect(r.errors).toEqual([]);
    expect(r.inputs[0]!.skipped).toBe(1);
    expect(r.requests.length).toBeGreaterThan(10);
  });
  it('ignores QEMU stderr messages and guest console lines between trace lines', async () => {
    const lines = RUN1.trimEnd().split('\n');
    const mixed: string[] = [];
    lines.forEach((l, i) => {
      mixed.push(l);
      if (i % 17 === 0) mixed.push('2026-11-23T22:08:20.968277Z qemu-system-x86_64: warning: TCG doesn\'t support requested feature');
      if (i % 23 === 0) mixed.push('[    4.170000] virtio_blk virtio1: [vda] 262144 512-byte logical blocks');
    });
    const a = await analyzeText(RUN1);
    const b = await analyzeText(mixed.join('\n') + '\n');
    expect(b.inputs[0]!.skipped).toBe(0);
    expect(b.requests.map((q) => [q.op, q.sector, q.sectors])).toEqual(a.requests.map((q) => [q.op, q.sector, q.sectors]));
  });
  it('survives a huge line and garbage bytes in the middle', async () => {
    const lines = RUN1.split('\n');
    const bad = [...lines.slice(0, 40), 'x'.repeat(3 << 20), '\u0000\u0001\u00ff\u001b[31m garbage', ...lines.slice(40)].join('\n');
    const r = await analyzeText(bad);
    expect(r.errors).toEqual([]);
    expect(r.requests).toHaveLength(13);
  });
  it('rejoins a trace line wrapped by a mail client', async () => {
    const lines = RUN1.trimEnd().split('\n');
    const i = lines.findIndex((l) => l.includes('virtio_blk_handle_write'));
    const l = lines[i]!;
    const at = l.indexOf(' nsectors');
    const wrapped = [...lines.slice(0, i), l.slice(0, at), l.slice(at + 1), ...lines.slice(i + 1)].join('\n') + '\n';
    const a = await analyzeText(RUN1);
    const b = await analyzeText(wrapped);
    expect(b.inputs[0]!.skipped).toBe(0);
    expect(b.requests.map((q) => [q.op, q.sector, q.sectors])).toEqual(a.requests.map((q) => [q.op, q.sector, q.sectors]));
  });
  it('binary garbage is not a QEMU log', async () => {
    const buf = Buffer.alloc(70000);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919) & 0xff;
    const r = await analyzeText(buf);
    expect(r.requests).toHaveLength(0);
    expect(r.inputs[0]!.formats).not.toContain('qemu-log');
  });
});

describe('assembler details', () => {
  it('old QEMU (PID@, no vdev): requests from handle/complete pointers', async () => {
    const t = [
      '3902@1500000000.000100:virtqueue_pop vq 0x7f0010 elem 0x7f00aa001000 in_num 1 out_num 2',
      '3902@1500000000.000110:virtio_blk_handle_write req 0x7f00aa001000 sector 64 nsectors 8',
      '3902@1500000000.000300:virtio_blk_rw_complete req 0x7f00aa001000 ret -5',
      '3902@1500000000.000310:virtio_blk_req_complete req 0x7f00aa001000 status 1',
    ].join('\n');
    const r = await analyzeText(t + '\n');
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]).toMatchObject({ op: 'write', sector: 64, sectors: 8, status: 'error', state: 'completed' });
    expect(r.requests[0]!.latency).toBeCloseTo(0.00021, 6);
    expect(tally(r.model.findings)).toMatchObject({ 'io-error/error': 1 });
  });
  it('a device reset ends the epoch: requests in flight are errors, a later pop of the pointer is new', async () => {
    const t = [
      '10@1.000000:virtio_set_status vdev 0x5600 val 15',
      '10@1.000001:virtio_queue_notify vdev 0x5600 n 0 vq 0x7700',
      '10@1.000002:virtqueue_pop vq 0x7700 elem 0x5800 in_num 1 out_num 2',
      '10@1.000003:virtio_blk_handle_write vdev 0x5600 req 0x5800 sector 8 nsectors 8',
      '11@1.100000:virtio_set_status vdev 0x5600 val 0',
      '10@1.200002:virtqueue_pop vq 0x7700 elem 0x5800 in_num 2 out_num 1',
      '10@1.200003:virtio_blk_handle_read vdev 0x5600 req 0x5800 sector 8 nsectors 8',
      '10@1.200004:virtio_blk_req_complete vdev 0x5600 req 0x5800 status 0',
    ].join('\n');
    const r = await analyzeText(t + '\n');
    expect(r.requests).toHaveLength(2);
    expect(r.requests.map((q) => q.queue)).toEqual([0, 0]);
    expect(tally(r.model.findings)).toEqual({ 'never-completed/error': 1 });
  });
  it('requests that drain after a dataplane stop or reset line are not lost (QEMU traces on entry, then drains)', async () => {
    const t = [
      '10@1.000000:virtio_set_status vdev 0x5600 val 15',
      '10@1.000001:virtio_blk_data_plane_start dataplane 0x5900',
      '10@1.000002:virtio_queue_notify vdev 0x5600 n 0 vq 0x7700',
      '10@1.000003:virtqueue_pop vq 0x7700 elem 0x5800 in_num 1 out_num 2',
      '10@1.000004:virtio_blk_handle_write vdev 0x5600 req 0x5800 sector 8 nsectors 8',
      '11@1.100000:virtio_blk_data_plane_stop dataplane 0x5900',
      '11@1.100001:virtio_set_status vdev 0x5600 val 0',
      '10@1.100500:virtio_blk_rw_complete vdev 0x5600 req 0x5800 ret 0',
      '10@1.100501:virtio_blk_req_complete vdev 0x5600 req 0x5800 status 0',
      '10@1.100502:virtqueue_fill vq 0x7700 elem 0x5800 len 1 idx 0',
    ].join('\n');
    const r = await analyzeText(t + '\n');
    expect(r.requests.map((q) => q.state)).toEqual(['completed']);
    expect(r.model.stats.resets).toBe(2);
    // The write completed during the drain without a flush: unflushed at the reset.
    expect(tally(r.model.findings)).toEqual({ 'unflushed-writes/error': 1 });
  });
  it('a trace of virtio_blk_* only (no virtqueue_pop): every completion is a request, none is an orphan', async () => {
    const only = RUN1.split('\n').filter((l) => l.includes(':virtio_blk_')).join('\n') + '\n';
    const r = await analyzeText(only);
    expect(r.requests).toHaveLength(13);
    expect(r.model.stats.byOp).toEqual({ read: 1, write: 4, unknown: 8 });
    expect(r.model.stats.orphans).toBe(0);
    expect(r.model.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
  it('flush, discard and get-id without handle events come from the descriptor counts and fill length', async () => {
    const t = [
      'virtqueue_pop vq 0x7700 elem 0x5800 in_num 1 out_num 1',
      'virtio_blk_req_complete vdev 0x5600 req 0x5800 status 0',
      'virtqueue_fill vq 0x7700 elem 0x5800 len 1 idx 0',
      'virtqueue_pop vq 0x7700 elem 0x5800 in_num 1 out_num 2',
      'virtio_blk_req_complete vdev 0x5600 req 0x5800 status 2',
      'virtqueue_fill vq 0x7700 elem 0x5800 len 1 idx 0',
      'virtqueue_pop vq 0x7700 elem 0x5800 in_num 2 out_num 1',
      'virtio_blk_req_complete vdev 0x5600 req 0x5800 status 0',
      'virtqueue_fill vq 0x7700 elem 0x5800 len 21 idx 0',
    ].join('\n');
    const r = await analyzeText(t + '\n');
    expect(r.requests.map((q) => [q.op, q.status])).toEqual([
      ['flush', 'ok'],
      ['discard', 'unsupported'],
      ['get-id', 'ok'],
    ]);
    expect(tally(r.model.findings)).toEqual({ 'io-error/warning': 1 });
  });
});
