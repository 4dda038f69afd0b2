/**
 * kube-apiserver's validation (k8s.io/kubernetes pkg/apis/{core,apps,discovery,coordination}
 * /validation, apimachinery's metav1 and util/validation) for the checks that matter on a
 * test cluster, with kube's field paths and message texts. `FieldError.message` is what
 * kube calls the error body (`Invalid value: "x": detail`); the 422 Status is built by
 * {@link invalidStatus}.
 */
import { isIP } from 'node:net';
import type { Status, StatusCause, LabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import { ApiError, statusFailure } from '../../lib/kube/errors.js';
import {
  dns1123SubdomainErrors, labelValueErrors, maxLenError, qualifiedNameErrors, regexError,
} from '../../lib/kube/selectors.js';
import { parseQuantity, QUANTITY_REGEX } from './quantity.js';

/** `StatusCause.reason` values kube-apiserver uses for field errors. */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueNotFound';

/** One validation failure; becomes a `StatusCause` of a 422 `Invalid` Status. */
export interface FieldError {
  type: FieldErrorType;
  /** Field path as kube-apiserver prints it: `spec.containers[0].image`, `metadata.name`. */
  field: string;
  /** Full message as kube-apiserver prints it, e.g. `Invalid value: "-1": must be greater than or equal to 0`. */
  message: string;
}

// =======================================================================================
// Field errors, formatted as k8s.io/apimachinery/pkg/util/validation/field does.

/** A value already rendered the way Go's `%#v` would print it. */
export class GoValue {
  constructor(readonly text: string) {}
}

/** Renders a bad value as `field.Error.ErrorBody` does: strings quoted, numbers bare. */
export function formatValue(v: unknown): string {
  if (v instanceof GoValue) return v.text;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** `map[string]string{"a":"b", "c":"d"}` as Go's `%#v` prints a string map (keys sorted). */
export function goStringMap(m: Record<string, string> | undefined): GoValue {
  if (!m) return new GoValue('map[string]string(nil)');
  const keys = Object.keys(m).sort();
  return new GoValue(`map[string]string{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`).join(', ')}}`);
}

/** `[]string{"a", "b"}` as Go's `%#v` prints a string slice. */
export function goStringSlice(s: readonly string[] | undefined): GoValue {
  if (!s) return new GoValue('[]string(nil)');
  return new GoValue(`[]string{${s.map((x) => JSON.stringify(x)).join(', ')}}`);
}

function goLabelSelector(sel: LabelSelector | undefined): GoValue {
  const ml = sel?.matchLabels ? goStringMap(sel.matchLabels).text : 'map[string]string(nil)';
  const exprs = sel?.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map((e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${goStringSlice(e.values).text}}`)
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return new GoValue(`v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${exprs}}`);
}

/** An error list under construction, with kube's error constructors. */
class Errs {
  readonly list: FieldError[] = [];
  required(field: string, detail = ''): void {
    this.list.push({ type: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.list.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${formatValue(value)}${detail ? `: ${detail}` : ''}` });
  }
  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    const detail = supported.length ? `: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : '';
    this.list.push({ type: 'FieldValueNotSupported', field, message: `Unsupported value: ${formatValue(value)}${detail}` });
  }
  duplicate(field: string, value: unknown): void {
    this.list.push({ type: 'FieldValueDuplicate', field, message: `Duplicate value: ${formatValue(value)}` });
  }
  forbidden(field: string, detail: string): void {
    this.list.push({ type: 'FieldValueForbidden', field, message: detail ? `Forbidden: ${detail}` : 'Forbidden' });
  }
  notFound(field: string, value: unknown): void {
    this.list.push({ type: 'FieldValueNotFound', field, message: `Not found: ${formatValue(value)}` });
  }
  tooLong(field: string, max: number): void {
    this.list.push({ type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${max} bytes` });
  }
  tooMany(field: string, actual: number, max: number): void {
    this.list.push({ type: 'FieldValueTooMany', field, message: `Too many: ${actual}: must have at most ${max} items` });
  }
  /** One Invalid error per message string (how kube reports `IsXxx` results). */
  each(field: string, value: unknown, msgs: string[]): void {
    for (const m of msgs) this.invalid(field, value, m);
  }
  nonNegative(field: string, v: unknown): void {
    if (typeof v === 'number' && v < 0) this.invalid(field, v, 'must be greater than or equal to 0');
  }
}

// =======================================================================================
// Name and value syntax (k8s.io/apimachinery/pkg/util/validation).

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+';

/** `IsDNS1123Label`. */
export function dns1123LabelErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!new RegExp(`^${DNS1123_LABEL_FMT}$`).test(v)) {
    errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

/** `IsDNS1035Label`. */
export function dns1035LabelErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!new RegExp(`^${DNS1035_LABEL_FMT}$`).test(v)) {
    errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  }
  return errs;
}

export { dns1123SubdomainErrors, qualifiedNameErrors, labelValueErrors };

/** `IsConfigMapKey` (ConfigMap and Secret data keys). */
export function configMapKeyErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!new RegExp(`^${CONFIG_KEY_FMT}$`).test(v)) {
    errs.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  }
  if (v === '.') errs.push("must not be '.'");
  else if (v === '..') errs.push("must not be '..'");
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** `IsValidPortName` (IANA_SVC_NAME). */
export function portNameErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/**
 * Environment variable names. Kubernetes 1.32 enables RelaxedEnvironmentVariableValidation
 * (beta), so any printable ASCII but `=` is accepted.
 */
export function envVarNameErrors(v: string): string[] {
  const errs: string[] = [];
  for (const ch of v) {
    const c = ch.charCodeAt(0);
    if (c < 32 || c > 126 || ch === '=') {
      errs.push("a valid environment variable name must consist only of printable ASCII characters other than '='");
      break;
    }
  }
  return errs;
}

const PORT_RANGE = 'must be between 1 and 65535, inclusive';
const validPort = (p: unknown): boolean => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;

/** Replaces a trailing `-` so a generateName prefix validates (`maskTrailingDash`). */
function maskTrailingDash(s: string): string {
  return s.length > 1 && s.endsWith('-') ? `${s.slice(0, -2)}a` : s;
}

type NameFn = (name: string) => string[];
const subdomainName: NameFn = dns1123SubdomainErrors;
const label1123Name: NameFn = dns1123LabelErrors;
const label1035Name: NameFn = dns1035LabelErrors;

/** The name rule of a kind: Namespace DNS-1123 label, Service DNS-1035 label, others subdomain. */
function nameFnFor(type: Pick<ResourceType, 'group' | 'kind'>): NameFn {
  if (type.group === '' && type.kind === 'Namespace') return label1123Name;
  if (type.group === '' && type.kind === 'Service') return label1035Name;
  return subdomainName;
}

// =======================================================================================
// ObjectMeta

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

function validateLabels(e: Errs, labels: Record<string, string> | undefined, path: string): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    e.each(path, k, qualifiedNameErrors(k));
    if (typeof v !== 'string') e.invalid(path, v, 'must be a string');
    else e.each(path, v, labelValueErrors(v));
  }
}

function validateAnnotations(e: Errs, ann: Record<string, string> | undefined, path: string): void {
  let size = 0;
  for (const [k, v] of Object.entries(ann ?? {})) {
    e.each(path, k, qualifiedNameErrors(k.toLowerCase()));
    size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : '');
  }
  if (size > TOTAL_ANNOTATION_SIZE) e.tooLong(path, TOTAL_ANNOTATION_SIZE);
}

function validateMeta(e: Errs, meta: ObjectMeta | undefined, namespaced: boolean, nameFn: NameFn, path = 'metadata'): void {
  const m = meta ?? {};
  if (m.generateName) for (const msg of nameFn(maskTrailingDash(m.generateName))) e.invalid(`${path}.generateName`, m.generateName, msg);
  if (!m.name) {
    if (!m.generateName) e.required(`${path}.name`, 'name or generateName is required');
  } else {
    e.each(`${path}.name`, m.name, nameFn(m.name));
  }
  if (namespaced) {
    if (!m.namespace) e.required(`${path}.namespace`);
    else e.each(`${path}.namespace`, m.namespace, dns1123LabelErrors(m.namespace));
  } else if (m.namespace) {
    e.forbidden(`${path}.namespace`, 'not allowed on this type');
  }
  if (typeof m.generation === 'number' && m.generation < 0) e.invalid(`${path}.generation`, m.generation, 'must be greater than or equal to 0');
  validateLabels(e, m.labels, `${path}.labels`);
  validateAnnotations(e, m.annotations, `${path}.annotations`);
  let controllers = 0;
  for (const r of m.ownerReferences ?? []) {
    const p = `${path}.ownerReferences`;
    if (!r.apiVersion) e.invalid(`${p}.apiVersion`, r.apiVersion ?? '', 'version must not be empty');
    if (!r.kind) e.invalid(`${p}.kind`, r.kind ?? '', 'must not be empty');
    if (!r.name) e.invalid(`${p}.name`, r.name ?? '', 'must not be empty');
    if (!r.uid) e.invalid(`${p}.uid`, r.uid ?? '', 'must not be empty');
    if (r.controller) controllers++;
  }
  if (controllers > 1) e.invalid(`${path}.ownerReferences`, new GoValue('[]v1.OwnerReference{...}'), 'Only one reference can have Controller set to true');
  (m.finalizers ?? []).forEach((f, i) => {
    const errs = qualifiedNameErrors(f);
    e.each(`${path}.finalizers[${i}]`, f, errs);
  });
}

function validateMetaUpdate(e: Errs, meta: ObjectMeta | undefined, old: ObjectMeta | undefined): void {
  const m = meta ?? {};
  const o = old ?? {};
  if (o.name && m.name !== o.name) e.invalid('metadata.name', m.name ?? '', 'field is immutable');
  if ((m.namespace ?? '') !== (o.namespace ?? '')) e.invalid('metadata.namespace', m.namespace ?? '', 'field is immutable');
  if (o.uid && m.uid && m.uid !== o.uid) e.invalid('metadata.uid', m.uid, 'field is immutable');
}

// =======================================================================================
// Pod

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['FallbackToLogsOnError', 'File'];
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

type Loose = Record<string, unknown>;
const asObj = (v: unknown): Loose => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : {});
const asArr = (v: unknown): Loose[] => (Array.isArray(v) ? (v as Loose[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'secret', 'configMap', 'persistentVolumeClaim', 'nfs', 'downwardAPI', 'projected', 'ephemeral',
  'csi', 'image', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'iscsi', 'glusterfs', 'rbd', 'flexVolume',
  'cinder', 'cephfs', 'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk',
  'portworxVolume', 'scaleIO', 'storageos',
];

function validateVolumes(e: Errs, vols: Loose[], path: string): Set<string> {
  const names = new Set<string>();
  vols.forEach((v, i) => {
    const p = `${path}[${i}]`;
    const name = str(v.name);
    if (!name) e.required(`${p}.name`);
    else {
      e.each(`${p}.name`, name, dns1123LabelErrors(name));
      if (names.has(name)) e.duplicate(`${p}.name`, name);
      names.add(name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined && v[s] !== null);
    if (sources.length === 0) e.required(p, 'must specify a volume type');
    else if (sources.length > 1) e.forbidden(`${p}.${sources[1]}`, 'may not specify more than 1 volume type');
    const cm = v.configMap !== undefined ? asObj(v.configMap) : undefined;
    if (cm && !cm.name) e.required(`${p}.configMap.name`);
    const sec = v.secret !== undefined ? asObj(v.secret) : undefined;
    if (sec && !sec.secretName) e.required(`${p}.secret.secretName`);
    for (const [src, mode] of [['configMap', cm?.defaultMode], ['secret', sec?.defaultMode]] as const) {
      if (typeof mode === 'number' && (mode < 0 || mode > 0o777)) {
        e.invalid(`${p}.${src}.defaultMode`, mode, 'must be a number between 0 and 0777 (octal), both inclusive');
      }
    }
    const hp = v.hostPath !== undefined ? asObj(v.hostPath) : undefined;
    if (hp && !hp.path) e.required(`${p}.hostPath.path`);
    const pvc = v.persistentVolumeClaim !== undefined ? asObj(v.persistentVolumeClaim) : undefined;
    if (pvc && !pvc.claimName) e.required(`${p}.persistentVolumeClaim.claimName`);
    const nfs = v.nfs !== undefined ? asObj(v.nfs) : undefined;
    if (nfs) {
      if (!nfs.server) e.required(`${p}.nfs.server`);
      if (!nfs.path) e.required(`${p}.nfs.path`);
      else if (!str(nfs.path).startsWith('/')) e.invalid(`${p}.nfs.path`, nfs.path, 'must be an absolute path');
    }
  });
  return names;
}

function validateProbe(e: Errs, probe: unknown, path: string, kind: 'liveness' | 'readiness' | 'startup'): void {
  if (probe === undefined || probe === null) return;
  const p = asObj(probe);
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => p[h] !== undefined && p[h] !== null);
  if (handlers.length === 0) e.required(path, 'must specify a handler type');
  else if (handlers.length > 1) e.forbidden(`${path}.${handlers[1]}`, 'may not specify more than 1 handler type');
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    e.nonNegative(`${path}.${f}`, p[f]);
  }
  if ((kind === 'liveness' || kind === 'startup') && typeof p.successThreshold === 'number' && p.successThreshold !== 1) {
    e.invalid(`${path}.successThreshold`, p.successThreshold, 'must be 1');
  }
  validateHandler(e, p, path);
  if (typeof p.terminationGracePeriodSeconds === 'number' && p.terminationGracePeriodSeconds <= 0) {
    e.invalid(`${path}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, 'must be greater than 0');
  }
}

function validatePortNumOrName(e: Errs, port: unknown, path: string): void {
  if (typeof port === 'number') {
    if (!validPort(port)) e.invalid(path, port, PORT_RANGE);
  } else if (typeof port === 'string') {
    e.each(path, port, portNameErrors(port));
  } else {
    e.required(path);
  }
}

function validateHandler(e: Errs, h: Loose, path: string): void {
  if (h.exec !== undefined) {
    if (asArr(asObj(h.exec).command).length === 0) e.required(`${path}.exec.command`);
  }
  if (h.httpGet !== undefined) {
    const g = asObj(h.httpGet);
    if (!g.path) e.required(`${path}.httpGet.path`);
    validatePortNumOrName(e, g.port, `${path}.httpGet.port`);
    if (g.scheme !== undefined && g.scheme !== 'HTTP' && g.scheme !== 'HTTPS') e.notSupported(`${path}.httpGet.scheme`, g.scheme, ['HTTP', 'HTTPS']);
  }
  if (h.tcpSocket !== undefined) validatePortNumOrName(e, asObj(h.tcpSocket).port, `${path}.tcpSocket.port`);
  if (h.grpc !== undefined) {
    const port = asObj(h.grpc).port;
    if (!validPort(port)) e.invalid(`${path}.grpc.port`, port, PORT_RANGE);
  }
}

function validateResources(e: Errs, res: unknown, path: string): void {
  const r = asObj(res);
  const limits = asObj(r.limits);
  const requests = asObj(r.requests);
  for (const [kind, m] of [['limits', limits], ['requests', requests]] as const) {
    for (const [name, q] of Object.entries(m)) {
      const p = `${path}.${kind}[${name}]`;
      const n = parseQuantity(q);
      if (n === undefined) e.invalid(p, q, `quantities must match the regular expression '${QUANTITY_REGEX}'`);
      else if (n < 0) e.invalid(p, q, 'must be greater than or equal to 0');
    }
  }
  for (const [name, q] of Object.entries(requests)) {
    if (!(name in limits)) continue;
    const rq = parseQuantity(q);
    const lq = parseQuantity(limits[name]);
    if (rq !== undefined && lq !== undefined && rq > lq) {
      e.invalid(`${path}.requests[${name}]`, String(q), `must be less than or equal to ${name} limit of ${String(limits[name])}`);
    }
  }
}

interface PodCtx {
  volumes: Set<string>;
  portNames: Set<string>;
  hostNetwork: boolean;
}

function validateContainer(e: Errs, c: Loose, p: string, ctx: PodCtx, ephemeral: boolean): void {
  const image = str(c.image);
  if (!image) e.required(`${p}.image`);
  else if (image.trim() !== image) e.invalid(`${p}.image`, image, 'must not have leading or trailing whitespace');
  asArr(c.ports).forEach((port, j) => {
    const pp = `${p}.ports[${j}]`;
    if (ephemeral) {
      e.forbidden(`${p}.ports`, 'cannot be set on ephemeral containers');
      return;
    }
    if (port.name !== undefined && port.name !== '') {
      const name = str(port.name);
      e.each(`${pp}.name`, name, portNameErrors(name));
      if (ctx.portNames.has(name)) e.duplicate(`${pp}.name`, name);
      ctx.portNames.add(name);
    }
    if (port.containerPort === undefined || port.containerPort === 0) e.required(`${pp}.containerPort`);
    else if (!validPort(port.containerPort)) e.invalid(`${pp}.containerPort`, port.containerPort, PORT_RANGE);
    if (port.hostPort !== undefined && port.hostPort !== 0 && !validPort(port.hostPort)) e.invalid(`${pp}.hostPort`, port.hostPort, PORT_RANGE);
    if (ctx.hostNetwork && port.hostPort !== undefined && port.hostPort !== port.containerPort) {
      e.invalid(`${pp}.hostPort`, port.hostPort, 'must match `containerPort` when `hostNetwork` is true');
    }
    if (!port.protocol) e.required(`${pp}.protocol`);
    else if (!PROTOCOLS.includes(str(port.protocol))) e.notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS);
  });
  asArr(c.env).forEach((env, j) => {
    const ep = `${p}.env[${j}]`;
    const name = str(env.name);
    if (!name) e.required(`${ep}.name`);
    else e.each(`${ep}.name`, name, envVarNameErrors(name));
    if (env.valueFrom !== undefined && env.valueFrom !== null) {
      const vf = asObj(env.valueFrom);
      const n = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => vf[k] !== undefined && vf[k] !== null);
      if (n.length === 0) e.invalid(`${ep}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`');
      else if (n.length > 1) e.invalid(`${ep}.valueFrom`, '', 'may not have more than one field specified at a time');
      if (str(env.value) !== '') e.invalid(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty');
      for (const k of ['configMapKeyRef', 'secretKeyRef']) {
        if (vf[k] === undefined) continue;
        const ref = asObj(vf[k]);
        if (!ref.key) e.required(`${ep}.valueFrom.${k}.key`);
        else e.each(`${ep}.valueFrom.${k}.key`, ref.key, configMapKeyErrors(str(ref.key)));
      }
      if (vf.fieldRef !== undefined && !asObj(vf.fieldRef).fieldPath) e.required(`${ep}.valueFrom.fieldRef.fieldPath`);
    }
  });
  const mountPaths = new Set<string>();
  asArr(c.volumeMounts).forEach((m, j) => {
    const mp = `${p}.volumeMounts[${j}]`;
    const name = str(m.name);
    if (!name) e.required(`${mp}.name`);
    else if (!ctx.volumes.has(name)) e.notFound(`${mp}.name`, name);
    const path = str(m.mountPath);
    if (!path) e.required(`${mp}.mountPath`);
    else {
      if (mountPaths.has(path)) e.invalid(`${mp}.mountPath`, path, 'must be unique');
      mountPaths.add(path);
    }
    if (typeof m.subPath === 'string' && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..'))) {
      e.invalid(`${mp}.subPath`, m.subPath, m.subPath.startsWith('/') ? 'must be a relative path' : "must not contain '..'");
    }
  });
  validateResources(e, c.resources, `${p}.resources`);
  if (ephemeral) {
    for (const pr of ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle']) {
      if (c[pr] !== undefined) e.forbidden(`${p}.${pr}`, 'cannot be set for an Ephemeral Container');
    }
  } else {
    validateProbe(e, c.livenessProbe, `${p}.livenessProbe`, 'liveness');
    validateProbe(e, c.readinessProbe, `${p}.readinessProbe`, 'readiness');
    validateProbe(e, c.startupProbe, `${p}.startupProbe`, 'startup');
    const lc = asObj(c.lifecycle);
    for (const h of ['postStart', 'preStop']) if (lc[h] !== undefined) validateHandler(e, asObj(lc[h]), `${p}.lifecycle.${h}`);
  }
  if (!c.imagePullPolicy) e.required(`${p}.imagePullPolicy`);
  else if (!PULL_POLICIES.includes(str(c.imagePullPolicy))) e.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES);
  if (!c.terminationMessagePolicy) e.required(`${p}.terminationMessagePolicy`);
  else if (!TERMINATION_MESSAGE_POLICIES.includes(str(c.terminationMessagePolicy))) {
    e.notSupported(`${p}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES);
  }
}

function validateTolerations(e: Errs, ts: Loose[], path: string): void {
  ts.forEach((t, i) => {
    const p = `${path}[${i}]`;
    const key = str(t.key);
    if (key) e.each(`${p}.key`, key, qualifiedNameErrors(key));
    if (!key && t.operator !== 'Exists') e.invalid(`${p}.operator`, t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"');
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      e.invalid(`${p}.effect`, t.effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set');
    }
    switch (t.operator ?? 'Equal') {
      case 'Equal':
      case '':
        e.each(`${p}.operator`, t.value ?? '', labelValueErrors(str(t.value)));
        break;
      case 'Exists':
        if (str(t.value) !== '') e.invalid(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'");
        break;
      default:
        e.notSupported(`${p}.operator`, t.operator, ['Equal', 'Exists']);
    }
    if (t.effect !== undefined && t.effect !== '' && !TAINT_EFFECTS.includes(str(t.effect))) e.notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS);
  });
}

/** `ValidatePodSpec` with paths under `path` (`spec`, `spec.template.spec`). */
function validatePodSpec(e: Errs, specIn: unknown, path: string): void {
  const spec = asObj(specIn);
  const volumes = validateVolumes(e, asArr(spec.volumes), `${path}.volumes`);
  const ctx: PodCtx = { volumes, portNames: new Set(), hostNetwork: spec.hostNetwork === true };
  const names = new Set<string>();
  const checkName = (c: Loose, p: string): void => {
    const name = str(c.name);
    if (!name) e.required(`${p}.name`);
    else {
      e.each(`${p}.name`, name, dns1123LabelErrors(name));
      if (names.has(name)) e.duplicate(`${p}.name`, name);
      names.add(name);
    }
  };
  asArr(spec.initContainers).forEach((c, i) => {
    const p = `${path}.initContainers[${i}]`;
    checkName(c, p);
    validateContainer(e, c, p, ctx, false);
    if (c.lifecycle !== undefined && c.restartPolicy !== 'Always') e.forbidden(`${p}.lifecycle`, 'may not be set for init containers without restartPolicy=Always');
    if (c.restartPolicy !== undefined && c.restartPolicy !== 'Always') e.notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']);
  });
  const containers = asArr(spec.containers);
  if (containers.length === 0) e.required(`${path}.containers`);
  containers.forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    checkName(c, p);
    validateContainer(e, c, p, ctx, false);
    if (c.restartPolicy !== undefined) e.forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers');
  });
  asArr(spec.ephemeralContainers).forEach((c, i) => {
    const p = `${path}.ephemeralContainers[${i}]`;
    checkName(c, p);
    validateContainer(e, c, p, ctx, true);
  });
  const rp = spec.restartPolicy;
  if (!rp) e.required(`${path}.restartPolicy`);
  else if (!RESTART_POLICIES.includes(str(rp))) e.notSupported(`${path}.restartPolicy`, rp, RESTART_POLICIES);
  const dp = spec.dnsPolicy;
  if (!dp) e.required(`${path}.dnsPolicy`);
  else if (!DNS_POLICIES.includes(str(dp))) e.notSupported(`${path}.dnsPolicy`, dp, DNS_POLICIES);
  else if (dp === 'None' && (spec.dnsConfig === undefined || asArr(asObj(spec.dnsConfig).nameservers).length === 0)) {
    e.required(`${path}.dnsConfig.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None');
  }
  e.nonNegative(`${path}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds);
  const ads = spec.activeDeadlineSeconds;
  if (typeof ads === 'number' && (ads < 1 || ads > 2147483647)) e.invalid(`${path}.activeDeadlineSeconds`, ads, 'must be between 1 and 2147483647, inclusive');
  validateLabels(e, spec.nodeSelector as Record<string, string> | undefined, `${path}.nodeSelector`);
  if (spec.serviceAccountName) e.each(`${path}.serviceAccountName`, spec.serviceAccountName, dns1123SubdomainErrors(str(spec.serviceAccountName)));
  if (spec.nodeName) e.each(`${path}.nodeName`, spec.nodeName, dns1123SubdomainErrors(str(spec.nodeName)));
  if (spec.hostname) e.each(`${path}.hostname`, spec.hostname, dns1123LabelErrors(str(spec.hostname)));
  if (spec.subdomain) e.each(`${path}.subdomain`, spec.subdomain, dns1123LabelErrors(str(spec.subdomain)));
  validateTolerations(e, asArr(spec.tolerations), `${path}.tolerations`);
  asArr(spec.imagePullSecrets).forEach((s, i) => {
    if (!s.name) e.required(`${path}.imagePullSecrets[${i}].name`);
  });
  asArr(spec.hostAliases).forEach((h, i) => {
    if (!isIP(str(h.ip))) e.invalid(`${path}.hostAliases[${i}].ip`, h.ip ?? '', 'must be valid IP address');
  });
  if (spec.priorityClassName) e.each(`${path}.priorityClassName`, spec.priorityClassName, dns1123SubdomainErrors(str(spec.priorityClassName)));
}

function podSpecUpdateAllowed(spec: Loose, old: Loose): boolean {
  // Copy the mutable fields of the old spec over a copy of the new and compare.
  const a = JSON.parse(JSON.stringify(spec)) as Loose;
  const b = JSON.parse(JSON.stringify(old)) as Loose;
  for (const list of ['containers', 'initContainers']) {
    const na = asArr(a[list]);
    const ob = asArr(b[list]);
    na.forEach((c, i) => {
      if (ob[i]) c.image = ob[i].image;
    });
  }
  // activeDeadlineSeconds may be set, or lowered; never unset or raised.
  const nads = a.activeDeadlineSeconds;
  const oads = b.activeDeadlineSeconds;
  if (typeof nads === 'number' && (oads === undefined || (typeof oads === 'number' && nads <= oads))) a.activeDeadlineSeconds = oads;
  // terminationGracePeriodSeconds may go from negative to 1.
  if (a.terminationGracePeriodSeconds === 1 && typeof b.terminationGracePeriodSeconds === 'number' && b.terminationGracePeriodSeconds < 0) {
    a.terminationGracePeriodSeconds = b.terminationGracePeriodSeconds;
  }
  // tolerations: only additions.
  const nt = asArr(a.tolerations);
  const ot = asArr(b.tolerations);
  if (ot.every((t) => nt.some((x) => JSON.stringify(x) === JSON.stringify(t)))) a.tolerations = b.tolerations;
  // schedulingGates may only be removed.
  const ng = asArr(a.schedulingGates);
  const og = asArr(b.schedulingGates);
  if (ng.every((g) => og.some((x) => x.name === g.name))) a.schedulingGates = b.schedulingGates;
  return stableJson(a) === stableJson(b);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Loose;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The text kube-apiserver 1.32 uses when a pod update touches an immutable field. */
export const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function validatePod(e: Errs, obj: Loose, old: Loose | undefined): void {
  const spec = asObj(obj.spec);
  validatePodSpec(e, spec, 'spec');
  if (old) {
    const ospec = asObj(old.spec);
    asArr(spec.containers).forEach((c, i) => {
      if (!c.image) e.required(`spec.containers[${i}].image`);
    });
    if (!podSpecUpdateAllowed(spec, ospec)) {
      // Deviation: kube appends a diff of the two specs after a newline; we don't.
      e.forbidden('spec', POD_UPDATE_FORBIDDEN);
    }
  }
}

// =======================================================================================
// apps/v1

function validateSelector(e: Errs, sel: LabelSelector | undefined, path: string, kind: string): boolean {
  if (!sel) {
    e.required(path);
    return false;
  }
  validateLabels(e, sel.matchLabels, `${path}.matchLabels`);
  (sel.matchExpressions ?? []).forEach((x, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    switch (x.operator) {
      case 'In':
      case 'NotIn':
        if (!x.values?.length) e.required(`${p}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\'');
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (x.values?.length) e.forbidden(`${p}.values`, 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\'');
        break;
      default:
        e.invalid(`${p}.operator`, x.operator, 'not a valid selector operator');
    }
    e.each(`${p}.key`, x.key, qualifiedNameErrors(x.key ?? ''));
  });
  const empty = Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
  if (empty) {
    e.invalid(path, goLabelSelector(sel), `empty selector is invalid for ${kind}`);
    return false;
  }
  return true;
}

function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const x of sel.matchExpressions ?? []) {
    const has = x.key in labels;
    const vals = x.values ?? [];
    switch (x.operator) {
      case 'In': if (!has || !vals.includes(labels[x.key])) return false; break;
      case 'NotIn': if (has && vals.includes(labels[x.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

function validateTemplate(e: Errs, spec: Loose, kind: string): void {
  const sel = spec.selector as LabelSelector | undefined;
  const selOk = validateSelector(e, sel, 'spec.selector', kind);
  const tmpl = spec.template;
  if (tmpl === undefined || tmpl === null) {
    e.required('spec.template');
    return;
  }
  const t = asObj(tmpl);
  const meta = asObj(t.metadata) as ObjectMeta;
  const labels = meta.labels;
  validateLabels(e, labels, 'spec.template.metadata.labels');
  validateAnnotations(e, meta.annotations, 'spec.template.metadata.annotations');
  if (selOk && sel && !selectorMatches(sel, labels ?? {})) {
    e.invalid('spec.template.metadata.labels', goStringMap(labels), '`selector` does not match template `labels`');
  }
  const ps = asObj(t.spec);
  validatePodSpec(e, ps, 'spec.template.spec');
  if (ps.restartPolicy && ps.restartPolicy !== 'Always') e.notSupported('spec.template.spec.restartPolicy', ps.restartPolicy, ['Always']);
  if (ps.activeDeadlineSeconds !== undefined) e.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicaSet is not Supported');
}

function intOrPercent(e: Errs, v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    if (!/^[0-9]+%$/.test(v)) {
      e.invalid(path, v, regexError("a valid percent string must be a numeric string followed by an ending '%'", '[0-9]+%', '1%', '93%'));
      return undefined;
    }
    const n = Number(v.slice(0, -1));
    if (n > 100) e.invalid(path, v, 'must not be greater than 100%');
    return n;
  }
  if (typeof v === 'number') {
    if (v < 0) e.invalid(path, v, 'must be greater than or equal to 0');
    return v;
  }
  return undefined;
}

function validateWorkload(e: Errs, obj: Loose, old: Loose | undefined, kind: 'deployment' | 'replicaset'): void {
  const spec = asObj(obj.spec);
  e.nonNegative('spec.replicas', spec.replicas);
  e.nonNegative('spec.minReadySeconds', spec.minReadySeconds);
  validateTemplate(e, spec, kind === 'deployment' ? 'deployment' : 'replicaset');
  if (kind === 'deployment') {
    e.nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit);
    const strategy = asObj(spec.strategy);
    const type = strategy.type;
    if (type === 'Recreate') {
      if (strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
        e.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'");
      }
    } else if (type === 'RollingUpdate') {
      if (strategy.rollingUpdate === undefined || strategy.rollingUpdate === null) {
        e.required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil');
      } else {
        const ru = asObj(strategy.rollingUpdate);
        const mu = intOrPercent(e, ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable');
        const ms = intOrPercent(e, ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge');
        if (mu === 0 && ms === 0) e.invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0');
      }
    } else if (!type) {
      e.required('spec.strategy.type');
    } else {
      e.notSupported('spec.strategy.type', type, ['Recreate', 'RollingUpdate']);
    }
    const pds = spec.progressDeadlineSeconds;
    if (typeof pds === 'number') {
      e.nonNegative('spec.progressDeadlineSeconds', pds);
      const mrs = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
      if (pds >= 0 && pds <= mrs) e.invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds');
    }
  }
  if (old) {
    const os = asObj(old.spec);
    if (stableJson(spec.selector) !== stableJson(os.selector)) {
      e.invalid('spec.selector', goLabelSelector(spec.selector as LabelSelector | undefined), 'field is immutable');
    }
  }
}

// =======================================================================================
// Service, Endpoints, EndpointSlice

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

function validateService(e: Errs, obj: Loose, old: Loose | undefined): void {
  const spec = asObj(obj.spec);
  const type = str(spec.type);
  if (!type) e.required('spec.type');
  else if (!SERVICE_TYPES.includes(type)) e.notSupported('spec.type', type, SERVICE_TYPES);
  const ports = asArr(spec.ports);
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && type !== 'ExternalName' && !headless) e.required('spec.ports');
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    const name = str(p.name);
    if (ports.length > 1 && !name) e.required(`${pp}.name`);
    if (name) {
      e.each(`${pp}.name`, name, dns1123LabelErrors(name));
      if (names.has(name)) e.duplicate(`${pp}.name`, name);
      names.add(name);
    }
    if (!validPort(p.port)) e.invalid(`${pp}.port`, p.port ?? 0, PORT_RANGE);
    if (!p.protocol) e.required(`${pp}.protocol`);
    else if (!PROTOCOLS.includes(str(p.protocol))) e.notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS);
    if (p.targetPort !== undefined) {
      if (typeof p.targetPort === 'number') {
        if (!validPort(p.targetPort)) e.invalid(`${pp}.targetPort`, p.targetPort, PORT_RANGE);
      } else e.each(`${pp}.targetPort`, p.targetPort, portNameErrors(str(p.targetPort)));
    }
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type === 'ClusterIP' || type === 'ExternalName') e.forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${type}'`);
      else if (!validPort(p.nodePort)) e.invalid(`${pp}.nodePort`, p.nodePort, PORT_RANGE);
    }
    const key = `${String(p.port)}/${str(p.protocol)}`;
    if (keys.has(key)) e.duplicate(pp, new GoValue(`core.ServicePort{Name:${JSON.stringify(name)}, Protocol:${JSON.stringify(str(p.protocol))}, Port:${String(p.port)}}`));
    keys.add(key);
  });
  if (type === 'ExternalName') {
    const en = str(spec.externalName);
    if (!en) e.required('spec.externalName');
    else e.each('spec.externalName', en, dns1123SubdomainErrors(en.replace(/\.$/, '')));
  }
  const sa = spec.sessionAffinity;
  if (!sa) e.required('spec.sessionAffinity');
  else if (sa !== 'ClientIP' && sa !== 'None') e.notSupported('spec.sessionAffinity', sa, ['ClientIP', 'None']);
  if (sa === 'ClientIP') {
    const t = asObj(asObj(asObj(spec.sessionAffinityConfig).clientIP)).timeoutSeconds;
    if (typeof t !== 'number' || t <= 0 || t > 86400) {
      e.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t ?? 0, 'must be greater than 0 and less than 86400');
    }
  } else if (spec.sessionAffinityConfig !== undefined && spec.sessionAffinityConfig !== null) {
    e.invalid('spec.sessionAffinityConfig', new GoValue('core.SessionAffinityConfig{...}'), `must not be set when session affinity is ${str(sa)}`);
  }
  const cip = spec.clusterIP;
  if (typeof cip === 'string' && cip !== '' && cip !== 'None' && !isIP(cip)) {
    e.invalid('spec.clusterIPs[0]', cip, "must be empty, 'None', or a valid IP address");
  }
  const etp = spec.externalTrafficPolicy;
  if (etp !== undefined && etp !== '') {
    if (type !== 'NodePort' && type !== 'LoadBalancer') e.invalid('spec.externalTrafficPolicy', etp, "may only be set when `type` is 'NodePort' or 'LoadBalancer'");
    else if (etp !== 'Cluster' && etp !== 'Local') e.notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']);
  }
  const itp = spec.internalTrafficPolicy;
  if (itp !== undefined && itp !== 'Cluster' && itp !== 'Local') e.notSupported('spec.internalTrafficPolicy', itp, ['Cluster', 'Local']);
  validateLabels(e, spec.selector as Record<string, string> | undefined, 'spec.selector');
  asArr(spec.externalIPs as unknown).forEach((ip, i) => {
    if (!isIP(str(ip))) e.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
  });
  if (old) {
    const os = asObj(old.spec);
    const oldIP = str(os.clusterIP);
    const newIP = str(spec.clusterIP);
    if (oldIP && newIP && oldIP !== newIP && type !== 'ExternalName' && os.type !== 'ExternalName') {
      e.invalid('spec.clusterIPs[0]', goStringSlice((spec.clusterIPs as string[] | undefined) ?? [newIP]), 'may not change once set');
    }
  }
}

function validateEndpoints(e: Errs, obj: Loose): void {
  asArr(obj.subsets).forEach((s, i) => {
    const p = `subsets[${i}]`;
    for (const kind of ['addresses', 'notReadyAddresses']) {
      asArr(s[kind]).forEach((a, j) => {
        if (!isIP(str(a.ip))) e.invalid(`${p}.${kind}[${j}].ip`, a.ip ?? '', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
      });
    }
    const ports = asArr(s.ports);
    ports.forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 && !port.name) e.required(`${pp}.name`);
      if (port.name) e.each(`${pp}.name`, port.name, dns1123LabelErrors(str(port.name)));
      if (!validPort(port.port)) e.invalid(`${pp}.port`, port.port ?? 0, PORT_RANGE);
      if (!port.protocol) e.required(`${pp}.protocol`);
      else if (!PROTOCOLS.includes(str(port.protocol))) e.notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS);
    });
  });
}

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

function validateEndpointSlice(e: Errs, obj: Loose, old: Loose | undefined): void {
  const at = obj.addressType;
  if (!at) e.required('addressType');
  else if (!ADDRESS_TYPES.includes(str(at))) e.notSupported('addressType', at, ADDRESS_TYPES);
  const eps = asArr(obj.endpoints);
  if (eps.length > 1000) e.tooMany('endpoints', eps.length, 1000);
  eps.forEach((ep, i) => {
    const addrs = asArr(ep.addresses as unknown);
    const p = `endpoints[${i}]`;
    if (addrs.length === 0) e.required(`${p}.addresses`, 'must contain at least 1 address');
    else if (addrs.length > 100) e.tooMany(`${p}.addresses`, addrs.length, 100);
    addrs.forEach((a, j) => {
      const s = str(a);
      if (at === 'IPv4' && isIP(s) !== 4) e.invalid(`${p}.addresses[${j}]`, s, 'must be a valid IPv4 address');
      if (at === 'IPv6' && isIP(s) !== 6) e.invalid(`${p}.addresses[${j}]`, s, 'must be a valid IPv6 address');
      if (at === 'FQDN') e.each(`${p}.addresses[${j}]`, s, dns1123SubdomainErrors(s));
    });
    if (ep.hostname) e.each(`${p}.hostname`, ep.hostname, dns1123LabelErrors(str(ep.hostname)));
    if (ep.nodeName) e.each(`${p}.nodeName`, ep.nodeName, dns1123SubdomainErrors(str(ep.nodeName)));
  });
  const ports = asArr(obj.ports);
  if (ports.length > 100) e.tooMany('ports', ports.length, 100);
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `ports[${i}]`;
    const name = str(port.name);
    if (name) e.each(`${p}.name`, name, dns1123LabelErrors(name));
    if (names.has(name)) e.duplicate(`${p}.name`, name);
    names.add(name);
    if (port.port !== undefined && port.port !== null && !validPort(port.port)) e.invalid(`${p}.port`, port.port, PORT_RANGE);
    if (!port.protocol) e.required(`${p}.protocol`);
    else if (!PROTOCOLS.includes(str(port.protocol))) e.notSupported(`${p}.protocol`, port.protocol, PROTOCOLS);
  });
  if (old && old.addressType !== obj.addressType) e.invalid('addressType', at ?? '', 'field is immutable');
}

// =======================================================================================
// ConfigMap, Secret, Namespace, Node, Lease, Event, ServiceAccount

function validateDataKeys(e: Errs, obj: Loose, fields: readonly string[]): void {
  const seen = new Set<string>();
  for (const f of fields) {
    for (const k of Object.keys(asObj(obj[f]))) {
      e.each(`${f}[${k}]`, k, configMapKeyErrors(k));
      if (seen.has(k)) e.invalid(`${f}[${k}]`, k, `duplicate of key present in ${f === 'binaryData' ? 'data' : fields[0]}`);
      seen.add(k);
    }
  }
}

function validateImmutableData(e: Errs, obj: Loose, old: Loose | undefined, fields: readonly string[]): void {
  if (!old || old.immutable !== true) return;
  if (obj.immutable !== true) e.forbidden('immutable', 'field is immutable when `immutable` is set');
  for (const f of fields) {
    if (stableJson(obj[f] ?? {}) !== stableJson(old[f] ?? {})) e.forbidden(f, 'field is immutable when `immutable` is set');
  }
}

function validateConfigMap(e: Errs, obj: Loose, old: Loose | undefined): void {
  validateDataKeys(e, obj, ['data', 'binaryData']);
  validateImmutableData(e, obj, old, ['data', 'binaryData']);
}

function validateSecret(e: Errs, obj: Loose, old: Loose | undefined): void {
  validateDataKeys(e, obj, ['data']);
  const data = asObj(obj.data);
  const type = str(obj.type);
  switch (type) {
    case 'kubernetes.io/service-account-token': {
      const ann = asObj(asObj(obj.metadata).annotations);
      if (!ann['kubernetes.io/service-account.name']) e.required('metadata.annotations[kubernetes.io/service-account.name]');
      break;
    }
    case 'kubernetes.io/dockercfg':
      if (!('.dockercfg' in data)) e.required('data[.dockercfg]');
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!('.dockerconfigjson' in data)) e.required('data[.dockerconfigjson]');
      break;
    case 'kubernetes.io/basic-auth':
      if (!('username' in data) && !('password' in data)) e.required('data[username]');
      break;
    case 'kubernetes.io/ssh-auth':
      if (!('ssh-privatekey' in data)) e.required('data[ssh-privatekey]');
      break;
    case 'kubernetes.io/tls':
      if (!('tls.key' in data)) e.required('data[tls.key]');
      if (!('tls.crt' in data)) e.required('data[tls.crt]');
      break;
    default:
      break;
  }
  if (old) {
    if (str(old.type) !== type) e.invalid('type', type, 'field is immutable');
  }
  validateImmutableData(e, obj, old, ['data']);
}

function validateNamespace(e: Errs, obj: Loose): void {
  asArr(asObj(obj.spec).finalizers as unknown).forEach((f, i) => {
    const s = str(f);
    const errs = qualifiedNameErrors(s);
    if (errs.length === 0 && !s.includes('/') && s !== 'kubernetes') {
      e.invalid(`spec.finalizers[${i}]`, s, 'name is neither a standard finalizer name nor is it fully qualified');
    }
    e.each(`spec.finalizers[${i}]`, s, errs);
  });
}

function validateNode(e: Errs, obj: Loose): void {
  const spec = asObj(obj.spec);
  asArr(spec.taints).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    const key = str(t.key);
    if (!key) e.required(`${p}.key`);
    else e.each(`${p}.key`, key, qualifiedNameErrors(key));
    if (t.value) e.each(`${p}.value`, t.value, labelValueErrors(str(t.value)));
    if (!t.effect) e.required(`${p}.effect`);
    else if (!TAINT_EFFECTS.includes(str(t.effect))) e.notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS);
  });
  const cidrs = asArr(spec.podCIDRs as unknown).map(str);
  cidrs.forEach((c, i) => {
    const [ip, bits] = c.split('/');
    if (!isIP(ip) || bits === undefined || !/^\d+$/.test(bits)) e.invalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
  });
  if (spec.podCIDR && cidrs.length && cidrs[0] !== spec.podCIDR) e.invalid('spec.podCIDRs', goStringSlice(cidrs), 'first value must match podCIDR');
  validateLabels(e, asObj(obj.metadata).labels as Record<string, string> | undefined, 'metadata.labels');
}

function validateLease(e: Errs, obj: Loose): void {
  const spec = asObj(obj.spec);
  if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
    e.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0');
  }
  e.nonNegative('spec.leaseTransitions', spec.leaseTransitions);
}

function validateEvent(e: Errs, obj: Loose): void {
  const io = asObj(obj.involvedObject);
  const ns = str(asObj(obj.metadata).namespace);
  const ions = str(io.namespace);
  if (ions && ns && ions !== ns) e.invalid('involvedObject.namespace', ions, 'does not match event.namespace');
  if (obj.type !== undefined && obj.type !== '' && obj.type !== 'Normal' && obj.type !== 'Warning') {
    e.notSupported('type', obj.type, ['Normal', 'Warning']);
  }
}

// =======================================================================================

/**
 * Validates `obj` (already defaulted) as kube-apiserver would on create (`old` undefined)
 * or update. Returns every error found, empty when valid.
 */
export function validateObject(type: ResourceType, obj: KubeObject, old?: KubeObject): FieldError[] {
  const e = new Errs();
  const o = obj as Loose;
  const prev = old as Loose | undefined;
  validateMeta(e, obj.metadata, type.namespaced, nameFnFor(type));
  if (old) validateMetaUpdate(e, obj.metadata, old.metadata);
  switch (`${type.group}/${type.kind}`) {
    case '/Pod':
      validatePod(e, o, prev);
      break;
    case 'apps/Deployment':
      validateWorkload(e, o, prev, 'deployment');
      break;
    case 'apps/ReplicaSet':
      validateWorkload(e, o, prev, 'replicaset');
      break;
    case '/Service':
      validateService(e, o, prev);
      break;
    case '/Endpoints':
      validateEndpoints(e, o);
      break;
    case 'discovery.k8s.io/EndpointSlice':
      validateEndpointSlice(e, o, prev);
      break;
    case '/ConfigMap':
      validateConfigMap(e, o, prev);
      break;
    case '/Secret':
      validateSecret(e, o, prev);
      break;
    case '/Namespace':
      validateNamespace(e, o);
      break;
    case '/Node':
      validateNode(e, o);
      break;
    case 'coordination.k8s.io/Lease':
      validateLease(e, o);
      break;
    case '/Event':
      validateEvent(e, o);
      break;
    default:
      break;
  }
  return dedupe(e.list);
}

/** Aggregates drop identical messages; so do we. */
function dedupe(errs: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errs.filter((x) => {
    const k = `${x.field}\u0000${x.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Validates an object name for `type` (used e.g. for names taken from the URL). */
export function validateName(type: Pick<ResourceType, 'group' | 'kind'>, name: string): string[] {
  return nameFnFor(type)(name);
}

/** `Pod` or `Deployment.apps`: how kube names a kind in Invalid messages. */
export function qualifiedKindOf(type: Pick<ResourceType, 'group' | 'kind'>): string {
  return type.group ? `${type.kind}.${type.group}` : type.kind;
}

/**
 * The 422 `Status` kube-apiserver returns for validation errors (`errors.NewInvalid`):
 * reason `Invalid`, `details.{name,group,kind,causes}`, and the message
 * `<Kind>[.group] "<name>" is invalid: <field>: <msg>` (or `[<a>, <b>]` for several).
 */
export function invalidStatus(type: Pick<ResourceType, 'group' | 'kind'>, name: string, errs: readonly FieldError[]): Status {
  const parts = dedupe([...errs]).map((x) => (x.field ? `${x.field}: ${x.message}` : x.message));
  const qk = qualifiedKindOf(type);
  const message =
    parts.length === 0 ? `${qk} ${JSON.stringify(name)} is invalid` : `${qk} ${JSON.stringify(name)} is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`;
  const causes: StatusCause[] = errs.map((x) => ({ reason: x.type, message: x.message, field: x.field }));
  const details: NonNullable<Status['details']> = { name, kind: type.kind, causes };
  if (type.group) details.group = type.group;
  return statusFailure(422, 'Invalid', message, details);
}

/** {@link invalidStatus} as a throwable `ApiError`. */
export function invalidError(type: Pick<ResourceType, 'group' | 'kind'>, name: string, errs: readonly FieldError[]): ApiError {
  return new ApiError(invalidStatus(type, name, errs));
}
