/**
 * Throwaway network namespaces for tests and benchmarks that change networking
 * (commands enter only the network namespace, with `nsenter --net`, so mounts made inside —
 * containerd's rootfs and netns mounts — stay visible to the host and to cleanup, as under
 * systemd; `ip netns exec` would put each command in a private mount namespace)
 * — MACHINE.md safety rules. Every namespace made here has loopback up and, optionally,
 * an "uplink" veth whose peer sits in the same namespace with no address, so the node has
 * a routable IP and a default route that leads nowhere — traffic never leaves the namespace.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A network namespace owned by a test. */
export interface TestNetns {
  readonly name: string;
  /** The node IP on the uplink veth, when one was made. */
  readonly nodeIP?: string;
  /** Runs a command inside the namespace and returns stdout. Throws on a non-zero exit. */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string }): Promise<string>;
  /** Spawns a long-running process inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Deletes the namespace (idempotent). */
  destroy(): Promise<void>;
}

/** Options of {@link createNetns}. */
export interface NetnsOptions {
  /** Name prefix; a random suffix is added. */
  prefix?: string;
  /** Adds an uplink veth with this IPv4 /24 address (e.g. 172.30.255.2) and a default route via .1 that has no neighbour. */
  uplinkIP?: string;
}

/** True when the process can create network namespaces. */
export function canUseNetns(): boolean {
  return process.getuid?.() === 0;
}

/** Creates a network namespace; always pair with `destroy()` in a `finally`/`afterAll`. */
export async function createNetns(opts: NetnsOptions = {}): Promise<TestNetns> {
  const name = `${opts.prefix ?? 'skiff-t'}-${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  const ns = makeHandle(name, opts.uplinkIP);
  try {
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    if (opts.uplinkIP) {
      const gw = opts.uplinkIP.replace(/\.\d+$/, '.1');
      await ns.exec('ip', ['link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink1']);
      await ns.exec('ip', ['addr', 'add', `${opts.uplinkIP}/24`, 'dev', 'uplink0']);
      await ns.exec('ip', ['link', 'set', 'uplink0', 'up']);
      await ns.exec('ip', ['link', 'set', 'uplink1', 'up']);
      // The gateway has no neighbour entry that can ever resolve: packets to unknown
      // destinations die here, inside the namespace.
      await ns.exec('ip', ['route', 'add', 'default', 'via', gw, 'dev', 'uplink0']);
    }
  } catch (err) {
    await ns.destroy();
    throw err;
  }
  return ns;
}

function makeHandle(name: string, nodeIP?: string): TestNetns {
  let destroyed = false;
  return {
    name,
    nodeIP,
    async exec(cmd, args, o) {
      const child = run('nsenter', [`--net=/run/netns/${name}`, '--', cmd, ...args], { timeout: o?.timeoutMs ?? 60_000, env: o?.env ?? process.env, maxBuffer: 64 << 20 });
      if (o?.input !== undefined) child.child.stdin?.end(o.input);
      const { stdout } = await child;
      return stdout;
    },
    spawn(cmd, args, o) {
      return spawn('nsenter', [`--net=/run/netns/${name}`, '--', cmd, ...args], o ?? {});
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      // Kill anything still running inside, then delete the namespace.
      try {
        const { stdout } = await run('ip', ['netns', 'pids', name]);
        for (const pid of stdout.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
    },
  };
}
