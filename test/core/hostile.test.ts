// Bad input never crashes, is reported with file and line, and no control byte from the input reaches stdout.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { analyzeText, runCli } from '../helpers.js';

const SEED = readFileSync('samples/xen/seed-004-mail.txt');
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('hostile input', () => {
  it('garbage bytes: exit 2 "no supported format recognised", no crash', async () => {
    const junk = Buffer.alloc(100000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
    const r = await runCli(['analyze', '-'], junk);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('blkscope: <stdin>: no supported format recognised\n');
  });

  it('escape sequences in log lines (ESC, CSI, OSC, C1, BS) never reach stdout raw', async () => {
    const evil = [
      'xbdback op 0 req_cons 0x10 req_prod 0x11/0x11 resp_prod 0x10/0x10',
      'xbdback_io domain 2: frame_and_sects[0]=0x27f68000\u001b[2J\u001b]0;pwned\u0007',
      'xbdback_io domain 2: frame_and_sects[0]=0x27f68000',
      'xbdback_io domain 2: frame_and_sects[1]=0x27f68009',
      'xbdback_io domain 2: start sect 1 start 0 size 1024\u0008\u0008\u009b31m',
      'xbdback_io domain 2: start request',
      'xbdback_io domain 2: \u001b[31mfake\u001b[0m segments',
    ].join('\n');
    for (const args of [['analyze', '-'], ['analyze', '--json', '-']]) {
      const r = await runCli(args, evil);
      expect(r.code).toBe(0);
      expect(RAW_CONTROL.test(r.stdout), `raw control byte in: ${args.join(' ')}`).toBe(false);
      expect(RAW_CONTROL.test(r.stderr)).toBe(false);
    }
    const t = await runCli(['analyze', '-'], evil);
    expect(t.stdout).toContain('\\x1b[2J');
    expect(t.stdout).toMatch(/skipped line 2: looks like netbsd-xbdback but does not parse/);
  });

  it('truncated lines, 1 MB lines, NUL bytes, invalid UTF-8 and CRLF: the good part is still analysed', async () => {
    const huge = 'xbdback_io domain 2: frame_and_sects[3]=0x' + 'f'.repeat(1 << 20);
    const parts = [
      SEED.subarray(0, SEED.indexOf('frame_and_sects[3]')), // cut mid-line
      Buffer.from('\n' + huge + '\n'),
      Buffer.from([0, 0xff, 0xfe, 0xc3, 0x28, 0x0a]),
      Buffer.from(SEED.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'),
    ];
    const r = await analyzeText(Buffer.concat(parts));
    expect(r.errors).toEqual([]);
    // The complete copy of the mail still yields both requests and the findings.
    expect(r.requests.filter((q) => q.sector === 1 && q.segments.length === 11)).toHaveLength(1);
    expect(r.requests.filter((q) => q.sector === 524304)).toHaveLength(1);
    expect(r.model.findings.filter((f) => f.rule === 'repeated-frame' && f.data!.frame === '0x27f68').length).toBeGreaterThanOrEqual(1);
  });

  it('absurd numbers do not crash or hang', async () => {
    const lines = [
      'xbdback op 99999999999999999999 req_cons 0xffffffffffffffffffff req_prod 0x0/0x0 resp_prod 0xffffffff/0x3f',
      'xbdback_io domain 99999999999: frame_and_sects[99999999]=0xffffffffffffffffffffffffffff',
      'xbdback_io domain 2: start sect -5 start 999999999999 size -1',
      'xbdback_io domain 2: start request',
      'xen-blkback: Bad number of segments in request (-2147483648)',
      'xen-blkback: access denied: write of [18446744073709551615,0] on dev=ffffffff',
    ].join('\n');
    const r = await analyzeText(lines);
    expect(r.errors).toEqual([]);
    expect(r.requests.length).toBeGreaterThan(0);
  });

  it('random text and random bytes never throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom(...SEED.toString().split('\n'))), { maxLength: 60 }), async (lines) => {
        const r = await analyzeText(lines.join('\n'));
        expect(Array.isArray(r.inputs)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
