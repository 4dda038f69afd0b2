/**
 * ClusterIP and NodePort bookkeeping for Services, as kube-apiserver's service REST
 * storage does it: allocate on create (a requested in-range address, or any free one),
 * keep allocated values on update when the new object omits them (`patchAllocatedValues`),
 * release what an update or delete gives up. Allocations are rebuilt from the stored
 * Services at start, so they survive restarts with the store snapshot.
 */
import type { ApiError } from '../../lib/kube/errors.js';
import { Services } from '../../lib/kube/resources.js';
import type { FieldError } from '../api/index.js';
import { IPAllocator, PortAllocator } from './allocator.js';
import { internalError, invalid } from './errors.js';
import type { Obj } from './meta.js';

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
  [k: string]: unknown;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  ports?: ServicePort[];
  [k: string]: unknown;
}

/** Allocations of one write, to be committed (old values released) or rolled back. */
export interface AllocationTxn {
  /** The write succeeded: release what the old object held and the new one does not. */
  commit(): void;
  /** The write failed: release what this transaction allocated. */
  rollback(): void;
}

const NOOP: AllocationTxn = { commit() {}, rollback() {} };

function spec(svc: Obj): ServiceSpec {
  if (!svc.spec) svc.spec = {};
  return svc.spec as ServiceSpec;
}

function needsClusterIP(s: ServiceSpec): boolean {
  return (s.type ?? 'ClusterIP') !== 'ExternalName';
}

function needsNodePorts(s: ServiceSpec): boolean {
  return s.type === 'NodePort' || s.type === 'LoadBalancer';
}

function ipsOf(s: ServiceSpec): string[] {
  const ips = s.clusterIPs?.length ? s.clusterIPs : s.clusterIP ? [s.clusterIP] : [];
  return ips.filter((ip) => ip && ip !== 'None');
}

function portsOf(s: ServiceSpec): number[] {
  return [...new Set((s.ports ?? []).map((p) => p.nodePort).filter((p): p is number => typeof p === 'number' && p > 0))];
}

/** The Service ClusterIP and NodePort allocators. */
export class ServiceAllocations {
  constructor(
    readonly ips: IPAllocator,
    readonly ports: PortAllocator,
  ) {}

  /** Marks what a stored Service holds (at start). */
  restore(svc: Obj): void {
    const s = spec(svc);
    for (const ip of ipsOf(s)) if (this.ips.contains(ip)) this.ips.allocate(ip);
    for (const p of portsOf(s)) this.ports.allocate(p);
  }

  /** Releases everything a removed Service held. */
  release(svc: Obj): void {
    const s = spec(svc);
    for (const ip of ipsOf(s)) this.ips.release(ip);
    for (const p of portsOf(s)) this.ports.release(p);
  }

  /** Allocates for a new Service, filling `spec.clusterIP(s)`, IP families and node ports. */
  allocateCreate(svc: Obj): AllocationTxn {
    return this.allocate(svc, undefined);
  }

  /** Allocates what an update adds; keeps allocated values the new object omits. */
  allocateUpdate(svc: Obj, old: Obj): AllocationTxn {
    const s = spec(svc);
    const o = spec(old);
    // patchAllocatedValues: a replace that omits allocated values keeps them.
    if (needsClusterIP(s) && needsClusterIP(o)) {
      if (!s.clusterIP && !s.clusterIPs?.length) {
        if (o.clusterIP !== undefined) s.clusterIP = o.clusterIP;
        if (o.clusterIPs !== undefined) s.clusterIPs = [...o.clusterIPs];
      }
      if (!s.ipFamilies && o.ipFamilies) s.ipFamilies = [...o.ipFamilies];
      if (!s.ipFamilyPolicy && o.ipFamilyPolicy) s.ipFamilyPolicy = o.ipFamilyPolicy;
    }
    if (needsNodePorts(s) && needsNodePorts(o)) {
      for (const p of s.ports ?? []) {
        if (p.nodePort) continue;
        const prev = (o.ports ?? []).find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (prev?.nodePort) p.nodePort = prev.nodePort;
      }
    }
    if (!needsNodePorts(s)) for (const p of s.ports ?? []) delete p.nodePort;
    return this.allocate(svc, old);
  }

  private allocate(svc: Obj, old: Obj | undefined): AllocationTxn {
    const s = spec(svc);
    const name = svc.metadata.name ?? '';
    const oldIps = new Set(old ? ipsOf(spec(old)) : []);
    const oldPorts = new Set(old ? portsOf(spec(old)) : []);
    const newIps: string[] = [];
    const newPorts: number[] = [];
    const rollback = (): void => {
      for (const ip of newIps) this.ips.release(ip);
      for (const p of newPorts) this.ports.release(p);
    };
    const fail = (errs: FieldError[] | ApiError): never => {
      rollback();
      throw Array.isArray(errs) ? invalid(Services, name, errs) : errs;
    };

    if (needsClusterIP(s)) {
      const requested = s.clusterIPs?.[0] ?? s.clusterIP ?? '';
      if (requested === 'None') {
        s.clusterIP = 'None';
        s.clusterIPs = ['None'];
      } else if (requested === '') {
        const ip = this.ips.allocateNext();
        if (!ip) fail(internalError(`failed to allocate a serviceIP: range is full`));
        newIps.push(ip!);
        s.clusterIP = ip;
        s.clusterIPs = [ip!];
      } else if (!oldIps.has(requested)) {
        const r = this.ips.contains(requested) ? this.ips.allocate(requested) : 'out-of-range';
        if (r !== 'ok') {
          const why =
            r === 'taken'
              ? 'provided IP is already allocated'
              : `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.ips.cidr}`;
          fail([
            {
              type: 'FieldValueInvalid',
              field: 'spec.clusterIPs',
              message: `Invalid value: ${JSON.stringify([requested])}: failed to allocate IP ${requested}: ${why}`,
            },
          ]);
        }
        newIps.push(requested);
        s.clusterIP = requested;
        s.clusterIPs = [requested];
      } else {
        s.clusterIP = requested;
        s.clusterIPs = [requested];
      }
      if (!s.ipFamilies) s.ipFamilies = ['IPv4'];
      if (!s.ipFamilyPolicy) s.ipFamilyPolicy = 'SingleStack';
    }

    if (needsNodePorts(s)) {
      const mine = new Set<number>();
      (s.ports ?? []).forEach((p, i) => {
        if (p.nodePort) {
          if (mine.has(p.nodePort) || oldPorts.has(p.nodePort)) {
            mine.add(p.nodePort);
            return;
          }
          const r = this.ports.allocate(p.nodePort);
          if (r !== 'ok') {
            const why =
              r === 'taken'
                ? 'provided port is already allocated'
                : `provided port is not in the valid range. The range of valid ports is ${this.ports.range}`;
            fail([{ type: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: ${why}` }]);
          }
          newPorts.push(p.nodePort);
          mine.add(p.nodePort);
        } else {
          const port = this.ports.allocateNext();
          if (port === undefined) fail(internalError('failed to allocate a nodePort: range is full'));
          newPorts.push(port!);
          mine.add(port!);
          p.nodePort = port;
        }
      });
    }

    if (!old && newIps.length === 0 && newPorts.length === 0) return NOOP;
    const keptIps = new Set(ipsOf(s));
    const keptPorts = new Set(portsOf(s));
    return {
      commit: () => {
        for (const ip of oldIps) if (!keptIps.has(ip)) this.ips.release(ip);
        for (const p of oldPorts) if (!keptPorts.has(p)) this.ports.release(p);
      },
      rollback,
    };
  }
}
