// Where a check's doc lives: src/rules/<id>.md in the package (found from this module, built or not).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    dir = dirname(dir);
  }
  return (root = process.cwd());
}

export function ruleDocPath(id: string): string {
  return join(packageRoot(), 'src', 'rules', `${id}.md`);
}
