/**
 * Payloads of the API-backed volumes: configMap and secret (`MakePayload` of
 * `pkg/volume/{configmap,secret}`) and downwardAPI (`pkg/volume/downwardapi` `CollectData`,
 * `pkg/fieldpath`, `pkg/api/v1/resource`). Errors carry kubelet's text; secret values never
 * appear in them.
 */
import type { ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, Pod, ResourceFieldSelector, Secret } from 'kubernetes-types/core/v1.js';
import { cpuToMillis, parseQuantity } from '../../../lib/units/index.js';
import type { FileProjection, Payload } from './atomic-writer.js';
import { goQuote } from './gofmt.js';

/** The apiserver's default `defaultMode` (0644). */
export const DEFAULT_MODE = 0o644;

/** Builds a configMap volume's files: every key (data and binaryData), or only `items`. */
export function configMapPayload(items: KeyToPath[] | undefined, cm: ConfigMap, defaultMode: number, optional: boolean): Payload {
  const out: Payload = new Map();
  const data = cm.data ?? {};
  const binary = cm.binaryData ?? {};
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: Buffer.from(v, 'utf8'), mode: defaultMode });
    for (const [k, v] of Object.entries(binary)) out.set(k, { data: Buffer.from(v, 'base64'), mode: defaultMode });
    return out;
  }
  for (const item of items) {
    let content: Buffer;
    if (Object.prototype.hasOwnProperty.call(data, item.key)) content = Buffer.from(data[item.key], 'utf8');
    else if (Object.prototype.hasOwnProperty.call(binary, item.key)) content = Buffer.from(binary[item.key], 'base64');
    else {
      if (optional) continue;
      throw new Error(`configmap references non-existent config key: ${item.key}`);
    }
    out.set(item.path, { data: content, mode: item.mode ?? defaultMode });
  }
  return out;
}

/** Builds a secret volume's files from `data` (base64), every key or only `items`. */
export function secretPayload(items: KeyToPath[] | undefined, secret: Secret, defaultMode: number, optional: boolean): Payload {
  const out: Payload = new Map();
  const data = secret.data ?? {};
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: Buffer.from(v, 'base64'), mode: defaultMode });
    return out;
  }
  for (const item of items) {
    if (!Object.prototype.hasOwnProperty.call(data, item.key)) {
      if (optional) continue;
      throw new Error(`references non-existent secret key: ${item.key}`);
    }
    out.set(item.path, { data: Buffer.from(data[item.key], 'base64'), mode: item.mode ?? defaultMode });
  }
  return out;
}

/** `fieldpath.FormatMap`: sorted `key="value"` lines, values quoted as Go's `%q`, no final newline. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m![k])}`)
    .join('\n');
}

const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `validation.IsQualifiedName`: `[prefix/]name`, name ≤ 63 characters, prefix a DNS subdomain. */
function isQualifiedName(v: string): boolean {
  const parts = v.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (!name || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) return false;
  if (parts.length === 2) {
    const prefix = parts[0];
    if (!prefix || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
  }
  return true;
}

/** `fieldpath.SplitMaybeSubscriptedPath`: `metadata.labels['app']` → [`metadata.labels`, `app`]. */
function splitSubscript(fieldPath: string): [string, string] | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const s = fieldPath.slice(0, -2);
  const i = s.indexOf("['");
  if (i <= 0) return undefined;
  return [s.slice(0, i), s.slice(i + 2)];
}

/** `fieldpath.ExtractFieldPathAsString` for the paths a downwardAPI volume may use. */
export function extractFieldPath(pod: Pod, fieldPath: string): string {
  const sub = splitSubscript(fieldPath);
  const meta = pod.metadata ?? {};
  if (sub) {
    const [path, key] = sub;
    if (path === 'metadata.annotations' || path === 'metadata.labels') {
      const check = path === 'metadata.annotations' ? key.toLowerCase() : key;
      if (!isQualifiedName(check)) throw new Error(`invalid key subscript in ${fieldPath}`);
      const m = path === 'metadata.annotations' ? meta.annotations : meta.labels;
      return m?.[key] ?? '';
    }
    throw new Error(`fieldPath ${goQuote(fieldPath)} does not support subscript`);
  }
  switch (fieldPath) {
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

function findContainer(pod: Pod, name: string): Container | undefined {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
}

/**
 * `ExtractResourceValueByContainerNameAndNodeAllocatable`: a container's request or limit,
 * divided by the divisor and rounded up; an unset limit is the node's allocatable.
 */
export function extractResourceField(
  pod: Pod,
  ref: ResourceFieldSelector,
  containerName: string,
  nodeAllocatable: Record<string, string> | undefined,
): string {
  const container = findContainer(pod, containerName);
  if (!container) throw new Error(`failed to find container with name ${containerName} in pod ${pod.metadata?.name ?? ''}`);
  const limits = { ...(container.resources?.limits ?? {}) };
  for (const [k, v] of Object.entries(nodeAllocatable ?? {})) {
    if (k !== 'cpu' && k !== 'memory' && k !== 'ephemeral-storage' && !k.startsWith('hugepages-')) continue;
    if (limits[k] === undefined || parseQuantity(limits[k]) === 0) limits[k] = v;
  }
  const requests = container.resources?.requests ?? {};
  const divisorText = ref.divisor && parseQuantity(ref.divisor) !== 0 ? ref.divisor : '1';
  const resource = ref.resource;
  const [kind, name] = resource.startsWith('limits.')
    ? (['limits', resource.slice('limits.'.length)] as const)
    : resource.startsWith('requests.')
      ? (['requests', resource.slice('requests.'.length)] as const)
      : (['', ''] as const);
  const supported = name === 'cpu' || name === 'memory' || name === 'ephemeral-storage' || name.startsWith('hugepages-');
  if (!kind || !supported) throw new Error(`unsupported container resource : ${resource}`);
  const q = (kind === 'limits' ? limits : requests)[name] ?? '0';
  if (name === 'cpu') {
    return String(Math.ceil(cpuToMillis(q) / cpuToMillis(divisorText)));
  }
  const value = Math.ceil(parseQuantity(q) - 1e-9);
  const divisor = Math.ceil(parseQuantity(divisorText) - 1e-9);
  return String(Math.ceil(value / divisor));
}

/**
 * The files of a downwardAPI volume (or projection): fieldRef and resourceFieldRef items.
 * Errors of several items are joined as Go's aggregate error (`[a, b]`).
 */
export function downwardApiPayload(
  items: DownwardAPIVolumeFile[] | undefined,
  pod: Pod,
  defaultMode: number,
  nodeAllocatable: Record<string, string> | undefined,
): Payload {
  const out: Payload = new Map();
  const errs: string[] = [];
  for (const item of items ?? []) {
    const fp: FileProjection = { data: Buffer.alloc(0), mode: item.mode ?? defaultMode };
    try {
      if (item.fieldRef) {
        fp.data = Buffer.from(extractFieldPath(pod, item.fieldRef.fieldPath), 'utf8');
      } else if (item.resourceFieldRef) {
        const containerName = item.resourceFieldRef.containerName ?? '';
        fp.data = Buffer.from(extractResourceField(pod, item.resourceFieldRef, containerName, nodeAllocatable), 'utf8');
      }
    } catch (err) {
      errs.push((err as Error).message);
      continue;
    }
    out.set(item.path, fp);
  }
  if (errs.length) throw new Error(aggregateMessage(errs));
  return out;
}

/** Go's `utilerrors.NewAggregate(...).Error()`. */
export function aggregateMessage(msgs: string[]): string {
  const uniq = [...new Set(msgs)];
  return uniq.length === 1 ? uniq[0] : `[${uniq.join(', ')}]`;
}
