/**
 * The kubelet API checks of issue 3, shared by `kubelet-api.e2e.test.ts` (the companion
 * control plane, `skiff up`) and `kubelet-api-real.e2e.test.ts` (kube-apiserver 1.20.2):
 *
 * - kubectl's streaming commands through the apiserver to the agent and on to containerd's
 *   streaming server: `logs -f`, `exec` (stdout/stderr/exit code, piped stdin, and `-it` in a
 *   real pty with a resize), `attach -it` and `port-forward`, plus what happens on the wire
 *   (kubectl 1.32 offers WebSocket `v5.channel.k8s.io` first; containerd 1.6 refuses it with
 *   403 and kubectl falls back to SPDY/3.1);
 * - the kubelet API itself: plain `/healthz` on 127.0.0.1:10248, 401 without credentials or with
 *   an unknown bearer token, 403 with kubelet's text for a certificate of the cluster CA that is
 *   not authorized, and 200 for `/pods`, `/metrics` and `/stats/summary` for the apiserver's
 *   kubelet-client certificate, directly and through `nodes/<name>/proxy`.
 *
 * Every command runs inside the test's network namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Pod, PodList } from 'kubernetes-types/core/v1.js';
import { issueCertificate } from '../../lib/pki/index.js';
import { eventually, sleep } from '../support/eventually.js';
import type { TestNetns } from '../support/netns.js';

/** What the checks need from a running cluster with one Skiff node. */
export interface KubeletApiEnv {
  ns: TestNetns;
  nodeName: string;
  nodeIP: string;
  /** An admin kubeconfig (system:masters). */
  kubeconfig: string;
  /** The cluster CA (PEM files): the kubelet trusts client certificates it signed. */
  caCertFile: string;
  caKeyFile: string;
  /** The apiserver's kubelet-client certificate and key (PEM files), authorized on nodes/*. */
  kubeletClientCertFile: string;
  kubeletClientKeyFile: string;
  /** A directory for the certificates the checks issue. */
  workDir: string;
}

/** The pods the checks use (busybox from Skiff's image set, never pulled). */
export const KUBELET_API_PODS = `
apiVersion: v1
kind: Pod
metadata: {name: counter, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: counter
    image: docker.io/library/busybox:1.29
    command: [sh, -c, 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.5; done']
---
apiVersion: v1
kind: Pod
metadata: {name: shell, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: shell
    image: docker.io/library/busybox:1.29
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
---
apiVersion: v1
kind: Pod
metadata: {name: interactive, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: docker.io/library/busybox:1.29
    command: [sh]
    stdin: true
    tty: true
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: docker.io/library/busybox:1.29
    command: [sh, -c, 'mkdir -p /www && echo hello-through-port-forward > /www/index.html && exec httpd -f -p 8080 -h /www']
`;

const POD_NAMES = ['counter', 'shell', 'interactive', 'web'];

/**
 * Drives a command in a real pty (Python's `pty`, since Node has none): the first step's size
 * is set before the command starts; later `size` steps resize the pty (the kernel sends
 * SIGWINCH to the foreground process group) and also send SIGWINCH explicitly. Prints one JSON
 * line: `{ok, failed, exitCode, output}`.
 */
const PTY_DRIVER = String.raw`
import fcntl, json, os, pty, re, select, signal, struct, subprocess, sys, termios, time
steps = json.loads(sys.argv[1]); argv = sys.argv[2:]
master, slave = pty.openpty()
def setsize(r, c): fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
setsize(*(steps[0]['size'] if steps and 'size' in steps[0] else (24, 80)))
def ctty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, preexec_fn=ctty, close_fds=True)
os.close(slave)
out = b''; mark = 0; res = {'ok': True}
def read_once(t):
    global out
    r, _, _ = select.select([master], [], [], t)
    if not r: return None
    try: d = os.read(master, 65536)
    except OSError: d = b''
    out += d
    return d
for i, st in enumerate(steps):
    if 'size' in st:
        if i == 0: continue
        setsize(*st['size']); time.sleep(0.2); p.send_signal(signal.SIGWINCH)
    elif 'send' in st:
        os.write(master, st['send'].encode())
    elif 'sleep' in st:
        end = time.time() + st['sleep']
        while time.time() < end:
            if read_once(0.1) == b'': break
    elif 'signal' in st:
        p.send_signal(getattr(signal, st['signal']))
    elif 'expect' in st:
        rx = re.compile(st['expect'].encode()); end = time.time() + st.get('timeout', 30); m = None
        while True:
            m = rx.search(out, mark)
            if m or time.time() > end: break
            if read_once(0.2) == b'':
                m = rx.search(out, mark); break
        if not m:
            res = {'ok': False, 'failed': i}; break
        mark = m.end()
end = time.time() + 20
while p.poll() is None and time.time() < end: read_once(0.2)
if p.poll() is None:
    p.kill(); p.wait()
while True:
    d = read_once(0.2)
    if not d: break
res['exitCode'] = p.returncode
res['output'] = out.decode('utf-8', 'replace')
print(json.dumps(res))
`;

/** One pty step (see {@link PTY_DRIVER}). */
type PtyStep = { size: [number, number] } | { send: string } | { expect: string; timeout?: number } | { sleep: number } | { signal: string };

interface PtyResult {
  ok: boolean;
  failed?: number;
  exitCode: number | null;
  output: string;
}

/** The outcome of a command that may fail. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Collects a long-running child's stdout and stderr until `until(stdout)` or the timeout; then kills it. */
function collect(child: ChildProcess, until: (out: string) => boolean, timeoutMs: number): Promise<{ stdout: string; stderr: string; matched: boolean }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let done = false;
    const finish = (matched: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
      resolve({ stdout, stderr, matched });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until(stdout)) finish(true);
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', () => finish(until(stdout)));
  });
}

/**
 * Registers the checks (call inside a `describe`). `env()` is read when each check runs, after
 * the caller's `beforeAll` started the cluster.
 */
export function kubeletApiChecks(env: () => KubeletApiEnv): void {
  const kubectlArgs = (args: string[]): string[] => ['--kubeconfig', env().kubeconfig, ...args];
  const kubectl = (args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string> =>
    env().ns.exec('kubectl', kubectlArgs(args), { timeoutMs: opts?.timeoutMs ?? 120_000, input: opts?.input });
  const kubectlRun = async (args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Run> => {
    try {
      return { code: 0, stdout: await kubectl(args, opts), stderr: '' };
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  };
  const pty = async (steps: PtyStep[], args: string[]): Promise<PtyResult> => {
    const out = await env().ns.exec('/usr/bin/python3', ['-c', PTY_DRIVER, JSON.stringify(steps), 'kubectl', ...kubectlArgs(args)], { timeoutMs: 180_000 });
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as PtyResult;
  };
  /** curl to the kubelet API inside the namespace: status and body. */
  const kubeletGet = async (url: string, curlArgs: string[] = []): Promise<{ status: number; body: string }> => {
    const out = await env().ns.exec('curl', ['-sk', '--max-time', '20', '-w', '\n%{http_code}', ...curlArgs, url]);
    const i = out.lastIndexOf('\n');
    return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
  };
  const base = (): string => `https://${env().nodeIP}:10250`;
  /** Issues a client certificate of the cluster CA; returns curl's `--cert`/`--key` arguments. */
  const clientCert = (cn: string, groups: string[]): string[] => {
    const e = env();
    const ca = { certPem: readFileSync(e.caCertFile, 'utf8'), keyPem: readFileSync(e.caKeyFile, 'utf8') };
    const pair = issueCertificate(ca, { commonName: cn, organization: groups, usages: ['clientAuth'] });
    const cert = join(e.workDir, `${cn}.crt`);
    const key = join(e.workDir, `${cn}.key`);
    writeFileSync(cert, pair.certPem);
    writeFileSync(key, pair.keyPem, { mode: 0o600 });
    return ['--cert', cert, '--key', key];
  };
  /** The apiserver's URL, from the admin kubeconfig. */
  const apiserver = (): string => /^\s*server:\s*(\S+)/m.exec(readFileSync(env().kubeconfig, 'utf8'))![1];
  const asKubeletClient = (): string[] => ['--cert', env().kubeletClientCertFile, '--key', env().kubeletClientKeyFile];

  it('runs the pods the checks use', async () => {
    await kubectl(['apply', '-f', '-'], { input: KUBELET_API_PODS });
    await kubectl(['wait', '--for=condition=Ready', ...POD_NAMES.map((p) => `pod/${p}`), '--timeout=180s'], { timeoutMs: 200_000 });
  });

  it('kubectl logs -f streams new lines as the container writes them', async () => {
    const child = env().ns.spawn('kubectl', kubectlArgs(['logs', '-f', '--tail=1', 'counter']), { stdio: ['ignore', 'pipe', 'pipe'] });
    const numbers = (out: string): number[] => [...out.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));
    const r = await collect(child, (out) => numbers(out).length >= 5, 60_000);
    expect(r.matched, `kubectl logs -f printed: ${r.stdout} ${r.stderr}`).toBe(true);
    const n = numbers(r.stdout);
    // One line from --tail=1, then every new line in order, none missing or repeated.
    expect(n.slice(0, 5)).toEqual([n[0], n[0] + 1, n[0] + 2, n[0] + 3, n[0] + 4]);
  });

  it('kubectl exec separates stdout and stderr and returns the exit code', async () => {
    const r = await kubectlRun(['exec', 'shell', '--', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('to-stdout\n');
    expect(r.stderr).toContain('to-stderr');
    expect(r.stderr).toContain('command terminated with exit code 3');
    expect(await kubectl(['exec', 'shell', '--', 'cat', '/proc/1/cmdline'])).toContain('while true');
  });

  it('kubectl exec carries 4 MiB of output intact', async () => {
    const out = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'head -c 4194304 /dev/zero | tr "\\0" x'], { timeoutMs: 120_000 });
    expect(out.length).toBe(4 * 1024 * 1024);
    expect(/^x+$/.test(out)).toBe(true);
  });

  it('kubectl exec -i carries piped stdin and its end', async () => {
    const input = Array.from({ length: 200 }, (_, i) => `stdin line ${i}`).join('\n') + '\n';
    const out = await kubectl(['exec', '-i', 'shell', '--', 'sh', '-c', 'cat; echo stdin-closed'], { input });
    expect(out).toBe(`${input}stdin-closed\n`);
  });

  it('kubectl exec -it sh: a command runs in a tty, stty size follows a resize, and the exit code comes back', async () => {
    const r = await pty(
      [
        { size: [30, 100] },
        { expect: '# ', timeout: 60 },
        { send: 'echo marker-$((6*7)); tty\r' },
        { expect: 'marker-42' },
        { expect: '/dev/pts/' },
        { send: 'stty size\r' },
        { expect: '30 100' },
        { size: [42, 123] },
        { sleep: 1 },
        { send: 'stty size\r' },
        { expect: '42 123' },
        { send: 'exit 3\r' },
      ],
      ['exec', '-it', 'shell', '--', 'sh'],
    );
    expect(r.ok, `pty transcript (failed at step ${r.failed}):\n${r.output}`).toBe(true);
    expect(r.exitCode).toBe(3);
    expect(r.output).toContain('command terminated with exit code 3');
  });

  it('kubectl attach -it reaches the container started with stdin and tty, resize included', async () => {
    const r = await pty(
      [
        { size: [25, 80] },
        { expect: "If you don't see a command prompt", timeout: 60 },
        { send: '\r' },
        { expect: '# ' },
        { send: 'echo attached-$((2+3))\r' },
        { expect: 'attached-5' },
        { size: [33, 111] },
        { sleep: 1 },
        { send: 'stty size\r' },
        { expect: '33 111' },
        // kubectl has no detach keys: stop it; the container keeps running.
        { signal: 'SIGTERM' },
      ],
      ['attach', '-it', 'interactive'],
    );
    expect(r.ok, `pty transcript (failed at step ${r.failed}):\n${r.output}`).toBe(true);
    const pod = JSON.parse(await kubectl(['get', 'pod', 'interactive', '-o', 'json'])) as Pod;
    expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    expect(pod.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  it('kubectl port-forward carries several HTTP requests to a busybox httpd', async () => {
    const child = env().ns.spawn('kubectl', kubectlArgs(['port-forward', 'pod/web', ':8080']), { stdio: ['ignore', 'pipe', 'pipe'] });
    let port = 0;
    const started = new Promise<number>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`port-forward did not start: ${out}`)), 60_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`port-forward exited ${code}: ${out}`)));
    });
    try {
      port = await started;
      for (let i = 0; i < 3; i++) {
        expect(await env().ns.exec('curl', ['-s', '--max-time', '10', `http://127.0.0.1:${port}/`])).toBe('hello-through-port-forward\n');
      }
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('on the wire: kubectl offers WebSocket (v5.channel.k8s.io) first, the runtime refuses it and kubectl falls back to SPDY', async () => {
    const execChild = env().ns.spawn('kubectl', kubectlArgs(['exec', '-v=6', 'shell', '--', 'echo', 'over-spdy']), { stdio: ['ignore', 'pipe', 'pipe'] });
    const exitCode = new Promise<number | null>((r) => execChild.once('exit', (code) => r(code)));
    const exec = await collect(execChild, () => false, 60_000);
    expect(await exitCode).toBe(0);
    expect(exec.stdout).toBe('over-spdy\n');
    expect(exec.stderr).toMatch(/RemoteCommand fallback: unable to upgrade streaming request: websocket: bad handshake \(403 Forbidden\)/);
    expect(exec.stderr).toMatch(/POST https:\/\/\S+\/pods\/shell\/exec\?\S+ 101 Switching Protocols/);
    const child = env().ns.spawn('kubectl', kubectlArgs(['port-forward', '-v=6', 'pod/web', ':8080']), { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const r = await collect(child, (out) => out.includes('Forwarding from'), 60_000);
    expect(r.matched, log).toBe(true);
    expect(log).toMatch(/fallback to secondary dialer from primary dialer err: unable to upgrade streaming request: websocket: bad handshake \(403 Forbidden\)/);
    expect(log).toMatch(/pods\/web\/portforward 101 Switching Protocols/);
  });

  it('on the wire: a WebSocket exec in a protocol the runtime speaks (v4.channel.k8s.io, as older clients use) passes straight through', async () => {
    const child = env().ns.spawn(
      'curl',
      [
        '-sk', '-i', '--http1.1', '--max-time', '30', ...clientCert('websocket-admin', ['system:masters']),
        '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13',
        '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '-H', 'Sec-WebSocket-Protocol: v4.channel.k8s.io',
        `${apiserver()}/api/v1/namespaces/default/pods/shell/exec?command=echo&command=over-websocket&stdout=true`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const r = await collect(child, (out) => out.includes('"status":"Success"'), 60_000);
    expect(r.stdout).toMatch(/^HTTP\/1.1 101 Switching Protocols\r\n/);
    expect(r.stdout).toContain('Sec-WebSocket-Protocol: v4.channel.k8s.io');
    // Channel 1 (stdout) carries the output; channel 3 (error) the v4 exit status.
    expect(r.stdout).toContain('\x01over-websocket\n');
    expect(r.stdout).toContain('\x03{"metadata":{},"status":"Success"}');
  });

  it('serves plain /healthz on 127.0.0.1:10248', async () => {
    expect(await env().ns.exec('curl', ['-s', '--max-time', '10', 'http://127.0.0.1:10248/healthz'])).toBe('ok');
  });

  it('answers 401 without credentials and for a bearer token the apiserver does not know', async () => {
    for (const path of ['/pods', '/metrics', '/stats/summary', '/healthz', '/containerLogs/default/counter/counter']) {
      expect(await kubeletGet(`${base()}${path}`)).toEqual({ status: 401, body: 'Unauthorized' });
    }
    expect(await kubeletGet(`${base()}/pods`, ['-H', 'Authorization: Bearer not-a-token-anyone-issued'])).toEqual({ status: 401, body: 'Unauthorized' });
  });

  it('answers 403 with kubelet\'s text for a certificate of the cluster CA that is not authorized', async () => {
    const asAlice = clientCert('alice', ['devs']);
    const forbidden = (verb: string, sub: string): string => `Forbidden (user=alice, verb=${verb}, resource=nodes, subresource=${sub})`;
    expect(await kubeletGet(`${base()}/pods`, asAlice)).toEqual({ status: 403, body: forbidden('get', 'proxy') });
    expect(await kubeletGet(`${base()}/metrics`, asAlice)).toEqual({ status: 403, body: forbidden('get', 'metrics') });
    expect(await kubeletGet(`${base()}/stats/summary`, asAlice)).toEqual({ status: 403, body: forbidden('get', 'stats') });
    expect(await kubeletGet(`${base()}/containerLogs/default/counter/counter`, asAlice)).toEqual({ status: 403, body: forbidden('get', 'proxy') });
    expect(await kubeletGet(`${base()}/exec/default/shell/shell?command=true&output=1`, [...asAlice, '-X', 'POST'])).toEqual({ status: 403, body: forbidden('create', 'proxy') });
  });

  it('serves /pods, /metrics and /stats/summary to the apiserver\'s kubelet client, directly and through nodes/proxy', async () => {
    const pods = await kubeletGet(`${base()}/pods`, asKubeletClient());
    expect(pods.status).toBe(200);
    const list = JSON.parse(pods.body) as PodList;
    expect(list.kind).toBe('PodList');
    expect(list.items.map((p) => p.metadata?.name)).toEqual(expect.arrayContaining(POD_NAMES));

    const metrics = await kubeletGet(`${base()}/metrics`, asKubeletClient());
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^kubelet_pod_start_duration_seconds_bucket\{le="0.5"\} \d+$/m);
    expect(metrics.body).toMatch(/^kubelet_pod_start_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
    const count = Number(/^kubelet_pod_start_duration_seconds_count (\d+)$/m.exec(metrics.body)?.[1]);
    expect(count).toBeGreaterThanOrEqual(POD_NAMES.length);
    expect(Number(/^kubelet_running_pods (\d+)$/m.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(POD_NAMES.length);
    // kubelet's server metrics counted the streams the earlier checks opened.
    expect(metrics.body).toMatch(/^kubelet_http_requests_total\{method="POST",path="exec",server_type="readwrite",long_running="true"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^kubelet_http_requests_total\{method="GET",path="containerLogs",server_type="readwrite",long_running="false"\} [1-9]\d*$/m);

    const viaProxy = await kubectl(['get', '--raw', `/api/v1/nodes/${env().nodeName}/proxy/metrics`]);
    expect(viaProxy).toContain('kubelet_running_pods');
    expect(await kubectl(['get', '--raw', `/api/v1/nodes/${env().nodeName}/proxy/healthz`])).toBe('ok');
    const proxiedPods = JSON.parse(await kubectl(['get', '--raw', `/api/v1/nodes/${env().nodeName}/proxy/pods`])) as PodList;
    expect(proxiedPods.items.length).toBe(list.items.length);
  });

  it('/stats/summary has node cpu, memory and fs, and cpu, memory and storage for every running pod', async () => {
    interface Fs { usedBytes?: number; capacityBytes?: number; availableBytes?: number }
    interface Summary {
      node: { nodeName: string; cpu?: { usageCoreNanoSeconds?: number; usageNanoCores?: number }; memory?: { workingSetBytes?: number; availableBytes?: number }; fs?: Fs; runtime?: { imageFs?: Fs } };
      pods: { podRef: { name: string; namespace: string }; cpu?: { usageCoreNanoSeconds?: number }; memory?: { workingSetBytes?: number }; containers: { name: string; cpu?: { usageCoreNanoSeconds?: number }; memory?: { workingSetBytes?: number }; rootfs?: Fs; logs?: Fs }[]; 'ephemeral-storage'?: Fs }[];
    }
    // Two scrapes: usageNanoCores needs a previous sample.
    await kubectl(['get', '--raw', `/api/v1/nodes/${env().nodeName}/proxy/stats/summary`]);
    const s = await eventually('a summary with every pod', async () => {
      const got = JSON.parse(await kubectl(['get', '--raw', `/api/v1/nodes/${env().nodeName}/proxy/stats/summary`])) as Summary;
      return POD_NAMES.every((n) => got.pods.some((p) => p.podRef.name === n && p.memory?.workingSetBytes)) ? got : undefined;
    }, 60_000);
    expect(s.node.nodeName).toBe(env().nodeName);
    expect(s.node.cpu?.usageCoreNanoSeconds).toBeGreaterThan(0);
    expect(s.node.cpu?.usageNanoCores).toBeGreaterThanOrEqual(0);
    expect(s.node.memory?.workingSetBytes).toBeGreaterThan(0);
    expect(s.node.fs?.capacityBytes).toBeGreaterThan(0);
    expect(s.node.runtime?.imageFs?.usedBytes).toBeGreaterThan(0);
    for (const name of POD_NAMES) {
      const p = s.pods.find((x) => x.podRef.name === name)!;
      expect(p.podRef.namespace).toBe('default');
      expect(p.cpu?.usageCoreNanoSeconds, name).toBeGreaterThan(0);
      expect(p.memory?.workingSetBytes, name).toBeGreaterThan(0);
      // One entry per container (no exited instances), with cpu, memory, rootfs and logs.
      expect(p.containers).toHaveLength(1);
      expect(p.containers[0].cpu?.usageCoreNanoSeconds).toBeGreaterThan(0);
      expect(p.containers[0].memory?.workingSetBytes).toBeGreaterThan(0);
      expect(p.containers[0].rootfs?.usedBytes).toBeGreaterThanOrEqual(0);
      expect(p.containers[0].logs?.usedBytes).toBeGreaterThanOrEqual(0);
      expect(p['ephemeral-storage']?.usedBytes).toBeGreaterThanOrEqual(0);
    }
    // The counter pod logs twice a second: its log usage is more than zero.
    expect(s.pods.find((p) => p.podRef.name === 'counter')!.containers[0].logs?.usedBytes).toBeGreaterThan(0);
  });

  it('deletes the pods', async () => {
    await kubectl(['delete', 'pod', ...POD_NAMES, '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
  });
}
