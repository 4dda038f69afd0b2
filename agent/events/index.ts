/** Kubernetes Events emitted by the agent. */
export { ApiEventRecorder, MemoryEventRecorder, referenceOf, type EventRecorder, type EventType, type RecorderOptions } from './recorder.js';
