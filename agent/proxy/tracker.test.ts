import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { makeService, makeSlice } from './fixtures.js';
import { ServiceChangeTracker, servicePortsOf } from './tracker.js';

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
