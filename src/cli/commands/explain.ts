// blkscope explain [rule]: print a check's documentation (src/rules/<id>.md), or list the checks.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { RULES, findRule } from '../../rules/index.js';
import { ruleDocPath } from '../../rules/docs.js';
import type { CliIO, CliState } from '../program.js';
import { UsageError } from '../options.js';

export function explainText(id?: string): string {
  if (!id) {
    const w = Math.max(...RULES.map((r) => r.meta.id.length));
    return (
      'Checks (blkscope explain <id> for details):\n' +
      RULES.map((r) => `  ${r.meta.id.padEnd(w)}  ${r.meta.defaultSeverity.padEnd(7)}  ${r.meta.summary}`).join('\n') +
      '\n'
    );
  }
  const rule = findRule(id);
  if (!rule) throw new UsageError(`unknown check '${id}'; known: ${RULES.map((r) => r.meta.id).join(', ')}`);
  let doc: string;
  try {
    doc = readFileSync(ruleDocPath(rule.meta.id), 'utf8');
  } catch {
    doc = `# ${rule.meta.id}\n\n${rule.meta.summary}\n`;
  }
  return `${rule.meta.id} (${rule.meta.group}, default severity ${rule.meta.defaultSeverity}; ${rule.meta.families.join(', ')})\n\n${doc.trimEnd()}\n`;
}

export function registerExplain(program: Command, io: CliIO, state: CliState): void {
  program
    .command('explain')
    .description('explain a check: what it flags, why it matters, examples')
    .argument('[rule]', 'check id (omit to list all checks)')
    .action((id: string | undefined) => {
      io.stdout(explainText(id));
      state.exitCode = 0;
    });
}
