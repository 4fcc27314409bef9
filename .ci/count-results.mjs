// Sums every project's vitest JSON results into the one line CI reads.
// A test file that failed to load counts as one failure, so it cannot hide.
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let projects = 0;
for (const root of ['packages', 'apps', 'tools']) {
  if (!existsSync(root)) continue;
  for (const name of readdirSync(root)) {
    const file = join(root, name, '.vitest', 'results.json');
    if (!existsSync(file)) continue;
    projects += 1;
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    const loadFailures = (r.testResults ?? []).filter(
      (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
    ).length;
    failed += loadFailures;
  }
}
console.error(`(results from ${projects} projects)`);
console.log(`${passed} passed, ${failed} failed`);
