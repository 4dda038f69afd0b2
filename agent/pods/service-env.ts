/**
 * Service environment variables (kubelet's `getServiceEnvVarMap` + `envvars.FromServices`):
 * for each Service with a cluster IP in the pod's namespace (when `enableServiceLinks`),
 * plus the `kubernetes` Service of `default`, `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`,
 * `<NAME>_SERVICE_PORT_<PORTNAME>` and the Docker-link variables `<NAME>_PORT…`.
 */
import type { Service } from 'kubernetes-types/core/v1.js';

/** `my-svc` → `MY_SVC`. */
export function envVarName(name: string): string {
  return name.replace(/-/g, '_').toUpperCase();
}

function isServiceIPSet(s: Service): boolean {
  const ip = s.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The variables of one Service, in kubelet's order. */
export function serviceEnvVars(s: Service): [string, string][] {
  if (!isServiceIPSet(s) || !s.spec?.ports?.length) return [];
  const out: [string, string][] = [];
  const prefix = envVarName(s.metadata?.name ?? '');
  const ip = s.spec.clusterIP!;
  out.push([`${prefix}_SERVICE_HOST`, ip]);
  const portName = `${prefix}_SERVICE_PORT`;
  out.push([portName, String(s.spec.ports[0].port)]);
  for (const p of s.spec.ports) if (p.name) out.push([`${portName}_${envVarName(p.name)}`, String(p.port)]);
  s.spec.ports.forEach((p, i) => {
    const proto = p.protocol ?? 'TCP';
    const url = `${proto.toLowerCase()}://${joinHostPort(ip, p.port)}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push([pp, url], [`${pp}_PROTO`, proto.toLowerCase()], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
  });
  return out;
}

/** The namespace of the master service (`kubernetes`). */
export const MASTER_SERVICE_NAMESPACE = 'default';

/**
 * The service variables for a pod in `namespace`. `services` is every Service the agent
 * knows; the `kubernetes` Service of `default` is always included, the others only with
 * service links enabled.
 */
export function serviceEnvMap(services: readonly Service[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const byName = new Map<string, Service>();
  for (const s of services) {
    if (!isServiceIPSet(s)) continue;
    const name = s.metadata?.name ?? '';
    if (s.metadata?.namespace === MASTER_SERVICE_NAMESPACE && name === 'kubernetes') {
      if (!byName.has(name)) byName.set(name, s);
    } else if (s.metadata?.namespace === namespace && enableServiceLinks) {
      byName.set(name, s);
    }
  }
  const out = new Map<string, string>();
  for (const name of [...byName.keys()].sort()) for (const [k, v] of serviceEnvVars(byName.get(name)!)) out.set(k, v);
  return out;
}
