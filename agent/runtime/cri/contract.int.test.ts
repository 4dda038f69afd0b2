/**
 * The runtime contract (`../contract.ts`) against the CRI client and a real containerd,
 * the same suite the FakeRuntime passes: this is what keeps the fake honest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { containerdTestSkipReason, startTestContainerd } from '../../../cluster/containerd/index.js';
import { BUSYBOX_IMAGE } from '../../../images/index.js';
import { runtimeContract } from '../contract.js';

const skipReason = containerdTestSkipReason();

if (skipReason) {
  describe('runtime contract: containerd (CRI)', () => {
    it.skip(`skipped: ${skipReason}`, () => undefined);
  });
} else {
  runtimeContract('containerd (CRI)', async () => {
    const env = await startTestContainerd({ podCidr: '10.88.0.0/24' });
    const logRoot = mkdtempSync(join(tmpdir(), 'skiff-contract-logs-'));
    return {
      runtime: env.cri,
      image: BUSYBOX_IMAGE,
      missingImage: 'docker.io/library/doesnotexist:1',
      runForever: ['sleep', '3600'],
      exitWith: (code: number) => ['sh', '-c', `exit ${code}`],
      logRoot,
      async teardown() {
        await env.dispose();
        rmSync(logRoot, { recursive: true, force: true });
      },
    };
  });
}
