// The check registry: one line per check (src/rules/<id>.ts, doc in src/rules/<id>.md).
import type { Rule } from './types.js';
import { repeatedFrame } from './repeated-frame.js';
import { sgHole } from './sg-hole.js';
import { sizeMismatch } from './size-mismatch.js';
import { badSegment } from './bad-segment.js';
import { segmentLimit } from './segment-limit.js';
import { ringOverflow } from './ring-overflow.js';
import { ringIndexRegression } from './ring-index-regression.js';
import { orphanResponse } from './orphan-response.js';
import { neverCompleted } from './never-completed.js';
import { accessDenied } from './access-denied.js';
import { misaligned } from './misaligned.js';
import { grantReuse } from './grant-reuse.js';
import { repeatedPage } from './repeated-page.js';
import { doublePop } from './double-pop.js';
import { doubleComplete } from './double-complete.js';
import { unflushedWrites } from './unflushed-writes.js';
import { overlappingWrites } from './overlapping-writes.js';
import { ioError } from './io-error.js';
import { noncontiguousMerge } from './noncontiguous-merge.js';
import { headerOverwrite } from './header-overwrite.js';
import { requeueStorm } from './requeue-storm.js';

export const RULES: Rule[] = [
  repeatedFrame,
  sgHole,
  sizeMismatch,
  badSegment,
  segmentLimit,
  ringOverflow,
  ringIndexRegression,
  orphanResponse,
  neverCompleted,
  accessDenied,
  misaligned,
  grantReuse,
  repeatedPage,
  doublePop,
  doubleComplete,
  unflushedWrites,
  overlappingWrites,
  ioError,
  noncontiguousMerge,
  headerOverwrite,
  requeueStorm,
];

export function findRule(id: string): Rule | undefined {
  return RULES.find((r) => r.meta.id === id);
}
