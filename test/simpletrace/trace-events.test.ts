// trace-events declarations (tracetool's rules) and the printf subset the log style needs.
import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { compileFormat, formatPieces, isStringType, joinFormat, loadTraceEvents, parseArgs, parseTraceEvents, TraceEventsError } from '../../parsers/qemu/trace-events.js';

const R = join(dirname(new URL(import.meta.url).pathname), '../../../shared/realtraces');

describe('trace-events declarations', () => {
  it('reads QEMU 7.2 trace-events-all without errors, with string and vcpu arguments', () => {
    const te = loadTraceEvents(join(R, 'simpletrace/trace-events-all'))!;
    expect(te.errors).toEqual([]);
    expect(te.list.length).toBe(te.count);
    const boc = te.byName.get('bdrv_open_common')!;
    expect(boc.args.map((a) => [a.name, a.type, a.isString, a.isPointer])).toEqual([
      ['bs', 'void *', false, true],
      ['filename', 'const char *', true, false],
      ['flags', 'int', false, false],
      ['format_name', 'const char *', true, false],
    ]);
    expect(te.byName.get('guest_cpu_enter')!.args.map((a) => a.name)).toEqual(['__cpu']);
    expect(te.byName.get('guest_cpu_enter')!.props).toEqual(['vcpu']);
    expect(te.byName.get('qxl_interface_set_mm_time')!.props).toEqual(['disable']);
    expect(te.byName.get('no_such_event')).toBeUndefined();
  });

  it('splits arguments at the last * or the last blank, like tracetool', () => {
    expect(parseArgs('void')).toEqual([]);
    expect(parseArgs('const char *s, char*t, uint64_t  n, const void *const p, char **argv').map((a) => [a.type, a.name, a.isString])).toEqual([
      ['const char *', 's', true],
      ['char*', 't', true],
      ['uint64_t', 'n', false],
      ['const void *', 'const p', false],
      ['char **', 'argv', false],
    ]);
    expect(() => parseArgs('int a,')).toThrow(TraceEventsError);
    expect(isStringType('  const char *')).toBe(true);
    expect(isStringType('unsigned char *')).toBe(false);
  });

  it('later declarations win; junk lines are reported, not fatal', () => {
    const te = parseTraceEvents('# c\n\nev(int a) "a %d"\nthis is junk\nev(int a, int b) "%d %d"\n');
    expect(te.byName.get('ev')!.args.map((a) => a.name)).toEqual(['a', 'b']);
    expect(te.list.map((d) => d.line)).toEqual([3, 5]);
    expect(te.errors).toEqual(['line 4: not a trace event declaration']);
  });

  it('an empty or unreadable file is a one-line error naming it', () => {
    expect(() => loadTraceEvents('/nonexistent/te')).toThrow(/^\/nonexistent\/te: cannot read trace-events file: no such file$/);
    expect(() => loadTraceEvents(R)).toThrow(/is a directory/);
  });
});

describe('printf formats', () => {
  const fmt = (f: string, args: (bigint | string)[]) => formatPieces(compileFormat(joinFormat(f)!)!, args, (s) => s);

  it('joins literals and PRI macros (x86-64 glibc)', () => {
    expect(joinFormat('"vdev %p sector %"PRIu64" n %" PRIx64 ""')).toBe('vdev %p sector %lu n %lx');
    expect(joinFormat('"a" BOGUS "b"')).toBeUndefined();
  });

  it('reinterprets the stored u64 by the conversion, as C would', () => {
    expect(fmt('"ret %d"', [0xfffffffffffffffbn])).toBe('ret -5');
    expect(fmt('"%u %x %lx"', [0xfffffffffffffffbn, 0xfffffffffffffffbn, 0xfffffffffffffffbn])).toBe('4294967291 fffffffb fffffffffffffffb');
    expect(fmt('"%"PRId64" %"PRIu64', [0xfffffffffffffffbn, 0xfffffffffffffffbn])).toBe('-5 18446744073709551611');
    expect(fmt('"%p %p"', [0n, 0x55c2n])).toBe('(nil) 0x55c2');
    expect(fmt('"[%08x] [%-4d] [%4d] [%#x] [%.3d] [%c]"', [0xabn, 7n, 7n, 255n, 5n, 65n])).toBe('[000000ab] [7   ] [   7] [0xff] [005] [A]');
    expect(fmt('"%s|%.2s|%5s|%%"', ['abc', 'abc', 'ab'])).toBe('abc|ab|   ab|%');
    expect(fmt('"%.*s"', [2n, 'abcdef'])).toBe('ab');
    expect(fmt('"%d %d"', [1n])).toBe('1 ?');
  });
});
