// blkscope formats: the format registry with one sample line each.
import type { Command } from 'commander';
import { FORMATS } from '../../../parsers/index.js';
import type { CliIO, CliState } from '../program.js';

export function formatsText(verbose = false): string {
  const out: string[] = ['Input formats (detected automatically; --input-format <id> forces one):', ''];
  for (const f of FORMATS) {
    out.push(`${f.id}  [${f.family}, ${f.kind}]  ${f.title}`);
    const sample = f.kind === 'text' ? f.samples[0]?.line : f.sampleText;
    if (sample) out.push(`    e.g. ${sample}`);
    if (verbose) {
      out.push(`    ${f.description}`);
      if (f.url) out.push(`    source: ${f.url}`);
      for (const fd of f.fields) out.push(`      ${fd.name.padEnd(12)} ${fd.type.padEnd(7)} ${fd.description}`);
    }
  }
  return out.join('\n') + '\n';
}

export function registerFormats(program: Command, io: CliIO, state: CliState): void {
  program
    .command('formats')
    .description('list the input formats blkscope reads, with a sample line each')
    .option('-v, --verbose', 'also print each format\'s description, source and fields')
    .action((flags: { verbose?: boolean }) => {
      io.stdout(formatsText(!!flags.verbose));
      state.exitCode = 0;
    });
}
