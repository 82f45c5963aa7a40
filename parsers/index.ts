// The format registry. Each format is one file exporting one FormatDef; list it here (one line each).
import type { FormatDef } from './types.js';
import { xbdbackXen2 } from './netbsd-xbdback.js';
import { xbdbackXenbus } from './netbsd-xbdback-xenbus.js';
import { linuxBlkback } from './linux-xen-blkback.js';
import { linuxBlkfront } from './linux-xen-blkfront.js';
import { freebsdXbb } from './freebsd-xbb.js';
import { qemuLog } from './qemu-log.js';
import { qemuVirtqueue } from './qemu-virtqueue.js';
import { ftraceBlock } from './ftrace-block.js';
import { qemuSimpletrace } from './qemu-simpletrace.js';
import { blktrace } from './blktrace.js';
import { blkparse } from './blkparse.js';
import { xenRing } from './xen-ring.js';
import { xenRingHexdump } from './xen-ring-text.js';

export const FORMATS: FormatDef[] = [
  xbdbackXen2,
  xbdbackXenbus,
  linuxBlkback,
  linuxBlkfront,
  freebsdXbb,
  qemuLog,
  qemuVirtqueue,
  ftraceBlock,
  qemuSimpletrace,
  blktrace,
  blkparse,
  xenRing,
  xenRingHexdump,
];

export function findFormat(id: string): FormatDef | undefined {
  return FORMATS.find((f) => f.id === id);
}
