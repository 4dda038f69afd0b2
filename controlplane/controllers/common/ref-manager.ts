/**
 * Adoption and release of dependents (kube's `BaseControllerRefManager.ClaimObject`,
 * `pkg/controller/controller_ref_manager.go`): a controller claims the objects its selector
 * matches that have no controller, and releases the ones it owns that no longer match.
 */
import type { KubeClient, KubeObject } from '../../../lib/kube/client.js';
import { isApiNotFound, isInvalid } from '../../../lib/kube/errors.js';
import type { ResourceType } from '../../../lib/kube/resources.js';
import type { Selector } from '../../../lib/kube/selectors.js';
import type { Logger } from '../../../lib/log.js';
import { errorMessage } from '../../../lib/errors.js';
import { controllerOf, newControllerRef } from './owners.js';
import { ControllerError } from './errors.js';

/** What a claim needs to know. */
export interface ClaimOptions<T extends KubeObject> {
  client: KubeClient;
  logger: Logger;
  /** The controller object (a ReplicaSet, a Deployment). */
  owner: KubeObject;
  ownerType: ResourceType;
  /** The dependents' resource type. */
  type: ResourceType;
  selector: Selector;
  /** Candidate dependents, from the cache (never mutated). */
  objects: readonly T[];
  /**
   * Rechecks, against the API rather than the cache, that the owner still exists with the
   * same UID and is not being deleted (`RecheckDeletionTimestamp`); throws otherwise.
   */
  canAdopt: () => Promise<void>;
}

/**
 * Returns the objects the owner controls after adopting matching orphans and releasing owned
 * objects that stopped matching. Errors of individual adoptions are collected and thrown
 * after every object was considered (kube aggregates them the same way).
 */
export async function claimObjects<T extends KubeObject>(o: ClaimOptions<T>): Promise<T[]> {
  const ownerUid = o.owner.metadata?.uid;
  const ownerDeleting = !!o.owner.metadata?.deletionTimestamp;
  const claimed: T[] = [];
  const errors: unknown[] = [];
  let adoptCheck: Promise<void> | undefined;
  for (const obj of o.objects) {
    const match = o.selector.matches(obj.metadata?.labels);
    const ref = controllerOf(obj);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (match) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      try {
        await release(o, obj);
      } catch (err) {
        if (!isApiNotFound(err) && !isInvalid(err)) errors.push(err);
      }
      continue;
    }
    if (ownerDeleting || !match || obj.metadata?.deletionTimestamp) continue;
    if (o.owner.metadata?.namespace && o.owner.metadata.namespace !== obj.metadata?.namespace) continue;
    try {
      adoptCheck ??= o.canAdopt();
      await adoptCheck;
      const adopted = await adopt(o, obj);
      claimed.push(adopted);
    } catch (err) {
      if (!isApiNotFound(err)) errors.push(err);
    }
  }
  if (errors.length) {
    throw new ControllerError('SKIFF_CLAIM_FAILED', `claiming ${o.type.resource} failed: ${errors.map(errorMessage).join('; ')}`, { cause: errors[0] });
  }
  return claimed;
}

async function adopt<T extends KubeObject>(o: ClaimOptions<T>, obj: T): Promise<T> {
  const ref = newControllerRef(o.owner, o.ownerType);
  o.logger.info({ kind: o.type.kind, object: `${obj.metadata?.namespace}/${obj.metadata?.name}`, owner: o.owner.metadata?.name }, 'adopting');
  // Strategic merge on ownerReferences (merge key uid), with the dependent's UID as a
  // precondition, exactly as kube's ClaimObject patch.
  const patch = { metadata: { ownerReferences: [ref], uid: obj.metadata?.uid } };
  return o.client.patch<T>(o.type, obj.metadata?.namespace, obj.metadata?.name ?? '', 'strategic', patch);
}

async function release<T extends KubeObject>(o: ClaimOptions<T>, obj: T): Promise<void> {
  o.logger.info({ kind: o.type.kind, object: `${obj.metadata?.namespace}/${obj.metadata?.name}`, owner: o.owner.metadata?.name }, 'releasing');
  const patch = { metadata: { ownerReferences: [{ $patch: 'delete', uid: o.owner.metadata?.uid }], uid: obj.metadata?.uid } };
  await o.client.patch(o.type, obj.metadata?.namespace, obj.metadata?.name ?? '', 'strategic', patch);
}

/**
 * `RecheckDeletionTimestamp`: fetches the owner from the API and throws when it is gone,
 * replaced (other UID) or being deleted.
 */
export async function recheckOwner(client: KubeClient, type: ResourceType, owner: KubeObject): Promise<void> {
  const fresh = await client.get(type, owner.metadata?.namespace, owner.metadata?.name ?? '');
  if (fresh.metadata?.uid !== owner.metadata?.uid) {
    throw new ControllerError(
      'SKIFF_OWNER_GONE',
      `original ${type.kind} ${owner.metadata?.namespace}/${owner.metadata?.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${owner.metadata?.uid}`,
    );
  }
  if (fresh.metadata?.deletionTimestamp) {
    throw new ControllerError(
      'SKIFF_OWNER_DELETING',
      `${owner.metadata?.namespace}/${owner.metadata?.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`,
    );
  }
}
