/**
 * Pods from a controller's template (`controller.GetPodFromTemplate`).
 */
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';

/**
 * A new pod from `template` in `namespace`, named by the apiserver from `<ownerName>-`, with
 * the template's labels, annotations and finalizers and `ref` as its controller reference.
 */
export function podFromTemplate(template: PodTemplateSpec | undefined, namespace: string, ownerName: string, ref: OwnerReference): Pod {
  const meta = template?.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ownerName}-`,
      namespace,
      ownerReferences: [ref],
    },
    spec: structuredClone(template?.spec ?? { containers: [] }),
  };
  if (meta.labels) pod.metadata!.labels = { ...meta.labels };
  if (meta.annotations) pod.metadata!.annotations = { ...meta.annotations };
  if (meta.finalizers) pod.metadata!.finalizers = [...meta.finalizers];
  return pod;
}
