/**
 * Where `skiff up` keeps everything: one state directory holding containerd, the control
 * plane, the agent, logs and the record of the running cluster.
 */
import { join } from 'node:path';

/** Paths of a one-node cluster under its state directory. */
export interface UpLayout {
  stateDir: string;
  /** containerd's own state dir (kept short for the socket path). */
  containerdDir: string;
  controlPlaneDir: string;
  /** The agent's `--root-dir`. */
  agentDir: string;
  agentConfig: string;
  nodeKubeconfig: string;
  adminKubeconfig: string;
  /** Component logs (`control-plane.log`, `agent.log`; containerd logs in its own dir). */
  logsDir: string;
  /** The agent's `podLogsDir`. */
  podLogsDir: string;
  /** JSON record of the running cluster (`UpRecord`). */
  recordFile: string;
}

/** Default state directory of `skiff up`. */
export const DEFAULT_STATE_DIR = '/var/lib/skiff';

/** The layout under `stateDir`. */
export function upLayout(stateDir: string): UpLayout {
  return {
    stateDir,
    containerdDir: join(stateDir, 'containerd'),
    controlPlaneDir: join(stateDir, 'control-plane'),
    agentDir: join(stateDir, 'agent'),
    agentConfig: join(stateDir, 'agent', 'config.yaml'),
    nodeKubeconfig: join(stateDir, 'agent', 'kubelet.conf'),
    adminKubeconfig: join(stateDir, 'control-plane', 'admin.conf'),
    logsDir: join(stateDir, 'logs'),
    podLogsDir: join(stateDir, 'logs', 'pods'),
    recordFile: join(stateDir, 'up.json'),
  };
}

/** What `skiff up` writes about the running cluster, for `skiff down`, tests and users. */
export interface UpRecord {
  /** PID of the `skiff up` supervisor. */
  pid: number;
  nodeName: string;
  nodeIP: string;
  server: string;
  adminKubeconfig: string;
  /** Current PIDs of the supervised processes (they change on restart). */
  pids: { containerd?: number; controlPlane?: number; agent?: number };
  /** nft tables that existed before `skiff up` (teardown never touches them). */
  tablesBefore: string[];
  /** Set once the node is Ready. */
  ready: boolean;
  startedAt: string;
}
