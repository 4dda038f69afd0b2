/**
 * The Node.js (V8) flags `skiff agent` runs with, read from `cli/agent-node-flags` so that
 * `bin/skiff` (systemd's ExecStart), `skiff up` and the test harnesses start the agent the
 * same way. They trade a little CPU for resident memory (a 1 MiB young generation, no
 * TurboFan tier-up of undici's WebAssembly HTTP parser, V8's memory-constrained mode); the
 * file explains each one and bench/RESULTS.md has the measurements. Lines starting with `#`
 * are comments.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

function flagsFile(): string {
  // From source (cli/) or from the build (dist/cli/): the file lives in the source tree.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const f = join(dir, 'cli', 'agent-node-flags');
    if (existsSync(f)) return f;
    const g = join(dir, 'agent-node-flags');
    if (existsSync(g)) return g;
    dir = dirname(dir);
  }
  return '';
}

/** V8 flags for the agent process, one per element. */
export function agentNodeFlags(): string[] {
  const f = flagsFile();
  if (!f) return [];
  return readFileSync(f, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}
