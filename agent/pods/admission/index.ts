/**
 * Pod admission: kubelet's `canAdmitPod` predicates (resources, node affinity, node name,
 * host ports, NoExecute taints, OS). Rejected pods are set Failed by the caller with the
 * returned reason and message.
 *
 * Code outside `agent/pods/admission/` imports from here only.
 */
export { admitPod, matchesNodeAffinity, toleratesTaint, type AdmitResult, type AdmitContext } from './admit.js';
