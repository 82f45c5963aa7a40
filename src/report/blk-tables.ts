// Text tables for Linux block statistics (stats.devices and stats.latency from the linux-block formats:
// blktrace, blkparse, ftrace). Pure: data in, text out; at most 72 columns, printable ASCII.
// Counts are blkparse's per-device summary; latencies are btt's Q2C/D2C/Q2G/G2I/I2D/M2D (with percentiles
// from a log-scale histogram, 16 buckets per power of two).

interface RW {
  read: number;
  write: number;
}
interface DeviceStats {
  queued: RW;
  merged: RW;
  dispatched: RW;
  requeued?: RW;
  completed: RW;
  depth?: RW;
  queuedKiB?: RW;
  completedKiB?: RW;
}
interface Lat {
  n: number;
  min: number;
  avg: number;
  max: number;
  p50?: number;
  p90?: number;
  p99?: number;
}

export interface BlkTablesData {
  devices?: Record<string, DeviceStats>;
  latency?: Record<string, Record<string, Lat>>;
}

const PHASES = ['Q2C', 'D2C', 'Q2G', 'G2I', 'I2D', 'M2D'];

function pad(s: string, w: number, left = false): string {
  return left ? s.padEnd(w) : s.padStart(w);
}

/** Microseconds with one decimal ("2508.7"); large values without decimals. */
function us(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec)) return '-';
  const v = sec * 1e6;
  return v >= 1e6 ? v.toExponential(2) : v >= 1e5 ? v.toFixed(0) : v.toFixed(1);
}

function safeDev(d: string): string {
  // Device keys come from the input: keep them printable and short.
  return d.replace(/[^\x20-\x7e]/g, '?').slice(0, 20);
}

function sortedDevs(keys: string[]): string[] {
  const num = (k: string) => k.split(',').map((x) => Number(x));
  return [...keys].sort((a, b) => {
    const [a1 = 0, a2 = 0] = num(a);
    const [b1 = 0, b2 = 0] = num(b);
    return a1 - b1 || a2 - b2 || a.localeCompare(b);
  });
}

export function renderBlkTables(data: BlkTablesData): string {
  const out: string[] = [];
  const devs = data.devices ?? {};
  const devKeys = sortedDevs(Object.keys(devs));
  if (devKeys.length) {
    out.push('Linux block devices (counted as blkparse counts them):');
    out.push(`  ${pad('Device', 10, true)} ${pad('Dir', 5, true)} ${pad('Queued', 8)} ${pad('Merged', 7)} ${pad('Issued', 8)} ${pad('Requeued', 8)} ${pad('Done', 8)} ${pad('Depth', 5)}`);
    for (const d of devKeys) {
      const s = devs[d]!;
      for (const dir of ['read', 'write'] as const) {
        const name = dir === 'read' ? safeDev(d) : '';
        out.push(
          `  ${pad(name, 10, true)} ${pad(dir, 5, true)} ${pad(String(s.queued[dir]), 8)} ${pad(String(s.merged[dir]), 7)} ${pad(String(s.dispatched[dir]), 8)} ${pad(String(s.requeued?.[dir] ?? 0), 8)} ${pad(String(s.completed[dir]), 8)} ${pad(String(s.depth?.[dir] ?? '-'), 5)}`.trimEnd(),
        );
      }
    }
  }
  const lat = data.latency ?? {};
  const latKeys = sortedDevs(Object.keys(lat)).filter((d) => Object.keys(lat[d] ?? {}).length > 0);
  if (latKeys.length) {
    if (out.length) out.push('');
    out.push('Latency per phase, as btt pairs them (microseconds):');
    out.push(`  ${pad('Phase', 5, true)} ${pad('N', 8)} ${pad('Min', 8)} ${pad('Avg', 8)} ${pad('p50', 8)} ${pad('p90', 8)} ${pad('p99', 8)} ${pad('Max', 8)}`);
    for (const d of latKeys) {
      out.push(`  ${safeDev(d)}:`);
      for (const p of PHASES) {
        const l = lat[d]![p];
        if (!l || !l.n) continue;
        out.push(`  ${pad(p, 5, true)} ${pad(String(l.n), 8)} ${pad(us(l.min), 8)} ${pad(us(l.avg), 8)} ${pad(us(l.p50), 8)} ${pad(us(l.p90), 8)} ${pad(us(l.p99), 8)} ${pad(us(l.max), 8)}`);
      }
    }
    out.push('  Percentiles are approximate (histogram buckets of 4.4%).');
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** Summary section hook: the tables when the statistics hold Linux block data, else undefined. */
export function blkTablesSection(statsExt: Record<string, unknown>): string | undefined {
  const data = statsExt as BlkTablesData;
  if (!data.devices && !data.latency) return undefined;
  const s = renderBlkTables(data);
  return s || undefined;
}
