/**
 * kubectl inside a test network namespace, as the admin of a control plane that the test
 * starts later (in `beforeAll`): the namespace and kubeconfig are looked up on every call.
 */
import type { TestNetns } from './netns.js';

/** Options of one kubectl call. */
export interface KubectlCallOptions {
  /** Written to kubectl's stdin (e.g. for `apply -f -`). */
  input?: string;
  /** Overrides the default timeout of the {@link NetnsKubectl}. */
  timeoutMs?: number;
}

/** kubectl bound to one namespace and kubeconfig. */
export interface NetnsKubectl {
  /** Runs kubectl; resolves stdout, rejects on a non-zero exit. */
  kubectl(args: string[], opts?: KubectlCallOptions): Promise<string>;
  /** `kubectl … -o json`, parsed. */
  kubectlJson<T>(args: string[]): Promise<T>;
}

/** Where kubectl runs and as whom. */
export interface KubectlTarget {
  ns: TestNetns;
  /** Passed as `--kubeconfig=<file>`. */
  kubeconfig: string;
}

/**
 * kubectl run with `ns.exec` and `--kubeconfig=<file>`, `target()` being called on every call;
 * `defaultTimeoutMs` applies when a call gives no timeout.
 */
export function netnsKubectl(target: () => KubectlTarget, defaultTimeoutMs: number): NetnsKubectl {
  const kubectl = async (args: string[], opts?: KubectlCallOptions): Promise<string> => {
    const t = target();
    return t.ns.exec('kubectl', [`--kubeconfig=${t.kubeconfig}`, ...args], { timeoutMs: opts?.timeoutMs ?? defaultTimeoutMs, input: opts?.input });
  };
  return {
    kubectl,
    kubectlJson: async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T,
  };
}
