import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isNftNotFound, NftError } from '../errors.js';
import { FakeNft } from './fake.js';
import { tableStateFromJson } from './json.js';

const BASE = `add table ip t
add set ip t ips { type ipv4_addr; }
add map ip t vm { type ipv4_addr . inet_proto . inet_service : verdict; }
add map ip t eps { typeof ip daddr . tcp dport . numgen random mod 1 : ip daddr . tcp dport; }
add chain ip t pre { type nat hook prerouting priority -100; policy accept; }
add chain ip t svc
add chain ip t lb-2
add rule ip t pre jump svc
add rule ip t svc ip daddr . meta l4proto . th dport vmap @vm
add rule ip t lb-2 meta l4proto tcp dnat ip addr . port to ip daddr . tcp dport . numgen random mod 2 map @eps
add element ip t ips { 10.96.0.1 }
add element ip t vm { 10.96.0.1 . tcp . 80 : goto lb-2 }
add element ip t eps { 10.96.0.1 . 80 . 0 : 10.244.0.2 . 8080, 10.96.0.1 . 80 . 1 : 10.244.0.3 . 8080 }
`;

async function base(): Promise<FakeNft> {
  const nft = new FakeNft();
  await nft.apply(BASE);
  return nft;
}

async function rejects(nft: FakeNft, script: string): Promise<NftError> {
  const before = nft.dump();
  const err = await nft.apply(script).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NftError);
  expect(nft.dump()).toBe(before); // all or nothing
  return err as NftError;
}

describe('FakeNft', () => {
  it('applies a transaction and dumps sorted, stable text', async () => {
    const nft = await base();
    expect(nft.dump()).toMatchInlineSnapshot(`
      "table ip t {
      	map eps {
      		typeof ip daddr . tcp dport . numgen random mod 1 : ip daddr . tcp dport
      		elements = {
      			10.96.0.1 . 80 . 0 : 10.244.0.2 . 8080,
      			10.96.0.1 . 80 . 1 : 10.244.0.3 . 8080,
      		}
      	}
      	set ips {
      		type ipv4_addr
      		elements = {
      			10.96.0.1,
      		}
      	}
      	map vm {
      		type ipv4_addr . inet_proto . inet_service : verdict
      		elements = {
      			10.96.0.1 . tcp . 80 : goto lb-2,
      		}
      	}
      	chain lb-2 {
      		meta l4proto tcp dnat ip addr . port to ip daddr . tcp dport . numgen random mod 2 map @eps
      	}
      	chain pre {
      		type nat hook prerouting priority -100; policy accept;
      		jump svc
      	}
      	chain svc {
      		ip daddr . meta l4proto . th dport vmap @vm
      	}
      }
      "
    `);
  });

  it('keeps the previous state whole when a later statement fails, and names the line', async () => {
    const nft = await base();
    const err = await rejects(nft, 'add element ip t ips { 10.96.0.2 }\nflush map ip t eps\ndelete element ip t ips { 10.96.0.9 }\n');
    expect(err.line).toBe(3);
    expect(err.statement).toBe('delete element ip t ips { 10.96.0.9 }');
    expect(err.errno).toBe('ENOENT');
    expect(isNftNotFound(err)).toBe(true);
    expect(err.stderr).toMatch(/^\/dev\/stdin:3:.*No such file or directory/);
  });

  it('refuses references to missing chains and sets', async () => {
    const nft = await base();
    expect((await rejects(nft, 'add rule ip t svc jump nowhere\n')).errno).toBe('ENOENT');
    expect((await rejects(nft, 'add rule ip t svc ip daddr @nosuch accept\n')).errno).toBe('ENOENT');
    expect((await rejects(nft, 'add element ip t vm { 10.96.0.2 . tcp . 80 : goto nowhere }\n')).errno).toBe('ENOENT');
    expect((await rejects(nft, 'add rule ip nosuch svc accept\n')).errno).toBe('ENOENT');
    expect((await rejects(nft, 'add rule ip t svc jump pre\n')).errno).toBe('EOPNOTSUPP'); // base chain
    // A reference to a chain added earlier in the same transaction is fine; later is not.
    await nft.apply('add chain ip t x\nadd rule ip t svc jump x\n');
    await rejects(nft, 'add rule ip t svc jump y\nadd chain ip t y\n');
  });

  it('checks key arity and datatypes against the declared type or typeof', async () => {
    const nft = await base();
    const e1 = await rejects(nft, 'add element ip t eps { 10.96.0.1 . 80 : 10.244.0.2 . 8080 }\n');
    expect(e1.errno).toBe('EINVAL');
    expect(e1.message).toMatch(/datatype mismatch, expected concatenation of \(IPv4 address, internet network service, integer\)/);
    await rejects(nft, 'add element ip t ips { 10.96.0.300 }\n');
    await rejects(nft, 'add element ip t vm { 10.96.0.1 . tcp . 80 }\n'); // map element without value
    await rejects(nft, 'add rule ip t svc ip daddr . th dport vmap @vm\n'); // key arity
    await rejects(nft, 'add rule ip t svc ip daddr . meta l4proto . th dport @ips accept\n');
    await rejects(nft, 'add rule ip t svc meta l4proto . th dport vmap @eps\n'); // not a verdict map
    await rejects(nft, 'add rule ip t svc ip saddr != 10.0.0.0/40 accept\n');
    await rejects(nft, 'add rule ip t svc meta l4proto bogus accept\n');
  });

  it('refuses a dnat to address and port without an L4 protocol match (nft: conflicting protocols)', async () => {
    const nft = await base();
    await rejects(nft, 'add chain ip t lb-3\nadd rule ip t lb-3 dnat ip addr . port to ip daddr . tcp dport . numgen random mod 3 map @eps\n');
    await rejects(nft, 'add chain ip t lb-3\nadd rule ip t lb-3 meta l4proto udp dnat ip addr . port to ip daddr . tcp dport . numgen random mod 3 map @eps\n');
  });

  it('errs like nft on deleting missing or busy objects and on changing a map value', async () => {
    const nft = await base();
    expect((await rejects(nft, 'delete chain ip t nosuch\n')).errno).toBe('ENOENT');
    expect((await rejects(nft, 'delete set ip t nosuch\n')).errno).toBe('ENOENT');
    expect((await rejects(nft, 'delete table ip nosuch\n')).errno).toBe('ENOENT');
    expect((await rejects(nft, 'delete chain ip t svc\n')).errno).toBe('EBUSY'); // jumped to from pre
    expect((await rejects(nft, 'delete chain ip t lb-2\n')).errno).toBe('EBUSY'); // vm element points at it
    expect((await rejects(nft, 'delete map ip t eps\n')).errno).toBe('EBUSY'); // used by a rule
    expect((await rejects(nft, 'add element ip t vm { 10.96.0.1 . tcp . 80 : goto svc }\n')).errno).toBe('EEXIST');
    expect((await rejects(nft, 'add set ip t ips { type inet_service; }\n')).errno).toBe('EEXIST');
    // Same element again, same set again: no-ops, as in nft.
    await nft.apply('add element ip t vm { 10.96.0.1 . tcp . 80 : goto lb-2 }\nadd set ip t ips { type ipv4_addr; }\n');
    // Deleting an unreferenced chain drops its rules with it (the kernel does).
    await nft.apply('delete element ip t vm { 10.96.0.1 . tcp . 80 }\ndelete chain ip t lb-2\n');
    expect(nft.table('ip', 't')!.chains.has('lb-2')).toBe(false);
  });

  it('validates hooks at commit: nat statements only where the kernel allows them, no loops', async () => {
    const nft = await base();
    const masq = await rejects(nft, 'add chain ip t m\nadd rule ip t m masquerade\nadd rule ip t svc jump m\n');
    expect(masq.errno).toBe('EOPNOTSUPP');
    await rejects(nft, 'add chain ip t f { type filter hook forward priority 0; policy accept; }\nadd rule ip t f jump svc\n');
    await rejects(nft, 'add chain ip t a\nadd chain ip t b\nadd rule ip t a jump b\nadd rule ip t b jump a\nadd rule ip t svc jump a\n');
    await rejects(nft, 'add chain ip t r\nadd rule ip t r reject\nadd chain ip t post { type nat hook postrouting priority 100; policy accept; }\nadd rule ip t post jump r\n');
  });

  it('check mode validates without committing', async () => {
    const nft = await base();
    const before = nft.dump();
    await nft.apply('add element ip t ips { 10.96.0.7 }\n', { check: true });
    expect(nft.dump()).toBe(before);
    await expect(nft.apply('delete element ip t ips { 10.96.0.7 }\n', { check: true })).rejects.toBeInstanceOf(NftError);
  });

  it('can be told to fail the next apply', async () => {
    const nft = await base();
    nft.failNextApply();
    await expect(nft.apply('add element ip t ips { 10.96.0.8 }\n')).rejects.toBeInstanceOf(NftError);
    await nft.apply('add element ip t ips { 10.96.0.8 }\n');
    expect(nft.table('ip', 't')!.sets.get('ips')!.elements.has('10.96.0.8')).toBe(true);
  });

  it('lists itself in the JSON shape of nft 1.0.6, parsed the same as the real listing', async () => {
    const dir = new URL('../testdata/', import.meta.url);
    const nft = new FakeNft();
    await nft.apply(readFileSync(new URL('list-fixture-tx1.nft', dir), 'utf8'));
    await nft.apply(readFileSync(new URL('list-fixture-tx2.nft', dir), 'utf8'));
    const real = tableStateFromJson(JSON.parse(readFileSync(new URL('nft-1.0.6-list-table.json', dir), 'utf8')), 'ip', 'skiff');
    const fake = await nft.listTable('ip', 'skiff');
    // Handles are the kernel's (and the fake's) own numbering; everything else must match.
    expect({ ...fake, handles: undefined }).toEqual({ ...real, handles: undefined });
    expect([...fake!.handles!.chains.keys()].sort()).toEqual([...real.handles!.chains.keys()].sort());
    expect(real.elements.get('service-ips')!.get('10.96.0.10 . udp . 53')).toBe('goto lb-9');
    expect(real.chains.get('nat-output')!.base).toEqual({ type: 'nat', hook: 'output', priority: -100, policy: 'accept' });
    expect(real.chains.get('services')!.ruleHashes.every((h) => /^[0-9a-f]{8}$/.test(h ?? ''))).toBe(true);
    expect(await nft.listTable('ip', 'missing')).toBeNull();
  });
});
