// The format registry. Each format is one file exporting one FormatDef; list it here (one line each).
import type { FormatDef } from './types.js';
import { xbdbackXen2 } from './netbsd-xbdback-xen2.js';
import { xbdback2005 } from './netbsd-xbdback-2005.js';
import { xbdbackXenbus } from './netbsd-xbdback-xenbus.js';
import { linuxBlkback } from './linux-xen-blkback.js';
import { linuxBlkfront } from './linux-xen-blkfront.js';

export const FORMATS: FormatDef[] = [
  xbdbackXen2,
  xbdback2005,
  xbdbackXenbus,
  linuxBlkback,
  linuxBlkfront,
];

export function findFormat(id: string): FormatDef | undefined {
  return FORMATS.find((f) => f.id === id);
}
