// compareViews on small request lists: order, window, one-sided placement, device pairing.
import { describe, expect, it } from 'vitest';
import type { Request } from '../../src/model/types.js';
import { align, compareViews } from '../../src/model/two-views.js';

let seq = 0;
function req(device: string, op: string, sector: number, sectors: number, extra: Partial<Request> = {}): Request {
  return {
    key: `${device}|${seq}`,
    id: String(seq),
    format: 't',
    file: 't',
    seq: seq++,
    device,
    op,
    sector,
    sectors,
    bytes: sectors * 512,
    segments: [],
    state: 'completed',
    evidence: [],
    ...extra,
  };
}

const writes = (dev: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => req(dev, 'write', from + i * 8, 8));

describe('align', () => {
  it('matches in order and tolerates reordering within the window', () => {
    const g = writes('8,0', 6);
    const h = [g[1]!, g[0]!, g[2]!, g[4]!, g[3]!, g[5]!].map((r) => req('0xh', r.op as string, r.sector, r.sectors));
    const a = align(g, h, 4);
    expect(a.matched).toBe(6);
    expect(a.pairs.map(([hi, gi]) => [hi, gi])).toEqual([
      [0, 1],
      [1, 0],
      [2, 2],
      [3, 4],
      [4, 3],
      [5, 5],
    ]);
  });
  it('a repeat of the same range far away is not taken for an earlier one (window)', () => {
    // Host starts with a read the guest only makes much later (boot probe vs. a later probe).
    const g = [...writes('8,0', 20, 1000), req('8,0', 'read', 0, 8)];
    const h = [req('0xh', 'read', 0, 8), ...writes('0xh', 20, 1000), req('0xh', 'read', 0, 8)];
    const a = align(g, h, 4);
    expect(a.pairs.find(([hi]) => hi === 0)).toBeUndefined();
    expect(a.pairs.find(([hi]) => hi === 21)).toEqual([21, 20, 'exact']);
  });
  it('a read never matches a write of the same range', () => {
    const a = align([req('8,0', 'read', 8, 8)], [req('0xh', 'write', 8, 8)]);
    expect(a.matched).toBe(0);
  });
  it('flushes and GET_ID match by kind; discard without a host range matches by op', () => {
    const g = [req('8,0', 'flush', 0, 0), req('8,0', 'passthrough', 0, 0), req('8,0', 'discard', 2048, 128)];
    const h = [req('0xh', 'flush', 0, 0), req('0xh', 'get-id', 0, 0), req('0xh', 'discard', 0, 0)];
    expect(align(g, h).pairs.map((p) => p[2])).toEqual(['exact', 'exact', 'op']);
  });
});

describe('compareViews', () => {
  it('pairs devices by agreement and places one-sided requests', () => {
    const ga = writes('254,0', 5, 0);
    const gb = writes('254,16', 5, 5000);
    // Host: device A lost guest write #2 and has an extra read in the middle; device B is complete.
    const hb = gb.map((r) => req('0xB', 'write', r.sector, r.sectors));
    const ha = [req('0xA', 'write', 0, 8), req('0xA', 'write', 8, 8), req('0xA', 'read', 777, 8), req('0xA', 'write', 24, 8), req('0xA', 'write', 32, 8)];
    const v = compareViews({ requests: [...ga, ...gb] }, { requests: [...hb, ...ha] });
    expect(v.pairs.map((p) => [p.guest, p.host])).toEqual([
      ['254,16', '0xB'],
      ['254,0', '0xA'],
    ]);
    expect(v.counts).toMatchObject({ matched: 9, guestOnly: 1, hostOnly: 1, guestOnlyWithin: 1, hostOnlyWithin: 1 });
    const g2 = v.rows.findIndex((r) => r.guest && !r.host);
    expect(v.rows[g2]!.guest!.sector).toBe(16);
    // Placed right after the row of the guest request before it (write 8).
    expect(v.rows[g2 - 1]!.guest!.sector).toBe(8);
  });
  it('user-chosen devices; unknown devices give no pair and everything one-sided', () => {
    const g = writes('254,0', 3);
    const h = g.map((r) => req('0xA', 'write', r.sector, r.sectors));
    const v = compareViews({ requests: g }, { requests: h }, { guestDev: '254,0', hostDev: '0xA' });
    expect(v.pairs[0]).toMatchObject({ guest: '254,0', host: '0xA', matched: 3, chosen: 'user' });
    const none = compareViews({ requests: g }, { requests: h }, { guestDev: '9,9' });
    expect(none.counts.matched).toBe(0);
    expect(none.counts.guestOnly + none.counts.hostOnly).toBe(6);
  });
  it('latency overhead: guest latency minus host latency of matched data requests', () => {
    const g = [req('8,0', 'write', 0, 8, { latency: 0.003 }), req('8,0', 'write', 8, 8, { latency: 0.005 })];
    const h = [req('0xA', 'write', 0, 8, { latency: 0.001 }), req('0xA', 'write', 8, 8, { latency: 0.002 })];
    const v = compareViews({ requests: g }, { requests: h });
    expect(v.overhead!.n).toBe(2);
    expect(v.overhead!.max).toBeCloseTo(0.003, 9);
    expect(v.overhead!.median).toBeCloseTo(0.002, 9);
  });
});
