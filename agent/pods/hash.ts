/**
 * The container spec hash (`io.kubernetes.container.hash`), as kubelet 1.32's
 * `HashContainer`: FNV-32a over the JSON of the fields whose change must restart the
 * container. Since 1.31 those are only `name` and `image` (the only mutable field of a
 * container spec is its image), so a kubelet upgrade does not restart every container.
 */
import type { Container } from 'kubernetes-types/core/v1.js';

/** FNV-1a, 32 bit. */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The hash of a container spec, in lower-case hex as kubelet writes it. */
export function hashContainer(container: Pick<Container, 'name' | 'image'>): string {
  // Go marshals a map with sorted keys: {"image":…,"name":…}.
  return fnv32a(JSON.stringify({ image: container.image ?? '', name: container.name })).toString(16);
}
