/** Kubernetes Events emitted by the agent; the recorder lives in lib/kube (shared with the control plane). */
export { ApiEventRecorder, MemoryEventRecorder, referenceOf, type EventRecorder, type EventType, type RecorderOptions } from '../../lib/kube/event-recorder.js';
