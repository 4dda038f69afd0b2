/**
 * The kubelet API's routes (`pkg/kubelet/server/server.go`), matched on decoded path
 * segments as go-restful's path parameters are (a parameter never spans a `/`).
 */

/** A matched route. */
export type Route =
  | { kind: 'pods' }
  | { kind: 'containerLogs'; namespace: string; pod: string; container: string }
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string }
  | { kind: 'metrics' }
  | { kind: 'metricsResource' }
  | { kind: 'statsSummary' };

/** Methods each route answers (others get 405). */
export const ROUTE_METHODS: Readonly<Record<Route['kind'], readonly string[]>> = Object.freeze({
  pods: ['GET', 'HEAD'],
  containerLogs: ['GET', 'HEAD'],
  exec: ['GET', 'POST'],
  attach: ['GET', 'POST'],
  portForward: ['GET', 'POST'],
  metrics: ['GET', 'HEAD'],
  metricsResource: ['GET', 'HEAD'],
  statsSummary: ['GET', 'HEAD', 'POST'],
});

/** Matches a request path; undefined for 404. Throws nothing (bad escapes are a 404). */
export function matchRoute(path: string): Route | undefined {
  let seg: string[];
  try {
    seg = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (seg.length > 1 && seg[seg.length - 1] === '') seg = seg.slice(0, -1);
  if (seg.some((s) => s === '')) return undefined;
  const [head, ...rest] = seg;
  switch (head) {
    case 'pods':
      return rest.length === 0 ? { kind: 'pods' } : undefined;
    case 'containerLogs':
      return rest.length === 3 ? { kind: 'containerLogs', namespace: rest[0], pod: rest[1], container: rest[2] } : undefined;
    case 'exec':
    case 'attach':
      if (rest.length === 3) return { kind: head, namespace: rest[0], pod: rest[1], container: rest[2] };
      if (rest.length === 4) return { kind: head, namespace: rest[0], pod: rest[1], uid: rest[2], container: rest[3] };
      return undefined;
    case 'portForward':
      if (rest.length === 2) return { kind: 'portForward', namespace: rest[0], pod: rest[1] };
      if (rest.length === 3) return { kind: 'portForward', namespace: rest[0], pod: rest[1], uid: rest[2] };
      return undefined;
    case 'metrics':
      if (rest.length === 0) return { kind: 'metrics' };
      if (rest.length === 1 && rest[0] === 'resource') return { kind: 'metricsResource' };
      return undefined;
    case 'stats':
      return rest.length === 1 && rest[0] === 'summary' ? { kind: 'statsSummary' } : undefined;
    default:
      return undefined;
  }
}
