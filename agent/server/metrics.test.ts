import { describe, expect, it } from 'vitest';
import { createKubeletMetrics, httpLabels } from './metrics.js';

describe('kubelet metrics', () => {
  it("labels requests as kubelet's server metrics do", () => {
    expect(httpLabels('GET', '/stats/summary')).toEqual({ method: 'GET', path: 'stats', server_type: 'readwrite', long_running: 'false' });
    expect(httpLabels('POST', '/exec/ns/pod/c')).toMatchObject({ path: 'exec', long_running: 'true' });
    expect(httpLabels('POST', '/portForward/ns/pod')).toMatchObject({ path: 'portForward', long_running: 'true' });
    expect(httpLabels('GET', '/configz')).toMatchObject({ path: 'other' });
    expect(httpLabels('BREW', '/pods')).toMatchObject({ method: 'other', path: 'pods' });
  });

  it('computes running pods and containers at scrape time', async () => {
    const m = createKubeletMetrics({
      nodeName: 'n1',
      processMetrics: false,
      pods: () => [
        { status: { phase: 'Running', containerStatuses: [{ name: 'a', image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } },
        { status: { phase: 'Pending', containerStatuses: [{ name: 'b', image: '', imageID: '', ready: false, restartCount: 1, containerID: 'x', state: { waiting: { reason: 'CrashLoopBackOff' } } }] } },
      ],
    });
    const text = await m.registry.metrics();
    expect(text).toContain('kubelet_running_pods 1');
    expect(text).toContain('kubelet_running_containers{container_state="running"} 1');
    expect(text).toContain('kubelet_running_containers{container_state="created"} 1');
    expect(text).toContain('kubelet_pod_start_duration_seconds_bucket{le="3600"} 0');
  });
});
