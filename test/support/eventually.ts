/**
 * Polling helpers of the end-to-end tests: wait until a condition holds, with a deadline and
 * the last error in the timeout message.
 */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `fn` every `stepMs` until it returns something other than `undefined` or `false`, and
 * resolves to that. A throw counts as "not yet"; after `timeoutMs` it rejects with
 * `timed out waiting for <what>` and the message of the last error, if any.
 */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000, stepMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(stepMs);
  }
}
