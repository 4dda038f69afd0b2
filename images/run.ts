/**
 * Running the external tools of the image builder (gcc, umoci, skopeo, ctr) with captured
 * output, failing with a coded error that carries the tool's stderr.
 */
import { spawn } from 'node:child_process';
import { SkiffError } from '../lib/errors.js';

/** A step of building or importing an image failed; the message holds the tool's stderr. */
export class ImageBuildError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_IMAGE_BUILD', message, options);
  }
}

/** Output of a finished command. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the command after this many ms. */
  timeoutMs?: number;
}

/**
 * Runs `cmd args…` without a shell and resolves with its output, or rejects with an
 * {@link ImageBuildError} naming the command, its exit status and the end of its stderr.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? `${cmd} is not installed (not found in PATH)` : `cannot run ${cmd}: ${e.message}`;
      reject(new ImageBuildError(why, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return resolve({ stdout, stderr });
      const status = signal ? `killed by ${signal}` : `exit status ${code}`;
      const tail = (stderr.trim() || stdout.trim()).split('\n').slice(-8).join('\n');
      reject(new ImageBuildError(`${cmd} ${args.join(' ')} failed (${status})${tail ? `: ${tail}` : ''}`));
    });
  });
}
