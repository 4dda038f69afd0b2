/**
 * Image names as kubelet handles them before asking the runtime: the default tag is applied
 * (`busybox` → `busybox:latest`; kubelet's `applyDefaultImageTag`), and the registry host is
 * found for credential lookup. Normalising `docker.io/library/` is the runtime's business.
 */
import { ImageError } from './errors.js';

const REF_RE = /^(?:(?<host>[a-zA-Z0-9.-]+(?::\d+)?|localhost)\/)?(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}))?$/;

/** Parts of an image reference. */
export interface ParsedImage {
  /** Registry host, `docker.io` when the reference names none. */
  host: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** Parses `image`; returns undefined when it is not a valid reference. */
export function parseImage(image: string): ParsedImage | undefined {
  const m = REF_RE.exec(image);
  if (!m?.groups) return undefined;
  let { host, path } = m.groups as { host?: string; path: string };
  // A first component without '.', ':' or 'localhost' is a path component, not a host.
  if (host && !host.includes('.') && !host.includes(':') && host !== 'localhost') {
    path = `${host}/${path}`;
    host = undefined;
  }
  return { host: host ?? 'docker.io', path, tag: m.groups.tag, digest: m.groups.digest };
}

/** `applyDefaultImageTag`: adds `:latest` when the reference has neither tag nor digest. */
export function applyDefaultImageTag(image: string): string {
  const p = parseImage(image);
  if (!p) {
    throw new ImageError('InvalidImageName', `Failed to apply default image tag ${JSON.stringify(image)}: couldn't parse image name ${JSON.stringify(image)}: invalid reference format`);
  }
  if (!p.tag && !p.digest) return `${image}:latest`;
  return image;
}

/** The policy the API would have defaulted: `Always` for `:latest` (or no tag), else `IfNotPresent`. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const p = parseImage(image);
  if (!p) return 'IfNotPresent';
  return !p.digest && (!p.tag || p.tag === 'latest') ? 'Always' : 'IfNotPresent';
}
