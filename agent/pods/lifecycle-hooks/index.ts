/**
 * Container lifecycle hooks (postStart, preStop): exec, httpGet and sleep handlers with
 * kubelet's failure messages.
 *
 * Code outside `agent/pods/lifecycle-hooks/` imports from here only.
 */
export { runHandler, formatPod, LifecycleHookError, type HandlerContext } from './run.js';
