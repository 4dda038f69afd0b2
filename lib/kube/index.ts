/**
 * Kubernetes API client library: the {@link KubeClient} contract, resource descriptors,
 * API errors, selectors, kubeconfig loading, the HTTP client, informers and the work queue.
 */
export * from './client.js';
export * from './resources.js';
export * from './errors.js';
export * from './selectors.js';
export * from './kubeconfig.js';
export * from './rate-limiter.js';
export { RestClient, ApiConnectionError, isConnectionError, type RestClientOptions } from './rest-client.js';
export { Informer, type InformerHandlers, type InformerOptions } from './informer.js';
export { WorkQueue, runWorkers, DEFAULT_RETRY_POLICY } from './workqueue.js';
export { TokenReviews, SubjectAccessReviews } from './review-resources.js';
export { computePodQos, type QOSClass, type QosQuantityFn } from './qos.js';
export { ApiEventRecorder, MemoryEventRecorder, referenceOf, type EventRecorder, type EventType, type RecorderOptions } from './event-recorder.js';
