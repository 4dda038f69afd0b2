/**
 * The in-memory runtime for tests: an honest {@link FakeRuntime} with containerd's semantics,
 * call counters and fault injection, plus the image reference normalisation it shares with
 * containerd.
 */
export {
  FakeRuntime,
  defaultBehaviour,
  type FakeCall,
  type FakeImageSpec,
  type FakeProcessBehaviour,
  type FakeRuntimeMethod,
  type FakeRuntimeOptions,
} from './fake-runtime.js';
export { normalizeImageRef, parseImageReference, formatImageReference, type ImageReference } from './image-ref.js';
