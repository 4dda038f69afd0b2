/**
 * Runs one probe of a container once, as kubelet's `prober.runProbe`: exec through the
 * runtime's ExecSync, httpGet, tcpSocket and grpc. The outcome is a `probe.Result`
 * (`success`, `warning`, `failure`, `unknown`) with kubelet's output text, or an internal
 * error (port not found, runtime unreachable) that kubelet reports as "errored" and discards.
 */
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../../lib/clock.js';
import { errorMessage } from '../../../lib/errors.js';
import type { RuntimeService } from '../../runtime/index.js';
import { expandCommandStatic, goQuote } from '../volumes/index.js';
import { grpcHealthCheck } from './grpc.js';
import { MAX_BODY_BYTES, ProbeConfigError, httpGet, requestForHttpGetAction, resolveContainerPort } from './http.js';
import { tcpConnect } from './tcp.js';

/** kubelet's `probe.Result`. */
export type ProbeResult = 'success' | 'warning' | 'failure' | 'unknown';

/** One probe run: a result with its output, or an error. */
export interface ProbeOutcome {
  result: ProbeResult;
  output: string;
  /** An internal error: the result is thrown away, as kubelet does. */
  error?: Error;
}

/** What a probe run needs. */
export interface ProbeTarget {
  container: Container;
  containerId: string;
  podIP: string | undefined;
  runtime: RuntimeService;
  clock: Clock;
}

/** The probe timeout in ms (`timeoutSeconds`, default 1). */
export function probeTimeoutMs(p: Probe): number {
  return Math.max(1, p.timeoutSeconds ?? 1) * 1000;
}

/** Exec probe output is limited like kubelet's LimitWriter. */
const MAX_EXEC_OUTPUT = 10 * 1024;

function isDeadlineExceeded(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 8; i++, e = (e as { cause?: unknown }).cause) {
    if ((e as { runtimeCode?: unknown }).runtimeCode === 'DEADLINE_EXCEEDED') return true;
  }
  return false;
}

async function runExec(p: Probe, t: ProbeTarget): Promise<ProbeOutcome> {
  const cmd = expandCommandStatic(p.exec?.command ?? [], t.container.env);
  const timeoutMs = probeTimeoutMs(p);
  const timedOut = { result: 'failure' as const, output: `command ${goQuote(cmd.join(' '))} timed out` };
  let timer: { cancel(): void } | undefined;
  const guard = new Promise<'timeout'>((resolve) => {
    timer = t.clock.setTimer(timeoutMs, () => resolve('timeout'));
  });
  const call = t.runtime.execSync(t.containerId, cmd, Math.ceil(timeoutMs / 1000));
  call.catch(() => undefined);
  try {
    const r = await Promise.race([call, guard]);
    if (r === 'timeout') return timedOut;
    const output = Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]).subarray(0, MAX_EXEC_OUTPUT).toString('utf8');
    return { result: r.exitCode === 0 ? 'success' : 'failure', output };
  } catch (err) {
    if (isDeadlineExceeded(err)) return timedOut;
    return { result: 'unknown', output: '', error: err instanceof Error ? err : new Error(String(err)) };
  } finally {
    timer?.cancel();
  }
}

async function runHttp(p: Probe, t: ProbeTarget): Promise<ProbeOutcome> {
  const action = p.httpGet!;
  if (!action.host && !t.podIP) return { result: 'unknown', output: '', error: new ProbeConfigError('pod has no IP address yet') };
  const req = requestForHttpGetAction(action, t.container, t.podIP ?? '', 'probe');
  try {
    const res = await httpGet(req.url, { headers: req.headers, timeoutMs: probeTimeoutMs(p), clock: t.clock });
    const body = res.body.subarray(0, MAX_BODY_BYTES).toString('utf8');
    if (res.status >= 200 && res.status < 400) {
      if (res.status >= 300) return { result: 'warning', output: `Probe terminated redirects, Response body: ${body}` };
      return { result: 'success', output: body };
    }
    return { result: 'failure', output: `HTTP probe failed with statuscode: ${res.status}` };
  } catch (err) {
    return { result: 'failure', output: errorMessage(err) };
  }
}

async function runTcp(p: Probe, t: ProbeTarget): Promise<ProbeOutcome> {
  const host = p.tcpSocket!.host || t.podIP;
  if (!host) return { result: 'unknown', output: '', error: new ProbeConfigError('pod has no IP address yet') };
  const port = resolveContainerPort(p.tcpSocket!.port, t.container);
  const r = await tcpConnect(host, port, probeTimeoutMs(p), t.clock);
  return r.ok ? { result: 'success', output: '' } : { result: 'failure', output: r.message };
}

async function runGrpc(p: Probe, t: ProbeTarget): Promise<ProbeOutcome> {
  if (!t.podIP) return { result: 'unknown', output: '', error: new ProbeConfigError('pod has no IP address yet') };
  const r = await grpcHealthCheck(t.podIP, p.grpc!.port, p.grpc!.service ?? '', probeTimeoutMs(p), t.clock);
  return r.ok ? { result: 'success', output: r.message } : { result: 'failure', output: r.message };
}

/** Runs `p` once against the target container. Never throws. */
export async function runProbe(p: Probe, t: ProbeTarget): Promise<ProbeOutcome> {
  try {
    if (p.exec) return await runExec(p, t);
    if (p.httpGet) return await runHttp(p, t);
    if (p.tcpSocket) return await runTcp(p, t);
    if (p.grpc) return await runGrpc(p, t);
    return { result: 'unknown', output: '', error: new ProbeConfigError('missing probe handler') };
  } catch (err) {
    return { result: 'unknown', output: '', error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** kubelet's `maxProbeRetries`: internal errors are retried up to three times in one run. */
export const MAX_PROBE_RETRIES = 3;

/** `runProbeWithRetries`: retries only runs that ended in an internal error. */
export async function runProbeWithRetries(p: Probe, t: ProbeTarget, retries = MAX_PROBE_RETRIES): Promise<ProbeOutcome> {
  let out: ProbeOutcome = { result: 'unknown', output: '' };
  for (let i = 0; i < retries; i++) {
    out = await runProbe(p, t);
    if (!out.error) return out;
  }
  return out;
}
