/**
 * `skiff`: one binary, several roles, each loaded only when asked for.
 *
 *   skiff up              one-node cluster on this host (containerd + control plane + agent)
 *   skiff down            stop it and remove everything it created
 *   skiff agent           the node agent (kubelet + kube-proxy); kubelet-style flags
 *   skiff control-plane   the companion apiserver, scheduler and controllers
 *   skiff images          build and import the offline images (busybox, pause)
 */
import { createLogger } from '../lib/log.js';
import { errorMessage } from '../lib/errors.js';

const USAGE = `usage: skiff <command> [flags]

commands:
  up              start a one-node cluster on this host (containerd, control plane, agent)
  down            stop the cluster started by 'skiff up' and remove what it created
  agent           run the node agent (kubelet + kube-proxy); takes kubelet flags
  control-plane   run the companion control plane (apiserver, scheduler, controllers)
  images          build/import the offline images (busybox:1.29, pause)
  version         print the version
`;

type Entry = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Entry>> = {
  up: async () => (await import('../cluster/up.js')).upMain,
  down: async () => (await import('../cluster/up.js')).downMain,
  agent: async () => (await import('../agent/main.js')).main,
  'control-plane': async () => {
    const { runControlPlane } = await import('../controlplane/main.js');
    return (argv) => runControlPlane(argv, { logger: createLogger({ base: { component: 'control-plane' } }) });
  },
  images: async () => (await import('../images/main.js')).main,
};

async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === 'version' || cmd === '--version') {
    process.stdout.write('skiff v0.1.0 (kubelet-compatible; kubernetes v1.32 API)\n');
    return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`skiff: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
    return 2;
  }
  const entry = await load();
  return entry(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const log = createLogger({ base: { component: 'skiff' } });
    log.fatal({ err: errorMessage(err) }, 'fatal');
    process.stderr.write(`skiff: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
