/**
 * kubeconfig loading: resolves the current context of a kubeconfig file into the server URL
 * and credentials a client needs. Paths inside the file resolve against the file's
 * directory, as client-go does.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { InvalidInputError } from '../errors.js';

/** What a client needs to reach one apiserver. */
export interface ClusterCredentials {
  /** Base URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  /** PEM CA bundle that signs the server's certificate. */
  ca?: Buffer;
  /** PEM client certificate and key, for x509 authentication. */
  cert?: Buffer;
  key?: Buffer;
  /** Bearer token. */
  token?: string;
  /** Skip server certificate verification (insecure-skip-tls-verify). */
  insecureSkipTlsVerify?: boolean;
  /** SNI / verification name override (tls-server-name). */
  tlsServerName?: string;
}

interface NamedCluster { name: string; cluster: Record<string, unknown> }
interface NamedUser { name: string; user: Record<string, unknown> }
interface NamedContext { name: string; context: { cluster: string; user: string; namespace?: string } }
interface RawKubeconfig {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

/** Loads a kubeconfig file and resolves `context` (default: its current-context). */
export function loadKubeconfig(path: string, context?: string): ClusterCredentials & { namespace?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`cannot read kubeconfig ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: RawKubeconfig;
  try {
    raw = (parse(text) ?? {}) as RawKubeconfig;
  } catch (err) {
    throw new InvalidInputError(`kubeconfig ${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  return resolveKubeconfig(raw, dirname(path), context, path);
}

function resolveKubeconfig(raw: RawKubeconfig, baseDir: string, contextName: string | undefined, source: string): ClusterCredentials & { namespace?: string } {
  const ctxName = contextName ?? raw['current-context'];
  const ctx = (raw.contexts ?? []).find((c) => c.name === ctxName) ?? (ctxName ? undefined : raw.contexts?.[0]);
  if (!ctx) throw new InvalidInputError(`kubeconfig ${source}: context ${JSON.stringify(ctxName ?? '')} not found`, { field: 'current-context' });
  const cluster = (raw.clusters ?? []).find((c) => c.name === ctx.context.cluster)?.cluster;
  if (!cluster) throw new InvalidInputError(`kubeconfig ${source}: cluster ${JSON.stringify(ctx.context.cluster)} not found`, { field: 'contexts.context.cluster' });
  const user = (raw.users ?? []).find((u) => u.name === ctx.context.user)?.user ?? {};
  const server = cluster.server;
  if (typeof server !== 'string' || !server) throw new InvalidInputError(`kubeconfig ${source}: cluster ${ctx.context.cluster} has no server`, { field: 'clusters.cluster.server' });

  const file = (v: unknown): Buffer | undefined => {
    if (typeof v !== 'string' || !v) return undefined;
    const p = isAbsolute(v) ? v : resolve(baseDir, v);
    try {
      return readFileSync(p);
    } catch (err) {
      throw new InvalidInputError(`kubeconfig ${source}: cannot read ${p}: ${(err as Error).message}`, { cause: err });
    }
  };
  const data = (v: unknown): Buffer | undefined => (typeof v === 'string' && v ? Buffer.from(v, 'base64') : undefined);

  const creds: ClusterCredentials & { namespace?: string } = {
    server: server.replace(/\/+$/, ''),
    ca: data(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']),
    cert: data(user['client-certificate-data']) ?? file(user['client-certificate']),
    key: data(user['client-key-data']) ?? file(user['client-key']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
  if (typeof cluster['tls-server-name'] === 'string') creds.tlsServerName = cluster['tls-server-name'];
  if (typeof user.token === 'string') creds.token = user.token;
  else if (typeof user.tokenFile === 'string') creds.token = file(user.tokenFile)?.toString('utf8').trim();
  if (ctx.context.namespace) creds.namespace = ctx.context.namespace;
  return creds;
}

/** Options of {@link buildKubeconfig}. */
export interface KubeconfigSpec {
  server: string;
  caPem: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  clusterName?: string;
  userName?: string;
  contextName?: string;
  namespace?: string;
}

/** Renders a single-context kubeconfig with embedded credentials (YAML text). */
export function buildKubeconfig(spec: KubeconfigSpec): string {
  const cluster = spec.clusterName ?? 'skiff';
  const user = spec.userName ?? 'skiff-user';
  const context = spec.contextName ?? cluster;
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const userEntry: Record<string, string> = {};
  if (spec.certPem) userEntry['client-certificate-data'] = b64(spec.certPem);
  if (spec.keyPem) userEntry['client-key-data'] = b64(spec.keyPem);
  if (spec.token) userEntry.token = spec.token;
  const ctx: Record<string, string> = { cluster, user };
  if (spec.namespace) ctx.namespace = spec.namespace;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caPem) } }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: context, context: ctx }],
    'current-context': context,
    preferences: {},
  };
  return stringify(doc);
}
