/**
 * A minimal process supervisor for `skiff up`: it runs a child with its output appended to
 * a log file and, like systemd's `Restart=always`, starts it again after it dies on its own
 * (with a delay that doubles while it keeps dying quickly). Stopping sends SIGTERM, then
 * SIGKILL after a timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock, Timer } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';

/** Options of {@link Supervised}. */
export interface SupervisedOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Restart after an unexpected exit; default true. */
  restart?: boolean;
  /** First restart delay, ms (default 1000, kind's RestartSec); doubles up to 30 s while the child keeps dying within 10 s. */
  restartDelayMs?: number;
  logger: Logger;
  clock: Clock;
  /** Called with the new PID after every (re)start. */
  onStart?: (pid: number) => void;
}

/** One supervised child process. */
export class Supervised {
  private child?: ChildProcess;
  private stopping = false;
  private delay: number;
  private startedAt = 0;
  private timer?: Timer;

  constructor(private readonly opts: SupervisedOptions) {
    this.delay = opts.restartDelayMs ?? 1000;
  }

  /** The current PID, if running. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Starts the child. */
  start(): void {
    const { opts } = this;
    mkdirSync(dirname(opts.logFile), { recursive: true });
    const fd = openSync(opts.logFile, 'a');
    let child: ChildProcess;
    try {
      // Own process group, so a terminal Ctrl-C reaches only `skiff up`, which stops
      // children in order (agent, control plane, then pods and containerd).
      child = spawn(opts.command, opts.args, { stdio: ['ignore', fd, fd], env: opts.env ?? process.env, detached: true });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.startedAt = opts.clock.now();
    child.on('error', (err) => opts.logger.error({ component: opts.name, err: err.message }, 'failed to start'));
    if (child.pid) opts.onStart?.(child.pid);
    child.on('exit', (code, signal) => {
      if (this.stopping || this.child !== child) return;
      const ranMs = opts.clock.now() - this.startedAt;
      if (ranMs > 10_000) this.delay = opts.restartDelayMs ?? 1000;
      opts.logger.warn({ component: opts.name, code, signal, restartInMs: this.delay }, 'exited unexpectedly');
      if (opts.restart === false) return;
      this.timer = opts.clock.setTimer(this.delay, () => {
        if (!this.stopping) this.start();
      });
      this.delay = Math.min(this.delay * 2, 30_000);
    });
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves when the child is gone. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const t = this.opts.clock.setTimer(timeoutMs, () => child.kill('SIGKILL'));
    await gone;
    t.cancel();
  }
}
