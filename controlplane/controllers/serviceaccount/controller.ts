/**
 * The ServiceAccount controller (kube's `pkg/controller/serviceaccount`): the `default`
 * ServiceAccount exists in every active namespace, recreated if deleted.
 */
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { isAlreadyExists, isApiNotFound } from '../../../lib/kube/errors.js';
import { isNamespaceTerminating } from '../common/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Namespaces, ServiceAccounts } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import { QueueWorker } from '../common/worker.js';

/** Accounts every namespace gets. */
export const ACCOUNTS_TO_ENSURE = ['default'] as const;

/** Ensures the `default` ServiceAccount. */
export class ServiceAccountController implements Controller {
  readonly name = 'serviceaccount';
  private readonly namespaces: Informer<Namespace>;
  private readonly accounts: Informer<ServiceAccount>;
  private readonly worker: QueueWorker;
  private readonly log: Logger;

  constructor(private readonly ctx: ControllerContext, opts: { workers?: number } = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.namespaces = ctx.informers.informerFor<Namespace>(Namespaces);
    this.accounts = ctx.informers.informerFor<ServiceAccount>(ServiceAccounts);
    this.worker = new QueueWorker({ clock: ctx.clock, logger: this.log, workers: opts.workers ?? 1, sync: (k) => this.sync(k) });
    const onNs = (ns: Namespace): void => this.worker.queue.add(ns.metadata?.name ?? '');
    this.namespaces.addHandler({ onAdd: onNs, onUpdate: (_o, n) => onNs(n) });
    this.accounts.addHandler({
      onDelete: (sa) => {
        if ((ACCOUNTS_TO_ENSURE as readonly string[]).includes(sa.metadata?.name ?? '')) this.worker.queue.add(sa.metadata?.namespace ?? '');
      },
    });
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  private async sync(ns: string): Promise<void> {
    const namespace = this.namespaces.get(ns);
    if (!namespace || namespace.metadata?.deletionTimestamp || (namespace.status?.phase ?? 'Active') !== 'Active') return;
    for (const name of ACCOUNTS_TO_ENSURE) {
      if (this.accounts.get(`${ns}/${name}`)) continue;
      try {
        await this.ctx.client.create<ServiceAccount>(ServiceAccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
        this.log.debug({ namespace: ns, name }, 'created service account');
      } catch (err) {
        if (isAlreadyExists(err) || isApiNotFound(err) || isNamespaceTerminating(err)) continue;
        throw err;
      }
    }
  }
}
