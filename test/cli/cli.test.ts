// The CLI end to end (in process): help, version, exit codes, errors, JSON document, stdin.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers.js';

const SEED = 'samples/xen/seed-004-mail.txt';
const tmp = mkdtempSync(join(tmpdir(), 'blkscope-cli-'));

describe('blkscope CLI', () => {
  it('--help lists the commands; every command has help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['analyze', 'explain', 'formats']) expect(r.stdout).toContain(c);
    for (const c of ['analyze', 'explain', 'formats']) {
      const h = await runCli([c, '--help']);
      expect(h.code, c).toBe(0);
      expect(h.stdout).toContain(`Usage: blkscope ${c}`);
    }
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it('analyze prints the summary with findings, evidence, segment map and impact', async () => {
    const r = await runCli(['analyze', SEED]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('netbsd-xbdback');
    expect(r.stdout).toContain('[error] repeated-frame: 0x27f68 appears in 8 segments');
    expect(r.stdout).toContain(`${SEED}:10: > xbdback_io domain 2: frame_and_sects[0]=0x27f68000`);
    expect(r.stdout).toMatch(/0x27f68\s+XXX#####/);
    expect(r.stdout).toContain('disk sectors 9-11 land in frame 0x27f68 sectors 0-2 instead of frame 0x27f67 sectors 0-2');
    expect(r.stdout).toContain('frame 0x27f67 sectors 0-2 never transferred');
  });

  it('--fail-on error exits 1 on the seed, 0 on a clean log; --fail-on none exits 0', async () => {
    expect((await runCli(['analyze', '--fail-on', 'error', SEED])).code).toBe(1);
    expect((await runCli(['analyze', '--fail-on', 'error', 'samples/xen/sg-hole.clean.log'])).code).toBe(0);
    expect((await runCli(['analyze', '--fail-on', 'none', SEED])).code).toBe(0);
    expect((await runCli(['analyze', '--fail-on', 'info', 'samples/xen/never-completed.trigger.log'])).code).toBe(1);
  });

  it('--json prints one document following the schema', async () => {
    const r = await runCli(['analyze', '--json', SEED]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.schemaVersion).toBe(1);
    expect(d.inputs).toEqual([expect.objectContaining({ file: SEED, format: 'netbsd-xbdback', records: 21, skipped: 0 })]);
    expect(d.requests).toHaveLength(2);
    expect(d.requests[0]).toMatchObject({ op: 'read', sector: 1, sectors: 11, bytes: 5632, device: 'dom2' });
    expect(d.requests[0].segments[0]).toEqual({ frame: '0x27f68', firstSect: 0, lastSect: 0 });
    expect(d.requests[0].evidence[0]).toEqual({ file: SEED, line: 9 });
    const f = d.findings.find((x: { rule: string }) => x.rule === 'repeated-frame');
    expect(f).toMatchObject({ severity: 'error', requestId: '0xcd40' });
    expect(f.impact.misdirected[0]).toEqual({ sector: 9, count: 3, expected: { frame: '0x27f67', sect: 0 }, actual: { frame: '0x27f68', sect: 0 } });
    expect(d.stats.byRule).toEqual({ 'repeated-frame': 2, 'sg-hole': 1 });
    expect(d.stats.byOp).toEqual({ read: 1, write: 1 });
  });

  it('reads standard input with -', async () => {
    const r = await runCli(['analyze', '--json', '-'], readFileSync(SEED));
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.inputs[0].file).toBe('<stdin>');
    expect(d.requests).toHaveLength(2);
  });

  it('several files: requests of each, one document', async () => {
    const r = await runCli(['analyze', '--json', SEED, 'samples/xen/never-completed.trigger.log']);
    const d = JSON.parse(r.stdout);
    expect(d.inputs.map((i: { format: string }) => i.format)).toEqual(['netbsd-xbdback', 'netbsd-xbdback-xenbus']);
    expect(d.requests).toHaveLength(4);
  });

  it('an input with no known format: exit 2 and one line naming the file', async () => {
    const p = join(tmp, 'prose.txt');
    writeFileSync(p, 'Hello,\nthis is not a trace at all.\n');
    const r = await runCli(['analyze', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`blkscope: ${p}: no supported format recognised\n`);
  });

  it('a missing file: exit 2, one line; other inputs are still analysed', async () => {
    const r = await runCli(['analyze', '--json', '/nonexistent/x.log', SEED]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('blkscope: /nonexistent/x.log: no such file\n');
    expect(JSON.parse(r.stdout).requests).toHaveLength(2);
  });

  it('usage errors exit 2 with one line', async () => {
    for (const args of [['analyze'], ['analyze', '--fail-on', 'bad', SEED], ['analyze', '--block-size', '100', SEED], ['analyze', '--input-format', 'nope', SEED], ['bogus'], ['explain', 'no-such-rule']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^(blkscope: |error: )/);
    }
  });

  it('--input-format overrides detection', async () => {
    const r = await runCli(['analyze', '--json', '--input-format', 'linux-xen-blkback', SEED]);
    const d = JSON.parse(r.stdout);
    expect(d.inputs[0].format).toBe('linux-xen-blkback');
    expect(d.requests).toHaveLength(0);
  });

  it('formats lists every format with a sample line; explain lists and explains checks', async () => {
    const f = await runCli(['formats']);
    expect(f.stdout).toContain('netbsd-xbdback  [xen, text]');
    expect(f.stdout).toContain('e.g. xbdback op 0 req_cons 0xcd40');
    const e = await runCli(['explain']);
    expect(e.stdout).toContain('repeated-frame');
    const one = await runCli(['explain', 'repeated-frame']);
    expect(one.stdout).toContain('## Why it matters');
  });
});
