// `blkscope report` renderers: pure functions from an analysis result (plus what the caller collected and
// read) to one string. No I/O here; src/cli/commands/report.ts does the reading and writing.
import type { AnalysisResult } from '../../analyze.js';
import { selectReport, selectionJson, type ReportData, type ReportFormat, type ReportOptions } from './select.js';
import { renderText } from './text.js';
import { renderMarkdown } from './md.js';
import { renderHtml } from './html.js';
import { safeStringify } from '../json.js';

export type { ReportFormat, ReportOptions, ReportData };
export { selectReport, selectionJson };
export { ReportCollector } from './collect.js';
export { parseRuleDoc } from './ruledoc.js';

export const REPORT_FORMATS: ReportFormat[] = ['text', 'md', 'html', 'json'];

/**
 * Render a report. For 'json' this returns only the `"report"` member's value (the selection); the command
 * streams the analyze document around it (see `jsonReportTail`).
 */
export function render(result: AnalysisResult, format: ReportFormat, opts: ReportOptions): string {
  const d = selectReport(result, opts);
  return renderData(d, format, opts);
}

export function renderData(d: ReportData, format: ReportFormat, opts: ReportOptions): string {
  switch (format) {
    case 'text':
      return renderText(d, opts);
    case 'md':
      return renderMarkdown(d, opts);
    case 'html':
      return renderHtml(d, opts);
    case 'json':
      return safeStringify(selectionJson(d));
  }
}

/**
 * The analyze document's tail (as JsonDocumentWriter.end writes it: `...,"stats":{...}\n}\n`) with the
 * report's selection added as a last member `"report"`.
 */
export function jsonReportTail(docTail: string, selection: string): string {
  const end = docTail.lastIndexOf('}');
  if (end < 0) throw new Error('analyze JSON document has no closing brace');
  return docTail.slice(0, end).replace(/\s*$/, '') + `,\n"report":${selection}\n}\n`;
}
