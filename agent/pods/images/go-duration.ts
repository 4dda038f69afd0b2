/** Go's `time.Duration.String()`, as kubelet's Event messages print durations; one home in lib/units. */
export { formatDuration as formatGoDuration } from '../../../lib/units/duration.js';
