import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { agentNodeFlags } from './node-flags.js';

describe('agentNodeFlags', () => {
  it('reads cli/agent-node-flags without comments or blank lines', () => {
    const flags = agentNodeFlags();
    expect(flags.length).toBeGreaterThan(0);
    for (const f of flags) expect(f).toMatch(/^--[a-z0-9-]+(=\S+)?$/);
    expect(flags).toContain('--max-semi-space-size=1');
  });

  it('names only flags this Node.js accepts (a removed V8 flag would stop the agent from starting)', () => {
    const r = spawnSync(process.execPath, [...agentNodeFlags(), '-e', 'process.exit(typeof WebAssembly === "object" ? 0 : 3)'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
