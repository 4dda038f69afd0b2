/**
 * Score plugins and node selection. Weights follow kube-scheduler 1.32's defaults:
 * NodeResourcesFit LeastAllocated (1), NodeResourcesBalancedAllocation (1), NodeAffinity
 * preferred terms (2), PodTopologySpread (2) and TaintToleration PreferNoSchedule (3).
 *
 * Deviation: the spread score counts pods with the same controller (owner UID) per node,
 * instead of kube's system-default topology spread constraints derived from Services and
 * controllers' selectors; ties are broken by node name rather than at random, so placement is
 * deterministic.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { NodeInfo } from './framework.js';
import { preferredAffinityScore } from './node-affinity.js';
import { nonZeroRequests } from './resources.js';
import { effectiveTaints, tolerated } from './taints.js';
import { controllerUidOf } from './pod-info.js';

const MAX_NODE_SCORE = 100;

function leastAllocated(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** Scores each feasible node; returns the best one. */
export function selectHost(pod: Pod, nodes: readonly NodeInfo[]): NodeInfo {
  if (nodes.length === 1) return nodes[0];
  const podNz = nonZeroRequests(pod);
  const owner = controllerUidOf(pod);
  const raw = nodes.map((n) => {
    const cpuCap = n.allocatable.get('cpu') ?? 0;
    const memCap = n.allocatable.get('memory') ?? 0;
    const cpuReq = n.nonZeroRequested.cpu + podNz.cpu;
    const memReq = n.nonZeroRequested.memory + podNz.memory;
    const least = Math.floor((leastAllocated(cpuReq, cpuCap) + leastAllocated(memReq, memCap)) / 2);
    const cpuFrac = cpuCap ? Math.min(1, cpuReq / cpuCap) : 1;
    const memFrac = memCap ? Math.min(1, memReq / memCap) : 1;
    const balanced = Math.floor((1 - Math.abs(cpuFrac - memFrac) / 2) * MAX_NODE_SCORE);
    let same = 0;
    if (owner) for (const p of n.pods.values()) if (p.ownerUid === owner && !p.terminating) same++;
    const intolerable = effectiveTaints(n.node).filter((t) => t.effect === 'PreferNoSchedule' && !tolerated(pod.spec?.tolerations, t)).length;
    return { n, least, balanced, affinity: preferredAffinityScore(pod, n.node), same, intolerable };
  });
  const maxAffinity = Math.max(...raw.map((r) => r.affinity));
  const maxSame = Math.max(...raw.map((r) => r.same));
  const minSame = Math.min(...raw.map((r) => r.same));
  const maxIntolerable = Math.max(...raw.map((r) => r.intolerable));
  let best: { n: NodeInfo; score: number } | undefined;
  for (const r of raw) {
    const affinity = maxAffinity > 0 ? Math.floor((r.affinity * MAX_NODE_SCORE) / maxAffinity) : 0;
    const spread = maxSame > minSame ? Math.floor(((maxSame - r.same) * MAX_NODE_SCORE) / (maxSame - minSame)) : MAX_NODE_SCORE;
    const taint = maxIntolerable > 0 ? MAX_NODE_SCORE - Math.floor((r.intolerable * MAX_NODE_SCORE) / maxIntolerable) : MAX_NODE_SCORE;
    const score = r.least + r.balanced + 2 * affinity + 2 * spread + 3 * taint;
    if (!best || score > best.score || (score === best.score && r.n.name < best.n.name)) best = { n: r.n, score };
  }
  return best!.n;
}
