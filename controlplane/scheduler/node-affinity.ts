/**
 * `nodeSelector` and node affinity (kube's `nodeaffinity` plugin and
 * `component-helpers/scheduling/corev1/nodeaffinity`).
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from 'kubernetes-types/core/v1.js';

function intValue(s: string | undefined): number | undefined {
  if (s === undefined || !/^[-+]?\d+$/.test(s)) return undefined;
  return Number(s);
}

/**
 * One `NodeSelectorRequirement` against a label (or field) map. Relies on API validation for
 * the number of values; the agent's admission copy (`agent/pods/admission/admit.ts`) checks
 * them itself, so the two are kept apart.
 */
export function requirementMatches(r: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(values, r.key);
  const v = has ? values[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(v!);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      const n = intValue(v);
      const want = intValue(r.values?.[0]);
      if (n === undefined || want === undefined || (r.values?.length ?? 0) !== 1) return false;
      return r.operator === 'Gt' ? n > want : n < want;
    }
    default:
      return false;
  }
}

/** A term matches when all its expressions and fields match; an empty term matches nothing. */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  if (!exprs.every((r) => requirementMatches(r, labels))) return false;
  // Only `metadata.name` is a supported field (validation rejects others).
  const nodeFields = { 'metadata.name': node.metadata?.name ?? '' };
  return fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, nodeFields));
}

/** True when `pod`'s nodeSelector and required node affinity admit `node`. */
export function nodeMatchesPod(pod: Pod, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
  return true;
}

/** Sum of the weights of the preferred terms `node` matches. */
export function preferredAffinityScore(pod: Pod, node: Node): number {
  let score = 0;
  for (const p of pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (p.weight && termMatches(p.preference, node)) score += p.weight;
  }
  return score;
}
