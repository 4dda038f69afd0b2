/**
 * Deleting stale conntrack entries, as kube-proxy's `pkg/proxy/conntrack` does for UDP.
 *
 * UDP has no connection teardown: a client that keeps sending from the same source port
 * (DNS resolvers do) keeps matching its conntrack entry, and that entry still says "DNAT to
 * the old endpoint" after the endpoint is gone, or "no DNAT" (and so: reject) from a time the
 * Service had no endpoint. Both black-hole the client until the entry times out. So after
 * the rules changed:
 *
 * - an endpoint removed from a UDP service port: delete the entries DNATed from each of the
 *   port's addresses to that endpoint (`conntrack -D -p udp --orig-dst <addr> --dst-nat <ep>`,
 *   and for the NodePort `--orig-port-dst <nodePort> --dst-nat <ep>`);
 * - a UDP service port that had no endpoint and now has one: delete the entries to its
 *   addresses (`--orig-dst <addr> --orig-port-dst <port>`; NodePort: `--orig-port-dst`).
 *
 * Like knftables and kube-proxy's first implementation, this drives the `conntrack` CLI.
 */
import { spawn } from 'node:child_process';
import { hasCode, SkiffError, UnavailableError } from '../../lib/errors.js';

/** The error code of {@link ConntrackError}. */
export const CONNTRACK_ERROR = 'SKIFF_CONNTRACK_ERROR';

/** `conntrack` failed (not merely "0 entries deleted"). */
export class ConntrackError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(CONNTRACK_ERROR, message, options);
  }
}

/** True for a {@link ConntrackError}. */
export function isConntrackError(err: unknown): err is ConntrackError {
  return err instanceof ConntrackError || hasCode(err, CONNTRACK_ERROR);
}

/** Which entries to delete. Omitted fields match everything. */
export interface ConntrackFilter {
  family: 'IPv4' | 'IPv6';
  protocol: 'udp' | 'tcp';
  /** Original destination address (the Service address the client used). */
  origDst?: string;
  /** Original destination port. */
  origPortDst?: number;
  /** The address the entry was DNATed to (the endpoint). */
  dstNat?: string;
}

/** Deletes conntrack entries. */
export interface Conntrack {
  /** Deletes the entries matching `filter`; resolves with how many were deleted. */
  deleteEntries(filter: ConntrackFilter): Promise<number>;
}

/** The `conntrack` arguments of a filter (`-D -f ipv4 -p udp --orig-dst …`). */
export function conntrackArgs(f: ConntrackFilter): string[] {
  const args = ['-D', '-f', f.family === 'IPv6' ? 'ipv6' : 'ipv4', '-p', f.protocol];
  if (f.origDst) args.push('--orig-dst', f.origDst);
  if (f.origPortDst) args.push('--orig-port-dst', String(f.origPortDst));
  if (f.dstNat) args.push('--dst-nat', f.dstNat);
  return args;
}

/** Options of {@link SpawnConntrack}. */
export interface SpawnConntrackOptions {
  /** argv prefix; default `['conntrack']` (tests: `['ip', 'netns', 'exec', ns, 'conntrack']`). */
  command?: string[];
  timeoutMs?: number;
}

/** Runs the `conntrack` CLI (conntrack-tools). */
export class SpawnConntrack implements Conntrack {
  private readonly command: string[];
  private readonly timeoutMs: number;

  constructor(opts: SpawnConntrackOptions = {}) {
    this.command = opts.command ?? ['conntrack'];
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  deleteEntries(filter: ConntrackFilter): Promise<number> {
    const [bin, ...pre] = this.command;
    const args = [...pre, ...conntrackArgs(filter)];
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const err: Buffer[] = [];
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      timer.unref();
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(e.code === 'ENOENT' ? new UnavailableError(`${bin} not found (Debian package conntrack)`, { cause: e }) : new ConntrackError(`running ${bin} failed`, { cause: e }));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        const text = Buffer.concat(err).toString();
        const m = /(\d+) flow entries have been deleted/.exec(text);
        // conntrack exits 1 when nothing matched; that is not a failure.
        if (m) resolve(Number(m[1]));
        else if (code === 0) resolve(0);
        else reject(new ConntrackError(`conntrack ${args.join(' ')} failed (exit ${code}): ${text.trim()}`));
      });
    });
  }
}

/** Records filters instead of running anything (unit tests). */
export class FakeConntrack implements Conntrack {
  /** Every filter asked for, in order. */
  readonly calls: ConntrackFilter[] = [];
  async deleteEntries(filter: ConntrackFilter): Promise<number> {
    this.calls.push(filter);
    return 0;
  }
}
