/**
 * Loads the agent's configuration the way kubelet does: the `--config` file
 * (KubeletConfiguration, YAML or JSON), then `--config-dir` drop-ins (`*.conf`, lexical
 * order), then command-line flags, which override both. Upstream's config-file defaults
 * apply to whatever is still unset. A wrong value is an error that names the field.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { InvalidInputError, SkiffError } from '../../lib/errors.js';
import { parseDuration } from '../../lib/units/duration.js';
import { ACCEPTED_IGNORED, DEPRECATED_FLAGS, FIELDS, FLAG_ONLY, NESTED_FIELDS, type FieldSpec } from './schema.js';
import type { AgentConfig, Taint } from './types.js';

/** The configuration is invalid; `field` names the culprit. */
export class ConfigError extends SkiffError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('SKIFF_CONFIG_INVALID', `invalid configuration: ${message}`, options);
    this.field = field;
  }
}

/** Raw values keyed by field path (`syncFrequency`, `authentication.x509.clientCAFile`). */
type Values = Map<string, unknown>;

/** A non-fatal finding while loading (unknown field, deprecated flag). */
export interface ConfigWarning {
  field: string;
  message: string;
}

const API_VERSION = 'kubelet.config.k8s.io/v1beta1';
const FLAG_TO_FIELD = new Map<string, string>();
for (const [name, spec] of [...Object.entries(FIELDS), ...Object.entries(NESTED_FIELDS)]) if (spec.flag) FLAG_TO_FIELD.set(spec.flag, name);
const PATH_FIELDS = ['tlsCertFile', 'tlsPrivateKeyFile', 'staticPodPath', 'authentication.x509.clientCAFile', 'resolvConf'];

function coerce(field: string, spec: FieldSpec, v: unknown, source: string): unknown {
  const where = `${source} field "${field}"`;
  const bad = (what: string): never => {
    throw new ConfigError(field, `${where}: ${what}, got ${JSON.stringify(v)}`);
  };
  switch (spec.kind) {
    case 'string': {
      if (typeof v !== 'string') bad('expected a string');
      const s = v as string;
      if (spec.oneOf && !spec.oneOf.includes(s)) bad(`must be one of ${spec.oneOf.map((x) => JSON.stringify(x)).join(', ')}`);
      return s;
    }
    case 'int': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) bad('expected an integer');
      if (spec.min !== undefined && (n as number) < spec.min) bad(`must be >= ${spec.min}`);
      return n;
    }
    case 'bool': {
      if (v === 'true') return true;
      if (v === 'false') return false;
      if (typeof v !== 'boolean') bad('expected true or false');
      return v;
    }
    case 'duration': {
      if (typeof v !== 'string') bad('expected a duration string such as "10s"');
      try {
        const ms = parseDuration(v as string, field);
        if (ms < 0) bad('must not be negative');
        return ms;
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw new ConfigError(field, `${where}: invalid duration ${JSON.stringify(v)} (use Go syntax like "10s" or "1m30s")`, { cause: err });
      }
    }
    case 'stringList': {
      if (typeof v === 'string') return v.split(',').map((x) => x.trim()).filter(Boolean);
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad('expected a list of strings');
      return v;
    }
    case 'stringMap':
    case 'boolMap': {
      let obj: Record<string, unknown>;
      if (typeof v === 'string') {
        obj = {};
        for (const kv of v.split(',').map((x) => x.trim()).filter(Boolean)) {
          const m = /^([^=<]+)(=|<)(.*)$/.exec(kv);
          if (!m) bad('expected key=value pairs');
          obj[m![1].trim()] = m![3].trim();
        }
      } else if (v && typeof v === 'object' && !Array.isArray(v)) {
        obj = v as Record<string, unknown>;
      } else {
        return bad('expected a map');
      }
      const out: Record<string, string | boolean> = {};
      for (const [k, val] of Object.entries(obj)) {
        if (spec.kind === 'boolMap') {
          if (val === true || val === 'true') out[k] = true;
          else if (val === false || val === 'false') out[k] = false;
          else throw new ConfigError(`${field}.${k}`, `${where}: value of ${JSON.stringify(k)} must be true or false, got ${JSON.stringify(val)}`);
        } else {
          if (typeof val !== 'string' && typeof val !== 'number') throw new ConfigError(`${field}.${k}`, `${where}: value of ${JSON.stringify(k)} must be a string`);
          out[k] = String(val);
        }
      }
      return out;
    }
    case 'taints': {
      const list: Taint[] = [];
      const items: unknown[] = typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : Array.isArray(v) ? v : bad('expected a list of taints');
      for (const it of items) {
        if (typeof it === 'string') {
          const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(it);
          if (!m) throw new ConfigError(field, `${where}: invalid taint ${JSON.stringify(it)}, want key[=value]:Effect`);
          list.push({ key: m[1], value: m[2] || undefined, effect: m[3] as Taint['effect'] });
        } else if (it && typeof it === 'object' && typeof (it as Taint).key === 'string' && ['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes((it as Taint).effect)) {
          list.push({ key: (it as Taint).key, value: (it as Taint).value, effect: (it as Taint).effect });
        } else {
          throw new ConfigError(field, `${where}: invalid taint ${JSON.stringify(it)}`);
        }
      }
      return list;
    }
  }
}

function flattenNested(obj: Record<string, unknown>, prefix: string, out: [string, unknown][]): void {
  for (const [k, v] of Object.entries(obj)) {
    const path = `${prefix}.${k}`;
    if (v && typeof v === 'object' && !Array.isArray(v) && !NESTED_FIELDS[path]) flattenNested(v as Record<string, unknown>, path, out);
    else out.push([path, v]);
  }
}

/** Reads one KubeletConfiguration document into `values`. */
function readConfigFile(path: string, values: Values, warnings: ConfigWarning[]): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError('config', `config file ${path} is not valid YAML/JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('config', `config file ${path}: expected a KubeletConfiguration object`);
  const obj = doc as Record<string, unknown>;
  if (obj.kind !== undefined && obj.kind !== 'KubeletConfiguration') throw new ConfigError('kind', `config file ${path}: field "kind" must be "KubeletConfiguration", got ${JSON.stringify(obj.kind)}`);
  if (obj.apiVersion !== undefined && obj.apiVersion !== API_VERSION) throw new ConfigError('apiVersion', `config file ${path}: field "apiVersion" must be "${API_VERSION}", got ${JSON.stringify(obj.apiVersion)}`);
  const source = `KubeletConfiguration ${path}:`;
  for (const [key, v] of Object.entries(obj)) {
    if (key === 'authentication' || key === 'authorization') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(key, `${source} field "${key}": expected an object`);
      const flat: [string, unknown][] = [];
      flattenNested(v as Record<string, unknown>, key, flat);
      for (const [p, val] of flat) {
        const spec = NESTED_FIELDS[p];
        if (!spec) {
          warnings.push({ field: p, message: `unknown field "${p}" ignored` });
          continue;
        }
        values.set(p, resolvePath(p, coerce(p, spec, val, source), path));
      }
      continue;
    }
    const spec = FIELDS[key];
    if (!spec) {
      if (!ACCEPTED_IGNORED.has(key)) warnings.push({ field: key, message: `unknown field "${key}" ignored` });
      continue;
    }
    if (v === null) continue;
    values.set(key, resolvePath(key, coerce(key, spec, v, source), path));
  }
}

function resolvePath(field: string, v: unknown, configPath: string): unknown {
  if (PATH_FIELDS.includes(field) && typeof v === 'string' && v && !isAbsolute(v)) return resolve(dirname(configPath), v);
  return v;
}

/** Splits kubelet-style argv (`--a=b`, `--a b`, `--flag` for booleans). */
export function parseFlags(argv: string[]): { flags: Map<string, string>; positional: string[] } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  const isBool = (name: string): boolean => {
    const f = FLAG_TO_FIELD.get(name);
    const spec = f ? FIELDS[f] ?? NESTED_FIELDS[f] : undefined;
    return spec?.kind === 'bool' || (FLAG_ONLY as Record<string, string>)[name] === 'bool';
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    if (eq >= 0) flags.set(body.slice(0, eq), body.slice(eq + 1));
    else if (isBool(body)) flags.set(body, 'true');
    else if (i + 1 < argv.length) flags.set(body, argv[++i]);
    else throw new ConfigError(body, `flag --${body} needs a value`);
  }
  return { flags, positional };
}

function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/** Options of {@link loadAgentConfig}. */
export interface LoadOptions {
  /** Overrides `os.hostname()` for the default node name (tests). */
  hostname?: string;
}

/** Parses argv (after `skiff agent`) into a complete, validated {@link AgentConfig}. */
export function loadAgentConfig(argv: string[], opts: LoadOptions = {}): { config: AgentConfig; warnings: ConfigWarning[] } {
  const { flags } = parseFlags(argv);
  const warnings: ConfigWarning[] = [];
  const values: Values = new Map();

  const configFile = flags.get('config');
  if (configFile) readConfigFile(configFile, values, warnings);
  const configDir = flags.get('config-dir');
  if (configDir) {
    let entries: string[];
    try {
      entries = readdirSync(configDir).filter((f) => f.endsWith('.conf')).sort();
    } catch (err) {
      throw new ConfigError('config-dir', `cannot read --config-dir ${configDir}: ${(err as Error).message}`, { cause: err });
    }
    for (const f of entries) readConfigFile(join(configDir, f), values, warnings);
  }

  for (const [name, raw] of flags) {
    if (name in FLAG_ONLY) continue;
    if (DEPRECATED_FLAGS.has(name)) {
      warnings.push({ field: name, message: `flag --${name} is deprecated or has no effect in Skiff; ignored` });
      continue;
    }
    const field = FLAG_TO_FIELD.get(name);
    if (!field) throw new ConfigError(name, `unknown flag: --${name}`);
    const spec = FIELDS[field] ?? NESTED_FIELDS[field];
    values.set(field, coerce(field, spec, raw, `flag --${name}:`));
  }

  const get = <T>(field: string): T => {
    if (values.has(field)) return values.get(field) as T;
    const spec = FIELDS[field] ?? NESTED_FIELDS[field];
    if (spec?.default === undefined) return undefined as T;
    return coerce(field, spec, spec.default, 'default') as T;
  };
  const flag = (name: keyof typeof FLAG_ONLY): string | undefined => flags.get(name);

  const rootDir = flag('root-dir') ?? '/var/lib/kubelet';
  const kubeconfig = flag('kubeconfig');
  if (!kubeconfig) throw new ConfigError('kubeconfig', 'flag --kubeconfig is required (standalone mode without an apiserver is not supported)');
  const nodeLabels: Record<string, string> = {};
  for (const kv of (flag('node-labels') ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new ConfigError('node-labels', `flag --node-labels: invalid label ${JSON.stringify(kv)}, want key=value`);
    nodeLabels[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const forbidden = Object.keys(nodeLabels).filter((k) => isKubernetesLabel(k) && !isKubeletLabel(k)).sort();
  if (forbidden.length > 0) {
    // kubelet's ValidateKubeletFlags: the NodeRestriction admission plugin would refuse such a
    // Node (403 on every registration attempt), so refuse to start instead.
    throw new ConfigError(
      'node-labels',
      `unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [${forbidden.join(' ')}]; --node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (${KUBELET_LABEL_NAMESPACES.join(', ')}) or be in the specifically allowed set (${KUBELET_LABELS.join(', ')})`,
    );
  }
  const nodeIPs = (flag('node-ip') ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const proxyMode = flag('proxy-mode');
  if (proxyMode && !['nftables', 'iptables'].includes(proxyMode)) throw new ConfigError('proxy-mode', `flag --proxy-mode must be "nftables" or "iptables", got ${JSON.stringify(proxyMode)}`);
  const tlsCert = get<string | undefined>('tlsCertFile');
  const tlsKey = get<string | undefined>('tlsPrivateKeyFile');
  if (!!tlsCert !== !!tlsKey) throw new ConfigError(tlsCert ? 'tlsPrivateKeyFile' : 'tlsCertFile', 'tlsCertFile and tlsPrivateKeyFile must be set together');
  const low = get<number>('imageGCLowThresholdPercent');
  const high = get<number>('imageGCHighThresholdPercent');
  if (low > high) throw new ConfigError('imageGCLowThresholdPercent', `imageGCLowThresholdPercent (${low}) must be <= imageGCHighThresholdPercent (${high})`);

  const config: AgentConfig = {
    nodeName: (flag('hostname-override') ?? opts.hostname ?? defaultNodeName()).toLowerCase(),
    nodeIPs,
    nodeLabels,
    registerWithTaints: get('registerWithTaints'),
    registerNode: get('registerNode'),
    providerID: get('providerID'),
    kubeconfig,
    rootDir,
    certDir: flag('cert-dir') ?? join(rootDir, 'pki'),
    podLogsDir: get('podLogsDir'),
    containerRuntimeEndpoint: get('containerRuntimeEndpoint'),
    imageServiceEndpoint: get('imageServiceEndpoint'),
    runtimeRequestTimeoutMs: get('runtimeRequestTimeout'),
    server: {
      enabled: get('enableServer'),
      address: get('address'),
      port: get('port'),
      readOnlyPort: get('readOnlyPort'),
      healthzBindAddress: get('healthzBindAddress'),
      healthzPort: get('healthzPort'),
      tlsCertFile: tlsCert,
      tlsPrivateKeyFile: tlsKey,
      streamingConnectionIdleTimeoutMs: get('streamingConnectionIdleTimeout'),
      authentication: {
        anonymousEnabled: get('authentication.anonymous.enabled'),
        webhookEnabled: get('authentication.webhook.enabled'),
        webhookCacheTtlMs: get('authentication.webhook.cacheTTL'),
        clientCAFile: get('authentication.x509.clientCAFile'),
      },
      authorization: {
        mode: get('authorization.mode'),
        cacheAuthorizedTtlMs: get('authorization.webhook.cacheAuthorizedTTL'),
        cacheUnauthorizedTtlMs: get('authorization.webhook.cacheUnauthorizedTTL'),
      },
    },
    syncFrequencyMs: get('syncFrequency'),
    fileCheckFrequencyMs: get('fileCheckFrequency'),
    nodeStatusUpdateFrequencyMs: get('nodeStatusUpdateFrequency'),
    nodeStatusReportFrequencyMs: get('nodeStatusReportFrequency'),
    nodeLeaseDurationSeconds: get('nodeLeaseDurationSeconds'),
    maxPods: get('maxPods'),
    podPidsLimit: get('podPidsLimit'),
    podCIDR: get('podCIDR'),
    clusterDNS: get('clusterDNS'),
    clusterDomain: get('clusterDomain'),
    resolvConf: get('resolvConf'),
    staticPodPath: get('staticPodPath'),
    cgroupDriver: get('cgroupDriver'),
    cgroupRoot: get('cgroupRoot'),
    cgroupsPerQOS: get('cgroupsPerQOS'),
    failSwapOn: get('failSwapOn'),
    hairpinMode: get('hairpinMode'),
    serializeImagePulls: values.has('maxParallelImagePulls') && get<number>('maxParallelImagePulls') >= 2 ? false : get('serializeImagePulls'),
    maxParallelImagePulls: get('maxParallelImagePulls'),
    kubeAPIQPS: get('kubeAPIQPS'),
    kubeAPIBurst: get('kubeAPIBurst'),
    eventRecordQPS: get('eventRecordQPS'),
    eventBurst: get('eventBurst'),
    containerLogMaxSize: get('containerLogMaxSize'),
    containerLogMaxFiles: get('containerLogMaxFiles'),
    systemReserved: get('systemReserved'),
    kubeReserved: get('kubeReserved'),
    evictionHard: get('evictionHard') ?? { 'memory.available': '100Mi', 'nodefs.available': '10%', 'imagefs.available': '15%', 'nodefs.inodesFree': '5%' },
    imageGCHighThresholdPercent: high,
    imageGCLowThresholdPercent: low,
    imageMinimumGCAgeMs: get('imageMinimumGCAge'),
    featureGates: get('featureGates'),
    proxy: {
      enabled: flag('disable-proxy') !== 'true',
      configFile: flag('proxy-config'),
      kubeconfig: flag('proxy-kubeconfig'),
      mode: proxyMode as 'nftables' | 'iptables' | undefined,
      clusterCIDR: flag('cluster-cidr'),
      cleanupOnExit: flag('proxy-cleanup-on-exit') === 'true',
    },
    cni: {
      confDir: flag('cni-conf-dir') ?? '/etc/cni/net.d',
      binDir: flag('cni-bin-dir'),
      dataDir: flag('cni-data-dir'),
    },
    logLevel: flag('log-level') ?? verbosityToLevel(flag('v')),
  };
  return { config, warnings };
}

function verbosityToLevel(v: string | undefined): string {
  const n = v === undefined ? 0 : Number(v);
  if (!Number.isFinite(n) || n <= 1) return 'info';
  return n >= 6 ? 'trace' : 'debug';
}

/** Labels a kubelet may set on its own Node (k8s.io/kubelet `apis.KubeletLabels`), as NodeRestriction allows them. */
export const KUBELET_LABELS: readonly string[] = Object.freeze([
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/instance-type',
  'beta.kubernetes.io/os',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'kubernetes.io/arch',
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'node.kubernetes.io/instance-type',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
]);

/** Label namespaces (and their subdomains) a kubelet may use (`apis.KubeletLabelNamespaces`). */
export const KUBELET_LABEL_NAMESPACES: readonly string[] = Object.freeze(['kubelet.kubernetes.io', 'node.kubernetes.io']);

function labelNamespace(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

/** True for a label in the `kubernetes.io` or `k8s.io` namespaces or their subdomains. */
function isKubernetesLabel(key: string): boolean {
  const ns = labelNamespace(key);
  return ns === 'kubernetes.io' || ns.endsWith('.kubernetes.io') || ns === 'k8s.io' || ns.endsWith('.k8s.io');
}

/** True for a label a kubelet may set on itself (`apis.IsKubeletLabel`). */
function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.includes(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((n) => ns === n || ns.endsWith(`.${n}`));
}
