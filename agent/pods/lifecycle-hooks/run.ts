/**
 * Lifecycle hooks (postStart / preStop), as kubelet's `pkg/kubelet/lifecycle/handlers.go`:
 *
 * - exec: ExecSync in the container with no command timeout; a non-zero exit fails.
 * - httpGet: a GET to `host` (default the pod IP) with `kube-lifecycle/1.32`; only a transport
 *   error fails (the status code is not looked at); an HTTPS hook that gets a plain HTTP answer
 *   is retried over HTTP (`LifecycleHTTPFallback` event).
 * - sleep: waits `seconds`; cancelled when the container is killed first.
 * - tcpSocket (deprecated) and empty handlers: fail, as kubelet does ("Cannot run handler").
 *
 * The error message is the text kubelet puts in `FailedPostStartHook` / `FailedPreStopHook`
 * events, e.g. `Exec lifecycle hook ([sh -c exit 1]) for Container "web" in Pod
 * "web-0_default(<uid>)" failed - error: command 'sh -c exit 1' exited with 1: , message: ""`.
 */
import type { Container, LifecycleHandler, Pod } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock } from '../../../lib/clock.js';
import { SkiffError, errorMessage } from '../../../lib/errors.js';
import type { EventRecorder } from '../../events/index.js';
import type { RuntimeService } from '../../runtime/index.js';
import { HttpGetError, httpGet, requestForHttpGetAction } from '../probes/index.js';
import { goQuote, goStringSlice } from '../volumes/index.js';

/**
 * A hook failed (code `SKIFF_LIFECYCLE_HOOK`); the message is kubelet's event text. `timedOut`
 * is set when the hook was still running after `timeoutSeconds` (kubelet then just stops
 * waiting and records no hook event).
 */
export class LifecycleHookError extends SkiffError {
  readonly timedOut: boolean;
  constructor(message: string, options?: { cause?: unknown; timedOut?: boolean }) {
    super('SKIFF_LIFECYCLE_HOOK', message, options);
    this.timedOut = options?.timedOut ?? false;
  }
}

/** Inputs of {@link runHandler}. */
export interface HandlerContext {
  pod: Pod;
  containerId: string;
  /** The pod IP, default host of httpGet hooks. */
  podIP?: string;
  runtime: RuntimeService;
  /** Upper bound on the hook's run time (preStop: the grace period); 0 for none. */
  timeoutSeconds: number;
  /** Aborts a running hook (e.g. the container is being killed). */
  signal?: AbortSignal;
  /** The container spec: its name goes into messages, and named ports resolve against it. */
  container?: Container;
  /** Timer source for sleep hooks and the timeout; default the wall clock. */
  clock?: Clock;
  /** Receives the `LifecycleHTTPFallback` warning. */
  events?: EventRecorder;
}

/** kubelet's `format.Pod`: `name_namespace(uid)`. */
export function formatPod(pod: Pod): string {
  return `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}(${pod.metadata?.uid ?? ''})`;
}

/** Go's `%v` of a LifecycleHandler pointer, for the "invalid handler" message. */
function describeHandler(h: LifecycleHandler): string {
  const tcp = h.tcpSocket
    ? `&TCPSocketAction{Port:{${typeof h.tcpSocket.port === 'number' ? `0 ${h.tcpSocket.port} ` : `1 0 ${h.tcpSocket.port}`}},Host:${h.tcpSocket.host ?? ''},}`
    : 'nil';
  return `&LifecycleHandler{Exec:nil,HTTPGet:nil,TCPSocket:${tcp},Sleep:nil,}`;
}

class Timeout extends Error {}

/**
 * Runs one lifecycle handler in a container. Resolves when it succeeded; rejects with
 * {@link LifecycleHookError} carrying kubelet's event message otherwise.
 */
export async function runHandler(h: LifecycleHandler, ctx: HandlerContext): Promise<void> {
  const clock = ctx.clock ?? realClock;
  const name = ctx.container?.name ?? '';
  const pod = formatPod(ctx.pod);
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(ctx.signal?.reason);
  if (ctx.signal?.aborted) ac.abort(ctx.signal.reason);
  else ctx.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: { cancel(): void } | undefined;
  let deadline: Promise<never> | undefined;
  if (ctx.timeoutSeconds > 0) {
    deadline = new Promise<never>((_, reject) => {
      timer = clock.setTimer(ctx.timeoutSeconds * 1000, () => {
        reject(new Timeout(`timeout after ${ctx.timeoutSeconds}s`));
        ac.abort(new Timeout('timeout'));
      });
    });
    deadline.catch(() => undefined);
  }
  const bounded = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => undefined);
    return deadline ? Promise.race([p, deadline]) : p;
  };
  const timeoutError = (what: string, err: unknown): LifecycleHookError =>
    new LifecycleHookError(`${what} for Container ${goQuote(name)} in Pod ${goQuote(pod)} did not complete within ${ctx.timeoutSeconds}s`, {
      cause: err,
      timedOut: true,
    });
  try {
    if (h.exec) {
      const cmd = h.exec.command ?? [];
      const what = `Exec lifecycle hook (${goStringSlice(cmd)})`;
      let res;
      try {
        res = await bounded(ctx.runtime.execSync(ctx.containerId, cmd, 0));
      } catch (err) {
        if (err instanceof Timeout) throw timeoutError(what, err);
        throw new LifecycleHookError(`${what} for Container ${goQuote(name)} in Pod ${goQuote(pod)} failed - error: ${errorMessage(err)}, message: ""`, {
          cause: err,
        });
      }
      if (res.exitCode !== 0) {
        const stderr = res.stderr?.toString('utf8') ?? '';
        const output = Buffer.concat([res.stdout ?? Buffer.alloc(0), res.stderr ?? Buffer.alloc(0)]);
        const execErr = `command '${cmd.join(' ')}' exited with ${res.exitCode}: ${stderr}`;
        throw new LifecycleHookError(`${what} for Container ${goQuote(name)} in Pod ${goQuote(pod)} failed - error: ${execErr}, message: ${goQuote(output)}`);
      }
      return;
    }
    if (h.httpGet) {
      const path = h.httpGet.path ?? '';
      const what = `HTTP lifecycle hook (${path})`;
      const fail = (msg: string, cause?: unknown): LifecycleHookError =>
        new LifecycleHookError(`${what} for Container ${goQuote(name)} in Pod ${goQuote(pod)} failed - error: ${msg}`, { cause });
      const host = h.httpGet.host || ctx.podIP;
      if (!host) throw fail('failed to find networking container: pod has no IP address');
      let req;
      try {
        req = requestForHttpGetAction(h.httpGet, ctx.container, host, 'lifecycle');
      } catch (err) {
        throw fail(errorMessage(err), err);
      }
      try {
        await bounded(httpGet(req.url, { headers: req.headers, clock, signal: ac.signal }));
      } catch (err) {
        if (err instanceof Timeout) throw timeoutError(what, err);
        if (err instanceof HttpGetError && err.httpResponseToHttps) {
          const url = new URL(req.url);
          url.protocol = 'http:';
          try {
            await bounded(httpGet(url.href, { headers: req.headers.filter(([k]) => k.toLowerCase() !== 'authorization'), clock, signal: ac.signal }));
            ctx.events?.event(ctx.pod, 'Warning', 'LifecycleHTTPFallback', `request to HTTPS lifecycle hook ${url.host} got HTTP response, retry with HTTP succeeded`);
            return;
          } catch (err2) {
            if (err2 instanceof Timeout) throw timeoutError(what, err2);
          }
        }
        throw fail(errorMessage(err), err);
      }
      return;
    }
    if (h.sleep) {
      const seconds = h.sleep.seconds;
      try {
        await bounded(clock.sleep(seconds * 1000, ac.signal));
      } catch (err) {
        if (err instanceof Timeout) throw timeoutError(`Sleep lifecycle hook (${seconds})`, err);
        throw new LifecycleHookError(
          `Sleep lifecycle hook (${seconds}) for Container ${goQuote(name)} in Pod ${goQuote(pod)} failed - error: container terminated before sleep hook finished`,
          { cause: err },
        );
      }
      return;
    }
    // tcpSocket is accepted by the API but not supported as a hook; kubelet fails it.
    throw new LifecycleHookError(`Cannot run handler: invalid handler: ${describeHandler(h)}`);
  } finally {
    timer?.cancel();
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}
