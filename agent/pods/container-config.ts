/**
 * The `ContainerConfig` of one container (kubelet's `generateContainerConfig`): metadata
 * with the restart count as attempt, the resolved image, command and args expanded against
 * the final environment, working dir, env, mounts, labels and annotations, the log path
 * `<name>/<restartCount>.log`, tty/stdin, and the Linux resources and security context.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { ContainerConfig, KeyValue, LinuxContainerResources, Mount } from '../runtime/index.js';
import { expandCommandAndArgs } from './expansion.js';
import { hashContainer } from './hash.js';
import { containerAnnotations, containerLabels, type ContainerType } from './labels.js';
import { containerSecurityContext } from './security-context.js';

/** `<container>/<restartCount>.log`, relative to the sandbox's log directory. */
export function containerLogPath(name: string, restartCount: number): string {
  return `${name}/${restartCount}.log`;
}

/** Inputs of {@link generateContainerConfig}. */
export interface ContainerConfigInput {
  pod: Pod;
  container: Container;
  type: ContainerType;
  restartCount: number;
  /** The image reference the image manager resolved (`imageRef`). */
  imageRef: string;
  envs: KeyValue[];
  mounts: Mount[];
  resources?: LinuxContainerResources;
}

/** Builds the container config. */
export function generateContainerConfig(i: ContainerConfigInput): ContainerConfig {
  const { pod, container } = i;
  const { command, args } = expandCommandAndArgs(container.command, container.args, i.envs);
  const cfg: ContainerConfig = {
    metadata: { name: container.name, attempt: i.restartCount },
    image: { image: i.imageRef, annotations: {} },
    labels: containerLabels(pod, container),
    annotations: containerAnnotations({ pod, container, type: i.type, restartCount: i.restartCount, hash: hashContainer(container) }),
    logPath: containerLogPath(container.name, i.restartCount),
    envs: i.envs,
    mounts: i.mounts,
    stdin: container.stdin ?? false,
    stdinOnce: container.stdinOnce ?? false,
    tty: container.tty ?? false,
    linux: { securityContext: containerSecurityContext(pod, container) },
  };
  if (command?.length) cfg.command = command;
  if (args?.length) cfg.args = args;
  if (container.workingDir) cfg.workingDir = container.workingDir;
  if (i.resources) cfg.linux!.resources = i.resources;
  return cfg;
}
