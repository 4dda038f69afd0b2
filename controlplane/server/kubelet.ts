/**
 * Where the kubelet of a pod's node answers (`pkg/registry/core/pod/strategy.go`
 * `LogLocation`, `ExecLocation`, … and `node.ResourceLocation`): the node's preferred
 * address and `status.daemonEndpoints.kubeletEndpoint.Port`.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { Nodes, Pods } from '../../lib/kube/resources.js';
import type { Registry } from '../registry/index.js';
import { badRequest } from '../registry/errors.js';

/** kube-apiserver's `--kubelet-preferred-address-types` as Skiff sets it. */
export const PREFERRED_ADDRESS_TYPES: readonly string[] = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'];

/** `https://<address>:<port>` of a node's kubelet. */
export async function kubeletBaseUrl(registry: Registry, nodeName: string): Promise<URL> {
  const node = (await registry.get(Nodes, undefined, nodeName)) as unknown as Node;
  const addrs = node.status?.addresses ?? [];
  let host: string | undefined;
  for (const t of PREFERRED_ADDRESS_TYPES) {
    host = addrs.find((a) => a.type === t && a.address)?.address;
    if (host) break;
  }
  if (!host) throw badRequest(`node ${nodeName} has no usable address`);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || 10250;
  return new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
}

/** The pod and its container for a streaming request (defaulting the container when there is one). */
export async function podContainer(registry: Registry, ns: string, name: string, container: string | null): Promise<{ pod: Pod; container: string; node: string }> {
  const pod = (await registry.get(Pods, ns, name)) as unknown as Pod;
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].map((c) => c.name);
  let c = container ?? '';
  if (!c) {
    const regular = (pod.spec?.containers ?? []).map((x) => x.name);
    if (regular.length === 1) c = regular[0];
    else if (pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container']) c = pod.metadata.annotations['kubectl.kubernetes.io/default-container'];
    else throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${regular.join(' ')}]`);
  }
  if (!names.includes(c)) throw badRequest(`container ${c} is not valid for pod ${name}`);
  const node = pod.spec?.nodeName;
  if (!node) throw badRequest(`pod ${name} does not have a host assigned`);
  return { pod, container: c, node };
}

/** Query parameters of `pods/log` forwarded to the kubelet's `/containerLogs`. */
export const LOG_PARAMS: readonly string[] = ['follow', 'previous', 'sinceSeconds', 'sinceTime', 'timestamps', 'tailLines', 'limitBytes', 'stream'];

/** `pods/exec` and `pods/attach` parameters, renamed as the kubelet expects them. */
export function streamParams(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const c of q.getAll('command')) out.append('command', c);
  const flag = (from: string, to: string): void => {
    const v = q.get(from);
    if (v === 'true' || v === '1') out.set(to, '1');
  };
  flag('stdin', 'input');
  flag('stdout', 'output');
  flag('stderr', 'error');
  flag('tty', 'tty');
  return out;
}
