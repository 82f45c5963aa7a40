// Test helper: random QEMU log-backend traces that exercise every event the virtio rebuild reads: pointer
// reuse, requests with events missing, two devices and threads, resets and dataplane stops, zone events,
// merged batches, errors, qcow2 and file-node writes, pointers above 2^53, lines without timestamps.
// Deterministic per seed (xorshift32).

/** A deterministic random number generator in [0, 1) (xorshift32). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function randomQemuLog(seed: number): string {
  const rnd = xorshift(seed * 2654435761);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const hx = (n: number): string => '0x' + n.toString(16);
  const vdevs = [0x5600aa00, 0x5600bb00];
  const vqs = [0x7f0010, 0x7f0020];
  const elems = Array.from({ length: 6 }, (_, i) => hx(0x5600c000 + i * 0x100));
  const big = ['0xffff888000003000', '0xffff888000003001'];
  const nodes = [0x5600d000, 0x5600e000];
  const tids = [101, 102];
  const bare = rnd() < 0.2;
  let t = 1000000;
  const lines: string[] = [];
  const line = (tid: number, ev: string, body: string): void => {
    t += 1 + Math.floor(rnd() * 5);
    const sec = Math.floor(t / 1e6);
    const us = String(t % 1e6).padStart(6, '0');
    lines.push(bare ? `${ev} ${body}` : `${tid}@${sec}.${us}:${ev} ${body}`);
  };
  const n = 40 + Math.floor(rnd() * 200);
  for (let i = 0; i < n; i++) {
    const tid = pick(tids);
    const d = pick([0, 0, 0, 1]);
    const vdev = hx(vdevs[d]!);
    const vq = hx(vqs[d]!);
    const e = rnd() < 0.05 ? pick(big) : pick(elems);
    const r = rnd();
    if (r < 0.03) line(tid, 'virtio_set_status', `vdev ${vdev} val ${pick([0, 4, 15])}`);
    else if (r < 0.05) line(tid, pick(['virtio_blk_data_plane_start', 'virtio_blk_data_plane_stop']), `dataplane ${hx(0x9000 + d)}`);
    else if (r < 0.07) line(tid, 'virtio_blk_submit_multireq', `vdev ${vdev} mrb 0x7ffe0000 start 0 num_reqs 2 offset ${512 * Math.floor(rnd() * 100)} size 8192 is_write ${pick([0, 1])}`);
    else if (r < 0.09) line(tid, pick(['qcow2_writev_done_req', 'qcow2_l2_allocate_done', 'qcow2_cache_entry_flush', 'qcow2_writev_data']), pick(['co 0x1 ret -5', 'co 0x1 offset 0x0', 'co 0x1 offset 0x1000']));
    else if (r < 0.11) line(tid, 'bdrv_co_pwritev_part', `bs ${hx(pick(nodes))} offset ${pick([0, 4096, 65536, 1048576])} bytes 4096 flags 0x0`);
    else if (r < 0.12) line(tid, 'qcow2_handle_alloc', `co 0x1 guest_offset 0x0 host_offset ${pick(['0xffffffffffffffff', '0x0', '0x10000'])} bytes 0x1000`);
    else if (r < 0.13) line(tid, 'bdrv_co_pwrite_zeroes', `bs ${hx(nodes[0]!)} offset 0 bytes 4096 flags 0x0`);
    else if (r < 0.14) line(tid, 'virtio_blk_handle_zone_report', `vdev ${vdev} req ${e} sector 0x10 nr_zones 4`);
    else if (r < 0.15) line(tid, 'virtio_blk_zone_report_complete', `vdev ${vdev} req ${e} nr_zones 4 ret 0`);
    else if (r < 0.16) line(tid, 'virtio_blk_handle_zone_append', `vdev ${vdev} req ${e}, append sector 0x20`);
    else if (r < 0.17) line(tid, 'some_other_event', 'x 1');
    else {
      // A request, some of its events missing.
      const inN = pick([1, 2, 2, 3]);
      const outN = pick([1, 1, 2]);
      if (rnd() < 0.9) line(tid, 'virtio_queue_notify', `vdev ${vdev} n ${d} vq ${vq}`);
      if (rnd() < 0.8) line(tid, 'virtqueue_alloc_element', `elem ${e} size 240 in_num ${inN} out_num ${outN}`);
      if (rnd() < 0.9) line(tid, 'virtqueue_pop', `vq ${vq} elem ${e} in_num ${inN} out_num ${outN}`);
      const sector = Math.floor(rnd() * 1000) * pick([1, 8]);
      const ns = pick([1, 8, 16]);
      const w = rnd() < 0.5;
      if (rnd() < 0.7) line(tid, w ? 'virtio_blk_handle_write' : 'virtio_blk_handle_read', `vdev ${vdev} req ${e} sector ${sector} nsectors ${ns}`);
      if (rnd() < 0.7) line(tid, w ? 'blk_co_pwritev' : 'blk_co_preadv', `blk 0x5600f000 bs ${hx(nodes[0]!)} offset ${sector * 512} bytes ${ns * 512} flags ${pick(['0x0', '0x2', '0x8'])}`);
      if (rnd() < 0.3) line(tid, 'bdrv_co_preadv_part', `bs ${hx(nodes[1]!)} offset ${sector * 512} bytes ${ns * 512} flags 0x0`);
      if (rnd() < 0.8) line(pick(tids), 'virtio_blk_rw_complete', `vdev ${vdev} req ${e} ret ${pick([0, 0, 0, -5])}`);
      if (rnd() < 0.85) line(tid, 'virtio_blk_req_complete', `vdev ${vdev} req ${e} status ${pick([0, 0, 0, 1, 2])}`);
      if (rnd() < 0.85) line(pick([tid, tid, pick(tids)]), 'virtqueue_fill', `vq ${vq} elem ${e} len ${w ? 1 : ns * 512 + 1} idx 0`);
      if (rnd() < 0.8) line(tid, 'virtqueue_flush', `vq ${vq} count 1`);
      if (rnd() < 0.5) line(tid, pick(['virtio_notify_irqfd', 'virtio_notify']), `vdev ${vdev} vq ${vq}`);
    }
  }
  return lines.join('\n') + '\n';
}
