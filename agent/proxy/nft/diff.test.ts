import { describe, expect, it } from 'vitest';
import { diffTable, naturalCompare } from './diff.js';
import { FakeNft } from './fake.js';
import { defineSet, stateOf, type Structure } from './ruleset.js';

function structure(extraChain = false): Structure {
  return {
    family: 'ip',
    table: 't',
    sets: [defineSet('map', 'vm', '{ type ipv4_addr : verdict; }'), defineSet('set', 's', '{ type ipv4_addr; }')],
    chains: [
      { name: 'in', base: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' }, rules: ['ip daddr vmap @vm'] },
      { name: 'a', rules: ['ip saddr @s accept'] },
      ...(extraChain ? [{ name: 'b', rules: ['drop'] }] : []),
    ],
  };
}

const els = (entries: Record<string, Record<string, string>>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, new Map(Object.entries(v))]));

describe('diffTable', () => {
  it('creates everything in dependency order when the table is unknown, and applies cleanly', async () => {
    const tx = diffTable(structure(true), els({ vm: { '1.1.1.1': 'goto b', '1.1.1.2': 'jump a' }, s: { '2.2.2.2': '' } }), null);
    expect(tx.text).toMatchInlineSnapshot(`
      "add table ip t
      add map ip t vm { type ipv4_addr : verdict; }
      add set ip t s { type ipv4_addr; }
      add chain ip t in { type filter hook input priority 0; policy accept; }
      add chain ip t a
      add chain ip t b
      add rule ip t in ip daddr vmap @vm comment "r:baa997b7"
      add rule ip t a ip saddr @s accept comment "r:12f67726"
      add rule ip t b drop comment "r:d90ee9cc"
      add element ip t vm { 1.1.1.1 : goto b, 1.1.1.2 : jump a }
      add element ip t s { 2.2.2.2 }
      "
    `);
    const nft = new FakeNft();
    await nft.apply(tx.text);
  });

  it('with a scope, compares only the touched keys against their recorded values; without, everything', () => {
    const s = structure();
    const applied = stateOf(s, els({ vm: { '1.1.1.1': 'jump a' }, s: { '2.2.2.2': '', '3.3.3.3': '' } }));
    const want = els({ vm: { '1.1.1.1': 'jump a' }, s: { '2.2.2.2': '', '4.4.4.4': '' } });
    const scoped = diffTable(s, want, applied, { scope: new Map([['s', new Map([['4.4.4.4', undefined]])]]) });
    expect(scoped.text).toBe('add element ip t s { 4.4.4.4 }\n');
    const full = diffTable(s, want, applied);
    expect(full.text).toBe('delete element ip t s { 3.3.3.3 }\nadd element ip t s { 4.4.4.4 }\n');
    expect(full.structural).toBe(false);
  });

  it('removes a chain after the elements that point at it, and the transaction applies', async () => {
    const nft = new FakeNft();
    const before = els({ vm: { '1.1.1.1': 'goto b' }, s: {} });
    await nft.apply(diffTable(structure(true), before, null).text);
    const after = els({ vm: { '1.1.1.1': 'goto a' }, s: {} });
    const tx = diffTable(structure(false), after, stateOf(structure(true), before));
    expect(tx.text.trim().split('\n')).toEqual([
      'flush chain ip t b',
      'delete element ip t vm { 1.1.1.1 }',
      'add element ip t vm { 1.1.1.1 : goto a }',
      'delete chain ip t b',
    ]);
    await nft.apply(tx.text);
    expect({ ...(await nft.listTable('ip', 't')), handles: undefined }).toEqual({ ...stateOf(structure(false), after), handles: undefined });
  });

  it('batches large element lists', () => {
    const many = Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`10.0.${i >> 8}.${i & 255}`, '']));
    const tx = diffTable(structure(), els({ vm: {}, s: many }), stateOf(structure(), els({})));
    expect(tx.text.trim().split('\n')).toHaveLength(3);
    expect(tx.elementAdds).toBe(2500);
  });

  it('sorts naturally', () => {
    expect(['10.96.0.10', '10.96.0.9', '10.96.0.100'].sort(naturalCompare)).toEqual(['10.96.0.9', '10.96.0.10', '10.96.0.100']);
  });
});
