/**
 * Service health checks (kube-proxy's `service_health.go`): for every Service with
 * `externalTrafficPolicy: Local` and a `healthCheckNodePort`, an HTTP server on that port
 * tells external load balancers whether this node has local endpoints for it. Any path
 * answers:
 *
 * ```
 * 200 (local endpoints and a healthy proxy) or 503, Content-Type: application/json,
 * X-Content-Type-Options: nosniff
 * {
 * 	"service": {
 * 		"namespace": "ns",
 * 		"name": "name"
 * 	},
 * 	"localEndpoints": 2,
 * 	"serviceProxyHealthy": true
 * }
 * ```
 * Servers listen on the NodePort addresses (all addresses when none are configured). A port
 * that cannot be opened is logged, reported as a `FailedToStartServiceHealthcheck` Warning
 * Event on the Service, and retried on the next sync.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../../lib/log.js';
import type { EventRecorder } from '../../lib/kube/event-recorder.js';
import type { ProxierHealth } from './health.js';

/** Options of {@link ServiceHealthServers}. */
export interface ServiceHealthOptions {
  logger: Logger;
  health: ProxierHealth;
  /** Addresses to listen on; `0.0.0.0`/`::` when empty. */
  bindAddresses: () => readonly string[];
  events?: EventRecorder;
  nodeName: string;
}

interface Instance {
  port: number;
  servers: Server[];
  endpoints: number;
}

/** The body kube-proxy writes, byte for byte. */
export function healthCheckBody(namespace: string, name: string, localEndpoints: number, proxyHealthy: boolean): string {
  return [
    '{',
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(namespace)},`,
    `\t\t"name": ${JSON.stringify(name)}`,
    '\t},',
    `\t"localEndpoints": ${localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    '}',
  ].join('\n');
}

/** Opens and closes the per-Service health check servers and answers their requests. */
export class ServiceHealthServers {
  private readonly instances = new Map<string, Instance>();

  constructor(private readonly opts: ServiceHealthOptions) {}

  /** Makes the set of served Services (`ns/name` → port) exactly `want`. */
  async syncServices(want: ReadonlyMap<string, number>): Promise<void> {
    for (const [svc, inst] of this.instances) {
      if (want.get(svc) !== inst.port) {
        this.opts.logger.debug({ service: svc, port: inst.port }, 'closing service health check');
        await closeAll(inst.servers);
        this.instances.delete(svc);
      }
    }
    for (const [svc, port] of want) {
      if (this.instances.has(svc)) continue;
      const inst: Instance = { port, servers: [], endpoints: 0 };
      try {
        const addrs = this.opts.bindAddresses();
        for (const addr of addrs.length ? addrs : ['0.0.0.0']) inst.servers.push(await this.listen(svc, addr, port));
        this.instances.set(svc, inst);
        this.opts.logger.debug({ service: svc, port }, 'opened service health check');
      } catch (err) {
        await closeAll(inst.servers);
        const [namespace, name] = svc.split('/');
        const msg = `node ${this.opts.nodeName} failed to start healthcheck "${svc}" on port ${port}: ${err instanceof Error ? err.message : String(err)}`;
        this.opts.logger.error({ service: svc, port, err: msg }, 'failed to start service health check');
        this.opts.events?.event({ kind: 'Service', apiVersion: 'v1', metadata: { namespace, name } }, 'Warning', 'FailedToStartServiceHealthcheck', msg);
      }
    }
  }

  /** Sets the local endpoint counts (`ns/name` → count); Services not listed have none. */
  setEndpoints(counts: ReadonlyMap<string, number>): void {
    for (const [svc, inst] of this.instances) inst.endpoints = counts.get(svc) ?? 0;
  }

  /** The Services served, with their ports. */
  served(): Map<string, number> {
    return new Map([...this.instances].map(([k, v]) => [k, v.port]));
  }

  /** Closes every server. */
  async close(): Promise<void> {
    for (const inst of this.instances.values()) await closeAll(inst.servers);
    this.instances.clear();
  }

  private listen(svc: string, host: string, port: number): Promise<Server> {
    const [namespace, name] = svc.split('/');
    const server = createServer((req, res) => {
      const inst = this.instances.get(svc);
      const count = inst?.endpoints ?? 0;
      const healthy = this.opts.health.isHealthy();
      const body = healthCheckBody(namespace, name, count, healthy);
      res.writeHead(count !== 0 && healthy ? 200 : 503, {
        'Content-Type': 'application/json',
        'X-Content-Type-Options': 'nosniff',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }
}

function closeAll(servers: Server[]): Promise<void> {
  return Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections?.();
          s.close(() => resolve());
        }),
    ),
  ).then(() => undefined);
}
