import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { KUBELET_VERSION, KUBERNETES_VERSION, SKIFF_VERSION, goArch, userAgent } from './version.js';

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SKIFF_VERSION).toBe(pkg.version);
  });

  it('is semver with build metadata on the Kubernetes version', () => {
    expect(KUBELET_VERSION).toBe(`${KUBERNETES_VERSION}+skiff.${SKIFF_VERSION}`);
    // The semver.org regular expression, with the leading "v" Kubernetes uses.
    const semver = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
    const m = semver.exec(KUBELET_VERSION);
    expect(m).not.toBeNull();
    expect(m![4]).toBeUndefined(); // no pre-release part: compares as v1.32.0
  });

  it('maps Node architectures to GOARCH', () => {
    expect(goArch('x64')).toBe('amd64');
    expect(goArch('arm64')).toBe('arm64');
    expect(userAgent()).toMatch(/^kubelet\/v1\.32\.0\+skiff\.\S+ \(linux\/\w+\)$/);
  });
});
