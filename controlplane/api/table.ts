/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the column
 * definitions and cells of kube-apiserver's printers (k8s.io/kubernetes
 * pkg/printers/internalversion/printers.go), with kubectl's HumanDuration ages. The server
 * always prints the wide (priority 1) columns too; kubectl hides them unless `-o wide`.
 */
import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { labelSelectorFromObject } from '../../lib/kube/selectors.js';

/** Options of {@link toTable}. */
export interface TableOptions {
  /** `includeObject` query parameter: None, Metadata (default) or Object. */
  includeObject?: 'None' | 'Metadata' | 'Object';
  /** Current time in ms, for AGE columns. */
  now: number;
  /** The list's resourceVersion / continue token, copied into the Table's metadata. */
  listMeta?: { resourceVersion?: string; continue?: string };
}

/** A column of a Table (`TableColumnDefinition`). */
export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** A row condition (`TableRowCondition`), e.g. `Completed` for finished pods. */
export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** A row of a Table. */
export interface TableRow {
  cells: unknown[];
  object?: unknown;
  conditions?: TableRowCondition[];
}

/** A `meta.k8s.io/v1` Table, as kubectl requests with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
export interface Table {
  apiVersion: 'meta.k8s.io/v1';
  kind: 'Table';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

// =======================================================================================
// Formatting helpers

/**
 * kubectl's `duration.HumanDuration`: `5s`, `2m30s`, `10m`, `3h5m`, `10h`, `2d3h`, `400d`,
 * `2y5d`; `<invalid>` for more than a second in the future.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** `translateTimestampSince`: `<unknown>` for a missing timestamp, else the human age. */
export function translateTimestampSince(ts: string | undefined | null, now: number): string {
  if (!ts) return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now - t);
}

/** `labels.FormatLabels`: `k=v,k2=v2` sorted by key, `<none>` when empty. */
export function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${(m as Record<string, string>)[k]}`).join(',');
}

/** Service ports as `80/TCP,443:30443/TCP` (`makePortString`). */
export function formatServicePorts(ports: readonly { port?: number; nodePort?: number; protocol?: string }[] | undefined): string {
  return (ports ?? [])
    .map((p) => (p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`))
    .join(',');
}

type Loose = Record<string, unknown>;
const o = (v: unknown): Loose => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : {});
const arr = (v: unknown): Loose[] => (Array.isArray(v) ? (v as Loose[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

const NAME_DESC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_DESC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

function col(name: string, description: string, opts: { type?: string; format?: string; priority?: number } = {}): TableColumn {
  return { name, type: opts.type ?? 'string', format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}
const NAME = col('Name', NAME_DESC, { format: 'name' });
const AGE = col('Age', AGE_DESC);

interface Printer {
  columns: TableColumn[];
  row(obj: Loose, now: number): { cells: unknown[]; conditions?: TableRowCondition[] };
}

const meta = (x: Loose): Loose => o(x.metadata);
const age = (x: Loose, now: number): string => translateTimestampSince(str(meta(x).creationTimestamp), now);

// ---- Pods ------------------------------------------------------------------------------

function isRestartableInit(c: Loose | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

/** The cells kube prints for a pod: READY, STATUS, RESTARTS (and the row conditions). */
export function podStatusCells(pod: Loose, now: number): { ready: string; status: string; restarts: string; conditions?: TableRowCondition[] } {
  const spec = o(pod.spec);
  const status = o(pod.status);
  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = arr(spec.containers).length;
  let readyContainers = 0;
  let lastRestart = 0;
  let lastRestartableInitRestart = 0;
  for (const c of arr(status.conditions)) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  let conditions: TableRowCondition[] | undefined;
  if (phase === 'Succeeded') conditions = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
  else if (phase === 'Failed') conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

  const initSpecs = new Map<string, Loose>();
  for (const c of arr(spec.initContainers)) {
    initSpecs.set(str(c.name), c);
    if (isRestartableInit(c)) totalContainers++;
  }
  const finishedAt = (cs: Loose): number => {
    const t = o(o(cs.lastState).terminated).finishedAt;
    return typeof t === 'string' ? Date.parse(t) || 0 : 0;
  };
  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    restarts += num(cs.restartCount);
    lastRestart = Math.max(lastRestart, finishedAt(cs));
    const restartable = isRestartableInit(initSpecs.get(str(cs.name)));
    if (restartable) {
      restartableInitRestarts += num(cs.restartCount);
      lastRestartableInitRestart = Math.max(lastRestartableInitRestart, finishedAt(cs));
    }
    const state = o(cs.state);
    const term = state.terminated === undefined ? undefined : o(state.terminated);
    const wait = state.waiting === undefined ? undefined : o(state.waiting);
    if (term && num(term.exitCode) === 0) continue;
    if (restartable && cs.started === true) {
      if (cs.ready === true) readyContainers++;
      continue;
    }
    if (term) {
      if (!str(term.reason)) reason = num(term.signal) !== 0 ? `Init:Signal:${num(term.signal)}` : `Init:ExitCode:${num(term.exitCode)}`;
      else reason = `Init:${str(term.reason)}`;
    } else if (wait && str(wait.reason) && wait.reason !== 'PodInitializing') {
      reason = `Init:${str(wait.reason)}`;
    } else {
      reason = `Init:${i}/${arr(spec.initContainers).length}`;
    }
    initializing = true;
    break;
  }
  const initializedTrue = arr(status.conditions).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initializedTrue) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += num(cs.restartCount);
      lastRestart = Math.max(lastRestart, finishedAt(cs));
      const state = o(cs.state);
      const wait = state.waiting === undefined ? undefined : o(state.waiting);
      const term = state.terminated === undefined ? undefined : o(state.terminated);
      if (wait && str(wait.reason)) reason = str(wait.reason);
      else if (term && str(term.reason)) reason = str(term.reason);
      else if (term) reason = num(term.signal) !== 0 ? `Signal:${num(term.signal)}` : `ExitCode:${num(term.exitCode)}`;
      else if (cs.ready === true && state.running !== undefined) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = arr(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  const deleting = !!meta(pod).deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart > 0) restartsStr = `${restarts} (${humanDuration(now - lastRestart)} ago)`;
  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartsStr, conditions };
}

const podPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE,
    col('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', { priority: 1 }),
    col('Node', 'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.', { priority: 1 }),
    col('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', { priority: 1 }),
    col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', { priority: 1 }),
  ],
  row(pod, now) {
    const c = podStatusCells(pod, now);
    const spec = o(pod.spec);
    const status = o(pod.status);
    const ips = arr(status.podIPs);
    const ip = (ips.length ? str(ips[0].ip) : str(status.podIP)) || '<none>';
    const gates = arr(spec.readinessGates);
    let gatesStr = '<none>';
    if (gates.length) {
      let n = 0;
      for (const g of gates) {
        const cond = arr(status.conditions).find((x) => x.type === g.conditionType);
        if (cond?.status === 'True') n++;
      }
      gatesStr = `${n}/${gates.length}`;
    }
    return {
      cells: [str(meta(pod).name), c.ready, c.status, c.restarts, age(pod, now), ip, str(spec.nodeName) || '<none>', str(status.nominatedNodeName) || '<none>', gatesStr],
      conditions: c.conditions,
    };
  },
};

// ---- Nodes -----------------------------------------------------------------------------

/** Node roles from `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`, sorted. */
export function nodeRoles(labels: Record<string, string> | undefined): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) roles.add(r);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].sort();
}

const nodePrinter: Printer = {
  columns: [
    NAME,
    col('Status', 'The status of the node'),
    col('Roles', 'The roles of the node'),
    AGE,
    col('Version', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    col('External-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    col('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', { priority: 1 }),
    col('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
    col('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', { priority: 1 }),
  ],
  row(node, now) {
    const status = o(node.status);
    const ready = arr(status.conditions).find((c) => c.type === 'Ready');
    const parts: string[] = [];
    if (ready) parts.push(ready.status === 'True' ? 'Ready' : 'NotReady');
    else parts.push('Unknown');
    if (o(node.spec).unschedulable === true) parts.push('SchedulingDisabled');
    const roles = nodeRoles(meta(node).labels as Record<string, string> | undefined).join(',') || '<none>';
    const info = o(status.nodeInfo);
    const addr = (t: string): string => str(arr(status.addresses).find((a) => a.type === t)?.address) || '<none>';
    return {
      cells: [
        str(meta(node).name), parts.join(','), roles, age(node, now), str(info.kubeletVersion),
        addr('InternalIP'), addr('ExternalIP'),
        str(info.osImage) || '<unknown>', str(info.kernelVersion) || '<unknown>', str(info.containerRuntimeVersion) || '<unknown>',
      ],
    };
  },
};

// ---- Services, Endpoints, EndpointSlices -------------------------------------------------

function serviceExternalIP(svc: Loose): string {
  const spec = o(svc.spec);
  const ext = arr(spec.externalIPs as unknown).map(String);
  switch (str(spec.type)) {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = arr(o(o(svc.status).loadBalancer).ingress)
        .map((i) => str(i.ip) || str(i.hostname))
        .filter(Boolean);
      if (ext.length) return [...lb, ...ext].join(',');
      return lb.length ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

const servicePrinter: Printer = {
  columns: [
    NAME,
    col('Type', 'type determines how the Service is exposed.'),
    col('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    col('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    col('Port(s)', 'The list of ports that are exposed by this service.'),
    AGE,
    col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', { priority: 1 }),
  ],
  row(svc, now) {
    const spec = o(svc.spec);
    const ips = arr(spec.clusterIPs as unknown).map(String);
    const clusterIP = ips[0] || str(spec.clusterIP) || '<none>';
    const ports = formatServicePorts(arr(spec.ports) as { port?: number; nodePort?: number; protocol?: string }[]) || '<none>';
    return {
      cells: [str(meta(svc).name), str(spec.type), clusterIP, serviceExternalIP(svc), ports, age(svc, now), formatLabels(spec.selector as Record<string, string> | undefined)],
    };
  },
};

/** `formatEndpoints`: up to three `ip:port` pairs, then ` + N more...`. */
export function formatEndpoints(subsets: unknown): string {
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of arr(subsets)) {
    const addrs = arr(ss.addresses);
    const ports = arr(ss.ports);
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        const ip = str(a.ip);
        list.push(ip.includes(':') ? `[${ip}]:${num(p.port)}` : `${ip}:${num(p.port)}`);
      }
    }
  }
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret || '<none>';
}

const endpointsPrinter: Printer = {
  columns: [NAME, col('Endpoints', 'Endpoints of the service'), AGE],
  row: (ep, now) => ({ cells: [str(meta(ep).name), formatEndpoints(ep.subsets), age(ep, now)] }),
};

function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret || '<unset>';
}

const endpointSlicePrinter: Printer = {
  columns: [
    NAME,
    col('AddressType', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'endpoints is a list of unique endpoints in this slice.'),
    AGE,
  ],
  row(es, now) {
    const max = 3;
    const ports: string[] = [];
    let pmore = false;
    let pcount = 0;
    for (const p of arr(es.ports)) {
      if (ports.length < max) ports.push(typeof p.port === 'number' ? String(p.port) : typeof p.name === 'string' ? p.name : '*');
      else pmore = true;
      pcount++;
    }
    const eps: string[] = [];
    let emore = false;
    let ecount = 0;
    for (const e of arr(es.endpoints)) {
      for (const a of arr(e.addresses as unknown)) {
        if (eps.length < max) eps.push(String(a));
        else emore = true;
        ecount++;
      }
    }
    return {
      cells: [str(meta(es).name), str(es.addressType), listWithMore(ports, pmore, pcount, max), listWithMore(eps, emore, ecount, max), age(es, now)],
    };
  },
};

// ---- apps --------------------------------------------------------------------------------

function templateContainers(spec: Loose): { names: string; images: string } {
  const cs = arr(o(o(spec.template).spec).containers);
  return { names: cs.map((c) => str(c.name)).join(','), images: cs.map((c) => str(c.image)).join(',') };
}

function selectorString(sel: unknown): string {
  try {
    return labelSelectorFromObject(sel as LabelSelector | undefined).toString();
  } catch {
    return '<error>';
  }
}

const WIDE_WORKLOAD = [
  col('Containers', 'Names of each container in the template.', { priority: 1 }),
  col('Images', 'Images referenced by each container in the template.', { priority: 1 }),
  col('Selector', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', { priority: 1 }),
];

const deploymentPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'Number of the pod with ready state'),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', { type: 'integer' }),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', { type: 'integer' }),
    AGE,
    ...WIDE_WORKLOAD,
  ],
  row(d, now) {
    const spec = o(d.spec);
    const st = o(d.status);
    const c = templateContainers(spec);
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 0;
    return {
      cells: [str(meta(d).name), `${num(st.readyReplicas)}/${desired}`, num(st.updatedReplicas), num(st.availableReplicas), age(d, now), c.names, c.images, selectorString(spec.selector)],
    };
  },
};

const replicaSetPrinter: Printer = {
  columns: [
    NAME,
    col('Desired', 'Replicas is the number of desired pods.', { type: 'integer' }),
    col('Current', 'Replicas is the most recently observed number of non-terminating pods.', { type: 'integer' }),
    col('Ready', 'The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.', { type: 'integer' }),
    AGE,
    ...WIDE_WORKLOAD,
  ],
  row(rs, now) {
    const spec = o(rs.spec);
    const st = o(rs.status);
    const c = templateContainers(spec);
    return {
      cells: [str(meta(rs).name), num(spec.replicas), num(st.replicas), num(st.readyReplicas), age(rs, now), c.names, c.images, selectorString(spec.selector)],
    };
  },
};

// ---- others --------------------------------------------------------------------------------

const namespacePrinter: Printer = {
  columns: [NAME, col('Status', 'The status of the namespace'), AGE],
  row: (ns, now) => ({ cells: [str(meta(ns).name), str(o(ns.status).phase), age(ns, now)] }),
};

const configMapPrinter: Printer = {
  columns: [NAME, col('Data', 'Data contains the configuration data.', { type: 'integer' }), AGE],
  row: (cm, now) => ({
    cells: [str(meta(cm).name), Object.keys(o(cm.data)).length + Object.keys(o(cm.binaryData)).length, age(cm, now)],
  }),
};

const secretPrinter: Printer = {
  columns: [NAME, col('Type', 'The type of the secret'), col('Data', 'The number of entries in the secret', { type: 'integer' }), AGE],
  row: (s, now) => ({ cells: [str(meta(s).name), str(s.type), Object.keys(o(s.data)).length, age(s, now)] }),
};

const serviceAccountPrinter: Printer = {
  columns: [NAME, col('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', { type: 'integer' }), AGE],
  row: (sa, now) => ({ cells: [str(meta(sa).name), arr(sa.secrets).length, age(sa, now)] }),
};

const leasePrinter: Printer = {
  columns: [NAME, col('Holder', 'holderIdentity contains the identity of the holder of a current lease.'), AGE],
  row: (l, now) => ({ cells: [str(meta(l).name), str(o(l.spec).holderIdentity), age(l, now)] }),
};

const eventPrinter: Printer = {
  columns: [
    col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    col('Reason', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col('Object', 'The object that this event is about.'),
    col('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].', { priority: 1 }),
    col('Source', 'The component reporting this event. Should be a short machine understandable string.', { priority: 1 }),
    col('Message', 'A human-readable description of the status of this operation.'),
    col('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', { priority: 1 }),
    col('Count', 'The number of times this event has occurred.', { priority: 1 }),
    col('Name', NAME_DESC, { priority: 1, format: 'name' }),
  ],
  row(ev, now) {
    const firstTs = str(ev.firstTimestamp);
    const first = firstTs ? translateTimestampSince(firstTs, now) : translateTimestampSince(str(ev.eventTime), now);
    let last = str(ev.lastTimestamp) ? translateTimestampSince(str(ev.lastTimestamp), now) : first;
    let count = num(ev.count);
    const series = ev.series === undefined || ev.series === null ? undefined : o(ev.series);
    if (series) {
      last = translateTimestampSince(str(series.lastObservedTime), now);
      count = num(series.count);
    } else if (count === 0) count = 1;
    const io = o(ev.involvedObject);
    const kind = str(io.kind).toLowerCase();
    const target = str(io.name) ? `${kind}/${str(io.name)}` : kind;
    const src = o(ev.source);
    const component = str(src.component) || str(ev.reportingComponent);
    const instance = str(src.host) || str(ev.reportingInstance);
    const source = instance ? `${component}, ${instance}` : component;
    return {
      cells: [last, str(ev.type), str(ev.reason), target, str(io.fieldPath), source, str(ev.message).trim(), first, count, str(meta(ev).name)],
    };
  },
};

/** The default table (kinds without a printer): Name and Created At. */
const defaultPrinter: Printer = {
  columns: [NAME, col('Created At', AGE_DESC, { type: 'date' })],
  row: (x) => ({ cells: [str(meta(x).name), str(meta(x).creationTimestamp)] }),
};

const PRINTERS: Record<string, Printer> = {
  '/Pod': podPrinter,
  '/Node': nodePrinter,
  '/Service': servicePrinter,
  '/Endpoints': endpointsPrinter,
  '/Namespace': namespacePrinter,
  '/ConfigMap': configMapPrinter,
  '/Secret': secretPrinter,
  '/ServiceAccount': serviceAccountPrinter,
  '/Event': eventPrinter,
  'apps/Deployment': deploymentPrinter,
  'apps/ReplicaSet': replicaSetPrinter,
  'discovery.k8s.io/EndpointSlice': endpointSlicePrinter,
  'coordination.k8s.io/Lease': leasePrinter,
};

/** The column definitions kube-apiserver prints for `type`. */
export function tableColumns(type: Pick<ResourceType, 'group' | 'kind'>): TableColumn[] {
  return (PRINTERS[`${type.group}/${type.kind}`] ?? defaultPrinter).columns.map((c) => ({ ...c }));
}

/**
 * Renders objects as kube-apiserver's server-side printers do (the columns of
 * `kubectl get` and `-o wide`, where priority 1 columns are the wide ones). Each row carries
 * the object per `includeObject`: a `PartialObjectMetadata` (default), the whole object, or
 * nothing.
 */
export function toTable(type: ResourceType, objects: KubeObject[], opts: TableOptions): Table {
  const printer = PRINTERS[`${type.group}/${type.kind}`] ?? defaultPrinter;
  const include = opts.includeObject ?? 'Metadata';
  const metadata: Table['metadata'] = {};
  if (opts.listMeta?.resourceVersion !== undefined) metadata.resourceVersion = opts.listMeta.resourceVersion;
  if (opts.listMeta?.continue) metadata.continue = opts.listMeta.continue;
  return {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'Table',
    metadata,
    columnDefinitions: printer.columns.map((c) => ({ ...c })),
    rows: objects.map((x) => {
      const r = printer.row(x as unknown as Loose, opts.now);
      const row: TableRow = { cells: r.cells };
      if (r.conditions) row.conditions = r.conditions;
      if (include === 'Metadata') {
        row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: x.metadata ?? {} };
      } else if (include === 'Object') {
        row.object = x;
      }
      return row;
    }),
  };
}
