/**
 * Docker-style image reference normalisation, as containerd's CRI plugin applies it
 * (`docker.io/distribution/reference.ParseNormalizedNamed` + default tag): `busybox` is
 * `docker.io/library/busybox:latest`, `foo/bar:1` is `docker.io/foo/bar:1`, a reference
 * whose first component looks like a host (`registry.k8s.io/pause:3.6`) keeps it.
 */

/** Parts of a normalised reference. */
export interface ImageReference {
  /** `docker.io/library/busybox` */
  repository: string;
  /** `1.29`, or undefined when the reference is by digest only. */
  tag?: string;
  /** `sha256:…` when the reference carries one. */
  digest?: string;
}

const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const NAME_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** Parses and normalises `ref`; returns undefined when it is not a valid reference. */
export function parseImageReference(ref: string): ImageReference | undefined {
  if (!ref || ref !== ref.trim()) return undefined;
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return undefined;
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost' || parts[0] !== parts[0].toLowerCase())) {
    domain = parts.shift()!;
  }
  if (parts.length === 0) return undefined;
  for (const p of parts) if (!NAME_COMPONENT_RE.test(p)) return undefined;
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library');
  if (!tag && !digest) tag = 'latest';
  return { repository: `${domain}/${parts.join('/')}`, tag, digest };
}

/** The canonical string of a reference: `docker.io/library/busybox:1.29` (or `…@sha256:…`). */
export function formatImageReference(r: ImageReference): string {
  if (r.digest) return `${r.repository}${r.tag ? `:${r.tag}` : ''}@${r.digest}`;
  return `${r.repository}:${r.tag ?? 'latest'}`;
}

/** Normalises `ref`, or returns it unchanged when it does not parse. */
export function normalizeImageRef(ref: string): string {
  const r = parseImageReference(ref);
  return r ? formatImageReference(r) : ref;
}
