import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { makeService, makeSlice } from './fixtures.js';
import { ServiceChangeTracker, servicePortsOf } from './tracker.js';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSliceV1beta1 } from './adapters.js';
import { resolveNodePortIPs } from './node-addresses.js';
import { canonicalIP, cidrContains, parseCidr } from './ip.js';

const tracker = () => new ServiceChangeTracker({ logger: silentLogger() });

describe('service change tracker', () => {
  it('keys service ports by namespace/name:portName/PROTOCOL and defaults protocol to TCP', () => {
    const svc = makeService({ name: 'dns', clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'tcp', port: 53 }] });
    delete svc.spec!.ports![1].protocol;
    expect(servicePortsOf(svc).map((p) => p.key)).toEqual(['default/dns:dns/UDP', 'default/dns:tcp/TCP']);
  });

  it('skips ExternalName, headless, unallocated and other proxies’ Services', () => {
    expect(servicePortsOf(makeService({ name: 'x', clusterIP: '', type: 'ExternalName', ports: [{ port: 80 }] }))).toEqual([]);
    expect(servicePortsOf(makeService({ name: 'x', clusterIP: 'None', ports: [{ port: 80 }] }))).toEqual([]);
    expect(servicePortsOf(makeService({ name: 'x', clusterIP: '', ports: [{ port: 80 }] }))).toEqual([]);
    expect(
      servicePortsOf(
        makeService({ name: 'x', clusterIP: '10.96.0.1', ports: [{ port: 80 }], labels: { 'service.kubernetes.io/service-proxy-name': 'foo' } }),
      ),
    ).toEqual([]);
  });

  it('joins slices by the service-name label and port name + protocol, merging several slices', () => {
    const t = tracker();
    t.upsertService(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
    t.upsertEndpointSlice(
      makeSlice({ name: 'web-1', service: 'web', ports: [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'TCP' }], endpoints: ['10.244.0.3'] }),
    );
    t.upsertEndpointSlice(makeSlice({ name: 'web-2', service: 'web', ports: [{ name: 'http', port: 9090 }], endpoints: ['10.244.0.2'] }));
    t.upsertEndpointSlice(makeSlice({ name: 'other', service: 'other', ports: [{ name: 'http', port: 1 }], endpoints: ['10.244.0.9'] }));
    const [http, dns] = t.servicePorts('default/web');
    expect(http.endpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(['10.244.0.2:9090', '10.244.0.3:8080']);
    expect(dns.endpoints).toEqual([]); // the slice's dns port is TCP, the Service's is UDP
  });

  it('reads conditions: ready unset is ready, serving defers to ready, terminating unset is false', () => {
    const t = tracker();
    t.upsertService(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    t.upsertEndpointSlice(
      makeSlice({
        service: 'web',
        ports: [{ port: 8080 }],
        endpoints: ['10.244.0.2', { ip: '10.244.0.3', ready: false }, { ip: '10.244.0.4', ready: false, serving: true, terminating: true, nodeName: 'n2' }],
      }),
    );
    const eps = t.servicePorts('default/web')[0].endpoints;
    expect(eps).toEqual([
      { ip: '10.244.0.2', port: 8080, ready: true, serving: true, terminating: false },
      { ip: '10.244.0.3', port: 8080, ready: false, serving: false, terminating: false },
      { ip: '10.244.0.4', port: 8080, ready: false, serving: true, terminating: true, nodeName: 'n2' },
    ]);
  });

  it('deduplicates an endpoint present in two slices, preferring the ready copy', () => {
    const t = tracker();
    t.upsertService(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    t.upsertEndpointSlice(makeSlice({ name: 'a', service: 'web', ports: [{ port: 8080 }], endpoints: [{ ip: '10.244.0.2', ready: false }] }));
    t.upsertEndpointSlice(makeSlice({ name: 'b', service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    expect(t.servicePorts('default/web')[0].endpoints).toEqual([{ ip: '10.244.0.2', port: 8080, ready: true, serving: true, terminating: false }]);
  });

  it('tracks dirty Services and ignores no-op updates', () => {
    const t = tracker();
    const svc = makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    const slice = makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] });
    expect(t.upsertService(svc)).toBe(true);
    expect(t.upsertEndpointSlice(slice)).toBe(true);
    expect(t.takeDirty()).toEqual(['default/web']);
    expect(t.upsertService(structuredClone(svc))).toBe(false);
    expect(t.upsertEndpointSlice(structuredClone(slice))).toBe(false);
    expect(t.hasChanges()).toBe(false);
    expect(t.deleteEndpointSlice(slice)).toBe(true);
    expect(t.deleteEndpointSlice(slice)).toBe(false);
    expect(t.deleteService(svc)).toBe(true);
    expect(t.takeDirty()).toEqual(['default/web']);
    expect(t.servicePorts('default/web')).toEqual([]);
  });

  it('a Service turning headless drops its ports; a slice changing Service moves', () => {
    const t = tracker();
    t.upsertService(makeService({ name: 'a', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    t.upsertService(makeService({ name: 'b', clusterIP: '10.96.0.11', ports: [{ port: 80 }] }));
    const s = makeSlice({ name: 's', service: 'a', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] });
    t.upsertEndpointSlice(s);
    t.takeDirty();
    t.upsertEndpointSlice(makeSlice({ name: 's', service: 'b', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    expect(t.takeDirty().sort()).toEqual(['default/a', 'default/b']);
    expect(t.servicePorts('default/a')[0].endpoints).toEqual([]);
    expect(t.servicePorts('default/b')[0].endpoints).toHaveLength(1);
    expect(t.upsertService(makeService({ name: 'b', clusterIP: 'None', ports: [{ port: 80 }] }))).toBe(true);
    expect(t.servicePorts('default/b')).toEqual([]);
  });

  it('ignores slices without the service-name label and FQDN slices', () => {
    const t = tracker();
    t.upsertService(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    const unlabeled = makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] });
    delete unlabeled.metadata!.labels;
    expect(t.upsertEndpointSlice(unlabeled)).toBe(false);
    t.upsertEndpointSlice(makeSlice({ name: 'f', service: 'web', addressType: 'FQDN', ports: [{ port: 8080 }], endpoints: ['example.com'] }));
    expect(t.servicePorts('default/web')[0].endpoints).toEqual([]);
  });
});

describe('endpoint sources in one shape', () => {
  it('reads a v1beta1 slice (Kubernetes 1.20): topology hostname is the node, conditions.ready only', () => {
    const t = tracker();
    t.upsertService(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] }));
    const v1beta1: EndpointSliceV1beta1 = {
      apiVersion: 'discovery.k8s.io/v1beta1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'default', name: 'web-x1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.0.2'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'node-1', 'topology.kubernetes.io/zone': 'z1' } },
        { addresses: ['10.244.1.2'], conditions: { ready: false }, topology: { 'kubernetes.io/hostname': 'node-2' } },
      ],
    };
    expect(t.upsertEndpointSlice(v1beta1)).toBe(true);
    expect(t.servicePorts('default/web')[0].endpoints).toEqual([
      { ip: '10.244.0.2', port: 8080, ready: true, serving: true, terminating: false, nodeName: 'node-1', zone: 'z1' },
      { ip: '10.244.1.2', port: 8080, ready: false, serving: false, terminating: false, nodeName: 'node-2' },
    ]);
    expect(t.deleteEndpointSlice(v1beta1)).toBe(true);
    expect(t.servicePorts('default/web')[0].endpoints).toEqual([]);
  });

  it('reads core/v1 Endpoints: addresses are ready, notReadyAddresses are not, families split', () => {
    const t = tracker();
    t.upsertService(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] }));
    const ep: Endpoints = {
      metadata: { namespace: 'default', name: 'web' },
      subsets: [
        {
          addresses: [{ ip: '10.244.0.2', nodeName: 'node-1' }, { ip: 'fd00:0:0::2' }],
          notReadyAddresses: [{ ip: '10.244.0.3' }],
          ports: [{ name: 'http', port: 8080 }],
        },
      ],
    };
    t.upsertEndpoints(ep);
    expect(t.servicePorts('default/web')[0].endpoints).toEqual([
      { ip: '10.244.0.2', port: 8080, ready: true, serving: true, terminating: false, nodeName: 'node-1' },
      { ip: '10.244.0.3', port: 8080, ready: false, serving: false, terminating: false },
      { ip: 'fd00::2', port: 8080, ready: true, serving: true, terminating: false },
    ]);
    t.deleteEndpoints(ep);
    expect(t.servicePorts('default/web')[0].endpoints).toEqual([]);
  });
});

describe('node addresses and IP helpers', () => {
  it('NodePorts go to the primary IPs by default, to matching interfaces for CIDRs, never to loopback', () => {
    const ifaces = ['127.0.0.1', '192.168.1.10', '10.0.0.5', '::1', 'fe80::1', 'fd00:1::10'];
    expect(resolveNodePortIPs([], ['192.168.1.10'], ifaces)).toEqual(['192.168.1.10']);
    expect(resolveNodePortIPs(['primary'], ['192.168.1.10', '127.0.0.1'], ifaces)).toEqual(['192.168.1.10']);
    expect(resolveNodePortIPs(['10.0.0.0/8'], ['192.168.1.10'], ifaces)).toEqual(['10.0.0.5']);
    expect(resolveNodePortIPs(['0.0.0.0/0', '::/0'], [], ifaces)).toEqual(['10.0.0.5', '192.168.1.10', 'fd00:1::10']);
  });

  it('parses and prints IPv6 canonically, and checks CIDRs of both families', () => {
    expect(canonicalIP('FD00:0000:0:0::0001')).toBe('fd00::1');
    expect(canonicalIP('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIP('::')).toBe('::');
    expect(canonicalIP('::ffff:10.0.0.1')).toBe('::ffff:a00:1');
    expect(canonicalIP('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(canonicalIP('10.0.0.256')).toBeUndefined();
    expect(cidrContains(parseCidr('fd00:244::/56')!, 'fd00:244:0:ff::1')).toBe(true);
    expect(cidrContains(parseCidr('fd00:244::/56')!, 'fd00:244:0:100::1')).toBe(false);
    expect(cidrContains(parseCidr('10.244.0.0/16')!, 'fd00::1')).toBe(false);
  });
});
