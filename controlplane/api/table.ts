import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';

/** Options of {@link toTable}. */
export interface TableOptions {
  /** `includeObject` query parameter: None, Metadata (default) or Object. */
  includeObject?: 'None' | 'Metadata' | 'Object';
  /** Current time in ms, for AGE columns. */
  now: number;
  /** The list's resourceVersion / continue token, copied into the Table's metadata. */
  listMeta?: { resourceVersion?: string; continue?: string };
}

/** A `meta.k8s.io/v1` Table, as kubectl requests with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
export interface Table {
  apiVersion: 'meta.k8s.io/v1';
  kind: 'Table';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: { name: string; type: string; format: string; description: string; priority: number }[];
  rows: { cells: unknown[]; object?: unknown }[];
}

/**
 * Renders objects as kube-apiserver's server-side printers do (the columns of
 * `kubectl get` and `-o wide`, where priority 1 columns are the wide ones).
 * STUB: replaced by the API-semantics work (this stub prints NAME and AGE only).
 */
export function toTable(_type: ResourceType, objects: KubeObject[], opts: TableOptions): Table {
  return {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'Table',
    metadata: { ...(opts.listMeta ?? {}) },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
      { name: 'Age', type: 'string', format: '', description: 'Age', priority: 0 },
    ],
    rows: objects.map((o) => ({
      cells: [o.metadata?.name ?? '', '<unknown>'],
      object: opts.includeObject === 'None' ? undefined : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
