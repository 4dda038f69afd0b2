/**
 * Node registration, as kubelet's `registerWithAPIServer` / `initialNode` /
 * `tryRegisterWithAPIServer` do it:
 *
 * - The initial Node carries the default labels (`kubernetes.io/hostname`, `kubernetes.io/os`,
 *   `kubernetes.io/arch` and their `beta.` twins), then `--node-labels` (which win), the
 *   `volumes.kubernetes.io/controller-managed-attach-detach` annotation, `registerWithTaints`,
 *   `spec.providerID`, and a full status.
 * - kubelet 1.32 does NOT add `node.kubernetes.io/not-ready:NoSchedule` itself: that taint
 *   comes from kube-apiserver's `TaintNodesByCondition` admission plugin on Node creation (and
 *   from the node-lifecycle controller). Skiff does the same as kubelet and leaves it out.
 * - If the Node already exists (a restart, or someone pre-created it), it is reconciled: the
 *   attach/detach annotation and the default labels are set to kubelet's values (other labels,
 *   `--node-labels` included, and the whole spec — `spec.podCIDR` above all — are left alone).
 * - Attempts repeat with backoff (100 ms doubling to 7 s) until they succeed; nothing throws
 *   out of the loop but an abort.
 */
import type { Node, NodeStatus, Taint as ApiTaint } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage, isAborted } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { goArch } from '../../lib/version.js';
import { Nodes, isAlreadyExists, type KubeClient } from '../../lib/kube/index.js';
import type { AgentConfig } from '../config/index.js';

/** Annotation asking the attach/detach controller to manage this node's volumes. */
export const CONTROLLER_MANAGED_ATTACH_ANNOTATION = 'volumes.kubernetes.io/controller-managed-attach-detach';

/** Labels kubelet owns and reconciles on an existing Node (`updateDefaultLabels`). */
export const DEFAULT_LABELS: readonly string[] = [
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
];

/** The config fields registration reads. */
export type RegistrationConfig = Pick<AgentConfig, 'nodeName' | 'nodeLabels' | 'registerWithTaints' | 'providerID'>;

/** Builds the Node kubelet would create (`initialNode`), with `status` already computed. */
export function buildInitialNode(config: RegistrationConfig, status: NodeStatus, hostname: string = config.nodeName): Node {
  const arch = goArch();
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': hostname,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': arch,
  };
  for (const [k, v] of Object.entries(config.nodeLabels ?? {})) labels[k] = v;
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: config.nodeName,
      labels,
      annotations: { [CONTROLLER_MANAGED_ATTACH_ANNOTATION]: 'true' },
    },
    spec: {},
    status,
  };
  const taints: ApiTaint[] = (config.registerWithTaints ?? []).map((t) => {
    const out: ApiTaint = { key: t.key, effect: t.effect };
    if (t.value) out.value = t.value;
    return out;
  });
  if (taints.length > 0) node.spec!.taints = taints;
  if (config.providerID) node.spec!.providerID = config.providerID;
  return node;
}

/**
 * What must change on an existing Node for it to match kubelet's view (`reconcileCMADAnnotation…`,
 * `updateDefaultLabels`). Returns a strategic merge patch for the Node, or undefined when nothing
 * needs to change.
 */
export function reconcilePatch(initial: Node, existing: Node): Record<string, unknown> | undefined {
  const labels: Record<string, string | null> = {};
  const annotations: Record<string, string | null> = {};
  const want = initial.metadata?.annotations?.[CONTROLLER_MANAGED_ATTACH_ANNOTATION];
  const have = existing.metadata?.annotations?.[CONTROLLER_MANAGED_ATTACH_ANNOTATION];
  if (want !== have) annotations[CONTROLLER_MANAGED_ATTACH_ANNOTATION] = want ?? null;
  for (const key of DEFAULT_LABELS) {
    const v = initial.metadata?.labels?.[key];
    if (v === undefined) continue;
    const cur = existing.metadata?.labels?.[key];
    if (v === '' && cur !== undefined) labels[key] = null;
    else if (v !== '' && cur !== v) labels[key] = v;
  }
  const meta: Record<string, unknown> = {};
  if (Object.keys(labels).length > 0) meta.labels = labels;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  return Object.keys(meta).length > 0 ? { metadata: meta } : undefined;
}

/**
 * One registration attempt: create the Node, or reconcile the existing one. Resolves to the Node
 * as the apiserver has it; rejects on any API error.
 */
export async function tryRegister(client: KubeClient, initial: Node, logger: Logger, signal?: AbortSignal): Promise<Node> {
  const name = initial.metadata!.name!;
  try {
    return await client.create<Node>(Nodes, initial, { signal });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const existing = await client.get<Node>(Nodes, undefined, name, { signal });
  logger.info({ node: name }, 'node was previously registered');
  const patch = reconcilePatch(initial, existing);
  if (!patch) return existing;
  return client.patch<Node>(Nodes, undefined, name, 'strategic', patch, { signal });
}

/** Options of {@link registerWithBackoff}. */
export interface RegisterOptions {
  client: KubeClient;
  /** Builds the initial Node; called before every attempt (facts may change between them). */
  initialNode: () => Promise<Node>;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Registers the node, retrying with kubelet's backoff (sleep 100 ms, doubling, capped at 7 s,
 * before every attempt) until it succeeds. Rejects only when `signal` aborts.
 */
export async function registerWithBackoff(opts: RegisterOptions): Promise<Node> {
  let step = 100;
  for (;;) {
    await opts.clock.sleep(step, opts.signal);
    step = Math.min(step * 2, 7_000);
    let initial: Node;
    try {
      initial = await opts.initialNode();
    } catch (err) {
      if (isAborted(err)) throw err;
      opts.logger.error({ err: errorMessage(err) }, 'unable to construct v1.Node object for kubelet');
      continue;
    }
    opts.logger.info({ node: initial.metadata?.name }, 'attempting to register node');
    try {
      const node = await tryRegister(opts.client, initial, opts.logger, opts.signal);
      opts.logger.info({ node: initial.metadata?.name }, 'successfully registered node');
      return node;
    } catch (err) {
      if (isAborted(err) || opts.signal?.aborted) throw err;
      opts.logger.error({ err: errorMessage(err), node: initial.metadata?.name }, 'unable to register node with API server');
    }
  }
}
