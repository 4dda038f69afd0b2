/**
 * Storage keys, shaped like kube-apiserver's etcd keys: `/registry/<resource>/<ns>/<name>`
 * for namespaced resources and `/registry/<resource>/<name>` for cluster-scoped ones.
 * Non-core groups get their group in the path (`/registry/apps/deployments/...`) so that
 * two groups with the same plural never share keys.
 */
import type { ResourceType } from '../../lib/kube/resources.js';

/** Prefix of every key of `type` (in `namespace` when given), ending with `/`. */
export function keyPrefix(type: Pick<ResourceType, 'group' | 'resource' | 'namespaced'>, namespace?: string): string {
  const base = type.group === '' ? `/registry/${type.resource}/` : `/registry/${type.group}/${type.resource}/`;
  return type.namespaced && namespace ? `${base}${namespace}/` : base;
}

/** The key of one object. */
export function objectStoreKey(type: Pick<ResourceType, 'group' | 'resource' | 'namespaced'>, namespace: string | undefined, name: string): string {
  return `${keyPrefix(type, type.namespaced ? namespace : undefined)}${name}`;
}
