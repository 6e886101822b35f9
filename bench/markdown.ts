/** Prints a result file as the Markdown table of docs/performance.md: `tsx bench/markdown.ts <file>`. */
import { readFile } from 'node:fs/promises';
import { renderMarkdown, resultProblems, type BenchResult } from './lib/stats.ts';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: tsx bench/markdown.ts bench/results/<timestamp>.json\n');
  process.exit(2);
}
const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
const problems = resultProblems(parsed);
if (problems.length > 0) {
  process.stderr.write(`${file}: ${problems.join('; ')}\n`);
  process.exit(1);
}
process.stdout.write(`${renderMarkdown(parsed as BenchResult)}\n`);
