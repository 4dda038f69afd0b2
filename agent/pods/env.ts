/**
 * A container's environment, as kubelet's `makeEnvironmentVariables` builds it: `envFrom`
 * sources (with prefix), then `env` in order (values with `$(VAR)` expansion against the
 * variables declared so far and the service variables; `valueFrom` field, resource,
 * ConfigMap and Secret references), then the service variables not already set.
 *
 * A missing ConfigMap, Secret or key that is not optional fails with kubelet's message
 * (`configmap "x" not found`, `couldn't find key k in ConfigMap ns/x`); the syncer turns
 * that into the `CreateContainerConfigError` waiting reason.
 */
import type { ConfigMap, Container, ObjectFieldSelector, Pod, ResourceFieldSelector, Secret } from 'kubernetes-types/core/v1.js';
import { SkiffError } from '../../lib/errors.js';
import { parseQuantity } from '../../lib/units/index.js';
import type { KeyValue } from '../runtime/index.js';
import { expand, mappingFuncFor } from './expansion.js';

/** The environment could not be built; the message is kubelet's. */
export class EnvError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_POD_ENV', message, options);
  }
}

/** True for an {@link EnvError}. */
export function isEnvError(err: unknown): err is EnvError {
  return err instanceof EnvError;
}

/** Reads ConfigMaps and Secrets; resolves `undefined` when the object does not exist. */
export interface ConfigSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** Inputs of {@link makeEnvironment}. */
export interface EnvInput {
  pod: Pod;
  container: Container;
  podIPs: readonly string[];
  hostIPs: readonly string[];
  /** Service variables, or undefined when Services have not been listed yet. */
  serviceEnv: ReadonlyMap<string, string> | undefined;
  /** The node's allocatable resources, the default for unset limits in `resourceFieldRef`. */
  nodeAllocatable?: Readonly<Record<string, string>>;
  source: ConfigSource;
}

function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

const SUBSCRIPT_RE = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/;

/** The value of a downward-API field reference (`podFieldSelectorRuntimeValue`). */
export function fieldRefValue(ref: ObjectFieldSelector, pod: Pod, podIPs: readonly string[], hostIPs: readonly string[]): string {
  const path = ref.fieldPath;
  switch (path) {
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return hostIPs[0] ?? '';
    case 'status.hostIPs':
      return hostIPs.join(',');
    case 'status.podIP':
      return podIPs[0] ?? '';
    case 'status.podIPs':
      return podIPs.join(',');
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
  }
  const m = SUBSCRIPT_RE.exec(path);
  if (m) {
    const map = m[1] === 'metadata.labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[m[2]] ?? '';
  }
  throw new EnvError(`unsupported fieldPath: ${path}`);
}

/** The value of a resource field reference (`containerResourceRuntimeValue`), limits defaulted to allocatable. */
export function resourceFieldRefValue(
  ref: ResourceFieldSelector,
  pod: Pod,
  container: Container,
  allocatable: Readonly<Record<string, string>> = {},
): string {
  const target = ref.containerName
    ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === ref.containerName)
    : container;
  if (!target) throw new EnvError(`container ${ref.containerName} not found`);
  const [kind, resource] = ref.resource.split(/\.(.*)/s, 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !resource) throw new EnvError(`unsupported container resource : ${ref.resource}`);
  const list = (kind === 'limits' ? target.resources?.limits : target.resources?.requests) ?? {};
  let raw: string | undefined = list[resource] as string | undefined;
  if (raw === undefined && kind === 'limits') raw = allocatable[resource];
  const isCpu = resource === 'cpu';
  const divisor = parseQuantity((ref.divisor as string | undefined) ?? '1', 'divisor');
  if (!(divisor > 0)) throw new EnvError(`invalid divisor for ${ref.resource}`);
  const value = raw === undefined ? 0 : parseQuantity(raw, ref.resource);
  if (isCpu) {
    const milli = Math.ceil(value * 1000 - 1e-9);
    const divMilli = Math.ceil(divisor * 1000 - 1e-9);
    return String(Math.ceil(milli / divMilli));
  }
  return String(Math.ceil(value / divisor - 1e-9));
}

function decodeSecret(v: string): string {
  return Buffer.from(v, 'base64').toString('utf8');
}

/** Builds the container's environment; throws {@link EnvError} with kubelet's messages. */
export async function makeEnvironment(i: EnvInput): Promise<KeyValue[]> {
  const ns = i.pod.metadata?.namespace ?? '';
  if (!i.serviceEnv) throw new EnvError('services have not yet been read at least once, cannot construct envvars');
  const serviceEnv = i.serviceEnv;
  const tmpEnv = new Map<string, string>();
  const configMaps = new Map<string, ConfigMap | undefined>();
  const secrets = new Map<string, Secret | undefined>();

  async function cm(name: string): Promise<ConfigMap | undefined> {
    if (!configMaps.has(name)) configMaps.set(name, await i.source.configMap(ns, name));
    return configMaps.get(name);
  }
  async function secret(name: string): Promise<Secret | undefined> {
    if (!secrets.has(name)) secrets.set(name, await i.source.secret(ns, name));
    return secrets.get(name);
  }

  for (const from of i.container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const obj = await cm(name);
      if (!obj) {
        if (from.configMapRef.optional) continue;
        throw new EnvError(`configmap ${JSON.stringify(name)} not found`);
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) {
        const key = prefix + k;
        if (!key || key.includes('=')) continue; // not a valid variable name: skipped, as kubelet does
        tmpEnv.set(key, v);
      }
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const obj = await secret(name);
      if (!obj) {
        if (from.secretRef.optional) continue;
        throw new EnvError(`secret ${JSON.stringify(name)} not found`);
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) {
        const key = prefix + k;
        if (!key || key.includes('=')) continue;
        tmpEnv.set(key, decodeSecret(v));
      }
    }
  }

  const mapping = mappingFuncFor(tmpEnv, serviceEnv);
  for (const e of i.container.env ?? []) {
    let value = e.value ?? '';
    if (value !== '') {
      value = expand(value, mapping);
    } else if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) {
        value = fieldRefValue(vf.fieldRef, i.pod, i.podIPs, i.hostIPs);
      } else if (vf.resourceFieldRef) {
        value = resourceFieldRefValue(vf.resourceFieldRef, i.pod, i.container, i.nodeAllocatable);
      } else if (vf.configMapKeyRef) {
        const { name = '', key, optional } = vf.configMapKeyRef;
        const obj = await cm(name);
        if (!obj) {
          if (optional) continue;
          throw new EnvError(`configmap ${JSON.stringify(name)} not found`);
        }
        const v = obj.data?.[key];
        if (v === undefined) {
          if (optional) continue;
          throw new EnvError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
        }
        value = v;
      } else if (vf.secretKeyRef) {
        const { name = '', key, optional } = vf.secretKeyRef;
        const obj = await secret(name);
        if (!obj) {
          if (optional) continue;
          throw new EnvError(`secret ${JSON.stringify(name)} not found`);
        }
        const v = obj.data?.[key];
        if (v === undefined) {
          if (optional) continue;
          throw new EnvError(`couldn't find key ${key} in Secret ${ns}/${name}`);
        }
        value = decodeSecret(v);
      }
    }
    tmpEnv.set(e.name, value);
  }

  const out: KeyValue[] = [];
  for (const [key, value] of tmpEnv) out.push({ key, value });
  for (const [key, value] of serviceEnv) if (!tmpEnv.has(key)) out.push({ key, value });
  return out;
}
