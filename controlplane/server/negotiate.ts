/**
 * Content negotiation: which representation an `Accept` header asks for (kube's
 * `as=Table;g=meta.k8s.io;v=v1`, `as=PartialObjectMetadata[List]`, aggregated discovery
 * `as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2`, or plain JSON).
 */

/** One media range of an Accept header. */
export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

/** Parses an Accept (or Content-Type) header into media ranges, in order. */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part) => {
      const [type, ...params] = part.split(';').map((s) => s.trim());
      const p: Record<string, string> = {};
      for (const kv of params) {
        const i = kv.indexOf('=');
        if (i > 0) p[kv.slice(0, i).trim().toLowerCase()] = kv.slice(i + 1).trim().replace(/^"|"$/g, '');
      }
      return { type: (type ?? '').toLowerCase(), params: p };
    })
    .filter((m) => m.type);
}

/** What to answer with. */
export type Representation =
  | { kind: 'json' }
  | { kind: 'table'; version: 'v1' | 'v1beta1' }
  | { kind: 'partial'; version: 'v1' | 'v1beta1' }
  | { kind: 'discovery'; version: 'v2' | 'v2beta1' }
  | { kind: 'unacceptable' };

const jsonLike = (t: string): boolean => t === 'application/json' || t === '*/*' || t === 'application/*' || t === 'application/yaml';

/** The first representation in `accept` that this server can produce. */
export function negotiate(accept: string | undefined, allow: { table?: boolean; discovery?: boolean } = {}): Representation {
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return { kind: 'json' };
  for (const r of ranges) {
    const as = r.params.as;
    if (!as) {
      if (jsonLike(r.type)) return { kind: 'json' };
      continue;
    }
    if (r.type !== 'application/json') continue;
    if (allow.table && as === 'Table' && r.params.g === 'meta.k8s.io' && (r.params.v === 'v1' || r.params.v === 'v1beta1')) {
      return { kind: 'table', version: r.params.v };
    }
    if (allow.table && (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && r.params.g === 'meta.k8s.io' && (r.params.v === 'v1' || r.params.v === 'v1beta1')) {
      return { kind: 'partial', version: r.params.v };
    }
    if (allow.discovery && as === 'APIGroupDiscoveryList' && r.params.g === 'apidiscovery.k8s.io' && (r.params.v === 'v2' || r.params.v === 'v2beta1')) {
      return { kind: 'discovery', version: r.params.v };
    }
  }
  return { kind: 'unacceptable' };
}
