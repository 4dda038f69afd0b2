import { describe, expect, it } from 'vitest';
import { containerdPaths, probeCniBinDir, renderContainerdConfig } from './config.js';
import { mountsUnder } from './procs.js';

describe('containerd config', () => {
  const paths = containerdPaths('/tmp/skiff-x');
  const toml = renderContainerdConfig({ paths, cniBinDir: '/usr/lib/cni' });

  it('lays everything out below the state dir', () => {
    expect(paths).toMatchObject({
      root: '/tmp/skiff-x/root',
      state: '/tmp/skiff-x/state',
      address: '/tmp/skiff-x/containerd.sock',
      config: '/tmp/skiff-x/config.toml',
      runcRoot: '/tmp/skiff-x/state/runc',
      cniConfDir: '/tmp/skiff-x/cni/net.d',
    });
  });

  it('renders a version 2 config for a private containerd with the CRI settings Skiff needs', () => {
    expect(toml).toMatch(/^version = 2$/m);
    expect(toml).toMatch(/^root = "\/tmp\/skiff-x\/root"$/m);
    expect(toml).toMatch(/^state = "\/tmp\/skiff-x\/state"$/m);
    expect(toml).toMatch(/^\[grpc\]\n {2}address = "\/tmp\/skiff-x\/containerd.sock"\n/m);
    expect(toml).toMatch(/tcp_address = ""/);
    expect(toml).toMatch(/^\[debug\]\n(.*\n)? {2}address = ""/m);
    expect(toml).toMatch(/^ {2}restrict_oom_score_adj = true$/m);
    expect(toml).toMatch(/^ {2}sandbox_image = "registry.k8s.io\/pause:3.6"$/m);
    expect(toml).toMatch(/^ {2}max_container_log_line_size = 16384$/m);
    expect(toml).toMatch(/^ {2}stream_server_address = "127.0.0.1"$/m);
    expect(toml).toMatch(/^ {2}stream_server_port = "0"$/m);
    expect(toml).toMatch(/\.cni\]\n {4}bin_dir = "\/usr\/lib\/cni"\n {4}conf_dir = "\/tmp\/skiff-x\/cni\/net.d"\n/);
    expect(toml).toMatch(/^ {4}snapshotter = "overlayfs"$/m);
    expect(toml).toMatch(/^ {6}runtime_type = "io.containerd.runc.v2"$/m);
    expect(toml).toMatch(/^ {8}SystemdCgroup = false$/m);
    expect(toml).toMatch(/^ {8}Root = "\/tmp\/skiff-x\/state\/runc"$/m);
    // The tasks service (and so CRI) needs the v1 runtime plugin in containerd 1.6.
    expect(toml).not.toMatch(/io\.containerd\.runtime\.v1\.linux/);
  });

  it('escapes paths as TOML strings', () => {
    const odd = renderContainerdConfig({ paths: containerdPaths('/tmp/a "b"\\c'), cniBinDir: '/x' });
    expect(odd).toContain('root = "/tmp/a \\"b\\"\\\\c/root"');
  });

  it('probes /usr/lib/cni first, then /opt/cni/bin', () => {
    expect(probeCniBinDir((p) => p === '/usr/lib/cni/bridge')).toBe('/usr/lib/cni');
    expect(probeCniBinDir((p) => p === '/opt/cni/bin/bridge')).toBe('/opt/cni/bin');
    expect(probeCniBinDir(() => false)).toBe('/usr/lib/cni');
  });
});

describe('mountsUnder', () => {
  it('lists mounts at or below a dir, deepest first, decoding escapes', async () => {
    const info = [
      '22 27 0:21 / /proc rw,relatime - proc proc rw',
      '90 27 0:50 / /tmp/s/state/a/rootfs rw - overlay overlay rw',
      '91 27 0:51 / /tmp/s/state/a/rootfs/dev rw - tmpfs tmpfs rw',
      '92 27 0:4 / /tmp/s/state/netns/cni-1 rw - nsfs nsfs rw',
      '93 27 0:52 / /tmp/s2/x rw - tmpfs tmpfs rw',
      '94 27 0:53 / /tmp/s/with\\040space rw - tmpfs tmpfs rw',
    ].join('\n');
    expect(await mountsUnder('/tmp/s/', info)).toEqual([
      '/tmp/s/state/a/rootfs/dev',
      '/tmp/s/state/netns/cni-1',
      '/tmp/s/state/a/rootfs',
      '/tmp/s/with space',
    ]);
  });
});
