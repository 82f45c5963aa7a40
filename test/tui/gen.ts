// Generated NetBSD xbdback (Xen 2.0) logs: every request has a unique req_cons (its id); every
// `repeatEvery`-th request names one frame twice (repeated-frame + sg-hole), the others are whole pages.
export interface GenOptions {
  repeatEvery?: number;
}

export function xbdRequest(cons: number, opts: GenOptions = {}): { text: string; repeated: boolean; id: string } {
  const every = opts.repeatEvery ?? 10;
  const repeated = every > 0 && cons % every === 3;
  const lines = [`xbdback op ${cons % 2} req_cons 0x${cons.toString(16)} req_prod 0x${(cons + 1).toString(16)}/0x${((cons + 1) % 64).toString(16)} resp_prod 0x${cons.toString(16)}/0x${(cons % 64).toString(16)}`];
  const sect = cons * 16;
  if (repeated) {
    lines.push('xbdback_io domain 2: frame_and_sects[0]=0x27f68000', 'xbdback_io domain 2: frame_and_sects[1]=0x27f68009');
    lines.push(`xbdback_io domain 2: start sect ${sect} start 0 size 1024`);
  } else {
    const f = (0x20000 + (cons % 0xfff0)).toString(16);
    lines.push(`xbdback_io domain 2: frame_and_sects[0]=0x${f}007`, `xbdback_io domain 2: frame_and_sects[1]=0x${f}007`.replace(f, (0x30000 + (cons % 0xfff0)).toString(16)));
    lines.push(`xbdback_io domain 2: start sect ${sect} start 0 size 8192`);
  }
  lines.push('xbdback_io domain 2: start request');
  return { text: lines.join('\n') + '\n', repeated, id: `0x${cons.toString(16)}` };
}

export function xbdLog(from: number, count: number, opts: GenOptions = {}): { text: string; ids: string[]; repeated: number } {
  let text = '';
  const ids: string[] = [];
  let repeated = 0;
  for (let c = from; c < from + count; c++) {
    const r = xbdRequest(c, opts);
    text += r.text;
    ids.push(r.id);
    if (r.repeated) repeated++;
  }
  return { text, ids, repeated };
}
