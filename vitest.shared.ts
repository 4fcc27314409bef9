import { join } from 'node:path';
import type { ViteUserConfig } from 'vitest/config';

type TestConfig = NonNullable<ViteUserConfig['test']>;

/**
 * One test configuration for every project. Each project writes its results as
 * JSON into `<project>/.vitest/results.json`; `.ci/run` sums them into the
 * closing `N passed, N failed` line that CI reads.
 */
export function sharedTestConfig(projectDir: string): TestConfig {
  return {
    root: projectDir,
    // Only TypeScript sources: never run compiled copies under dist/.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn servers; on a 2-core CI machine, too many test files
    // at once make timing-sensitive tests flaky.
    fileParallelism: true,
    maxWorkers: 2,
    passWithNoTests: true,
    reporters: ['default', 'json'],
    outputFile: { json: join(projectDir, '.vitest', 'results.json') },
  };
}
