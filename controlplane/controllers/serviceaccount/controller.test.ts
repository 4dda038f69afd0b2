import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceAccount } from 'kubernetes-types/core/v1.js';
import { Namespaces, ServiceAccounts } from '../../../lib/kube/resources.js';
import { settle, startHarness, waitFor, type Harness } from '../testing/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('serviceaccount controller', () => {
  it('ensures the default ServiceAccount in every active namespace', async () => {
    h = await startHarness({ controllers: ['serviceaccount'] });
    for (const ns of ['default', 'kube-system']) await waitFor(`${ns}/default`, () => h!.client.get<ServiceAccount>(ServiceAccounts, ns, 'default'));
    await h.client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    const sa = await waitFor('team/default', () => h!.client.get<ServiceAccount>(ServiceAccounts, 'team', 'default').catch(() => undefined));
    await h.client.delete(ServiceAccounts, 'team', 'default');
    const again = await waitFor('recreated', async () => {
      const x = await h!.client.get<ServiceAccount>(ServiceAccounts, 'team', 'default').catch(() => undefined);
      return x && x.metadata?.uid !== sa.metadata?.uid ? x : undefined;
    });
    expect(again.metadata?.name).toBe('default');
  });

  it('does not create accounts in a terminating namespace', async () => {
    h = await startHarness({ controllers: ['serviceaccount'] });
    await h.client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone' } });
    await waitFor('gone/default', () => h!.client.get<ServiceAccount>(ServiceAccounts, 'gone', 'default').catch(() => undefined));
    await h.client.delete(Namespaces, undefined, 'gone');
    await h.client.delete(ServiceAccounts, 'gone', 'default');
    await settle(30);
    expect(await h.client.get(ServiceAccounts, 'gone', 'default').catch(() => undefined)).toBeUndefined();
  });
});
