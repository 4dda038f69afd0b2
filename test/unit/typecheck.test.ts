/**
 * The whole tree, tests included, type-checks under the strict settings (`tsconfig.test.json`).
 * Vitest strips types without checking them, and the build (`tsconfig.json`) leaves test
 * files out, so without this a test could drift from the types it exercises.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

it('tsc finds no type errors in sources and tests', async () => {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const errors = await promisify(execFile)(process.execPath, [tsc, '-p', join(repo, 'tsconfig.test.json')], { cwd: repo, maxBuffer: 64 << 20 }).then(
    () => '',
    (err: { stdout?: string; message: string }) => err.stdout || err.message,
  );
  expect(errors.split('\n').filter((l) => l.includes('error TS'))).toEqual([]);
}, 300_000);
