import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

/**
 * The workflow sandbox's import rule as a reviewer relies on it: a Node-only import in `domain/` or
 * `workflows/` fails lint, while what sandbox code legitimately imports passes. Linted as text under the real
 * config, in place of a file of those folders (the type-aware config lints only files the project includes).
 */
const eslint = new ESLint({ cwd: process.cwd() });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, 'ESLint returned no result');
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const probeFile = { domain: 'domain/contracts.ts', workflows: 'workflows/index.ts' } as const;

describe('sandbox import rule', () => {
  for (const folder of ['domain', 'workflows'] as const) {
    for (const source of ['node:fs', 'fs', 'fs/promises', 'node:crypto', 'jose', 'pg', '../lib/logger']) {
      it(`rejects ${source} in ${folder}/`, async () => {
        const problems = await restrictedImports(
          probeFile[folder],
          `import * as m from '${source}';\nexport const probe = m;\n`,
        );
        assert.equal(problems.length, 1, `expected one restricted import, got ${JSON.stringify(problems)}`);
      });
    }
  }

  it('lets workflows import @temporalio/workflow, domain/ and the types of activities', async () => {
    const problems = await restrictedImports(
      probeFile.workflows,
      [
        "import { sleep } from '@temporalio/workflow';",
        "import type { Activities } from '../activities';",
        "import { corsFor } from '../domain/cors';",
        'export const probe: [unknown, unknown, Activities | null] = [sleep, corsFor, null];',
        '',
      ].join('\n'),
    );
    assert.deepEqual(problems, []);
  });

  it('refuses a value import of activities in workflows/', async () => {
    const problems = await restrictedImports(
      probeFile.workflows,
      "import { createActivities } from '../activities';\nexport const probe = createActivities;\n",
    );
    assert.equal(problems.length, 1);
  });

  it('keeps domain/ free of the rest of the repository', async () => {
    const problems = await restrictedImports(
      probeFile.domain,
      "import { proxies } from '../workflows/proxies';\nexport const probe = proxies;\n",
    );
    assert.equal(problems.length, 1);
  });
});
