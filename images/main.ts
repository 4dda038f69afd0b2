/**
 * `skiff images …`: build Skiff's offline images and import them into a containerd.
 *
 *   skiff images build  [--out DIR] [--cache-dir DIR] [--force] [--only busybox|pause]
 *   skiff images import --address SOCK [--namespace NS] [--cache-dir DIR] [--only …]
 *
 * `build` prints one line per image: `<ref>\t<archive>\tsha256:<hex>\t<built|cached>`.
 */
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../lib/log.js';
import { errorMessage } from '../lib/errors.js';
import { ALL_IMAGES, buildImages, type ImageName } from './build.js';
import { importImages } from './import.js';

const USAGE = `usage:
  skiff images build  [--out DIR] [--cache-dir DIR] [--force] [--only busybox|pause]
  skiff images import --address SOCK [--namespace NS] [--cache-dir DIR] [--only busybox|pause]`;

/** Streams and logger for {@link main}; the defaults are the process's. */
export interface ImagesCliIo {
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  logger?: Logger;
}

/**
 * Runs `skiff images` with `argv` being the arguments after `images` (e.g.
 * `['build', '--out', 'dist/images']`). Resolves to the process exit code: 0 on success,
 * 1 on failure, 2 on a usage error.
 */
export async function main(argv: readonly string[], io: ImagesCliIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((l: string) => void process.stdout.write(`${l}\n`));
  const stderr = io.stderr ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const [command, ...rest] = argv;
  let values: { out?: string; 'cache-dir'?: string; force?: boolean; only?: string[]; address?: string; namespace?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        out: { type: 'string' },
        'cache-dir': { type: 'string' },
        force: { type: 'boolean' },
        only: { type: 'string', multiple: true },
        address: { type: 'string' },
        namespace: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    stderr(`skiff images: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help || command === 'help' || command === '--help' || command === '-h') {
    stdout(USAGE);
    return 0;
  }
  const only = values.only as ImageName[] | undefined;
  if (only?.some((n) => !ALL_IMAGES.includes(n))) {
    stderr(`skiff images: --only takes ${ALL_IMAGES.join(' or ')}\n${USAGE}`);
    return 2;
  }
  const logger = io.logger ?? createLogger({ base: { component: 'images' } });
  try {
    if (command === 'build') {
      const built = await buildImages({ outDir: values.out, cacheDir: values['cache-dir'], force: values.force, images: only, logger });
      for (const b of built) stdout(`${b.ref}\t${b.archive}\tsha256:${b.sha256}\t${b.cached ? 'cached' : 'built'}`);
      return 0;
    }
    if (command === 'import') {
      if (!values.address) {
        stderr(`skiff images import: --address is required\n${USAGE}`);
        return 2;
      }
      const done = await importImages({ address: values.address, namespace: values.namespace, cacheDir: values['cache-dir'], images: only, logger });
      for (const d of done) stdout(`${d.ref}\timported`);
      return 0;
    }
    stderr(`skiff images: unknown command ${command === undefined ? '(none)' : JSON.stringify(command)}\n${USAGE}`);
    return 2;
  } catch (err) {
    stderr(`skiff images ${command}: ${errorMessage(err)}`);
    return 1;
  }
}
