import { describe, expect, it } from 'vitest';
import { NftSyntaxError, parseCommand, parseRule, parseSetDecl, tokenize } from './parse.js';
import { canonConcat, canonLiteral } from './types.js';

describe('nft syntax subset', () => {
  it('tokenizes words, strings and punctuation', () => {
    expect(tokenize('add set ip t s { type ipv4_addr; comment "a b; c"; }')).toEqual([
      'add', 'set', 'ip', 't', 's', '{', 'type', 'ipv4_addr', ';', 'comment', '"a b; c"', ';', '}',
    ]);
    expect(tokenize('ip saddr != { 10.0.0.0/8, 172.16.0.0/12 }')).toEqual(['ip', 'saddr', '!=', '{', '10.0.0.0/8', ',', '172.16.0.0/12', '}']);
  });

  it('parses the rules the layout writes', () => {
    expect(parseRule('ip daddr @cluster-ips ip saddr != 10.244.0.0/16 jump mark-for-masquerade')).toEqual([
      { kind: 'match', left: { kind: 'payload', proto: 'ip', field: 'daddr' }, op: 'eq', right: { kind: 'set-ref', name: 'cluster-ips' } },
      { kind: 'match', left: { kind: 'payload', proto: 'ip', field: 'saddr' }, op: 'ne', right: { kind: 'literal', text: '10.244.0.0/16' } },
      { kind: 'verdict', verdict: 'jump', target: 'mark-for-masquerade' },
    ]);
    expect(parseRule('meta mark & 0x00004000 == 0 return')[0]).toEqual({
      kind: 'match',
      left: { kind: 'binop', op: '&', left: { kind: 'meta', key: 'mark' }, right: '0x00004000' },
      op: 'eq',
      right: { kind: 'literal', text: '0' },
    });
    expect(parseRule('meta l4proto tcp dnat ip addr . port to ip daddr . tcp dport . numgen random mod 3 map @eps comment "r:1"')[1]).toEqual({
      kind: 'dnat-map',
      family: 'ip',
      key: {
        kind: 'concat',
        parts: [
          { kind: 'payload', proto: 'ip', field: 'daddr' },
          { kind: 'payload', proto: 'tcp', field: 'dport' },
          { kind: 'numgen', mod: 3, offset: 0 },
        ],
      },
      map: 'eps',
    });
    expect(parseRule('reject with tcp reset')).toEqual([{ kind: 'reject', type: 'tcp reset' }]);
    expect(parseRule('reject')).toEqual([{ kind: 'reject', type: 'icmp', code: 'port-unreachable' }]);
    expect(parseRule('masquerade fully-random')).toEqual([{ kind: 'masquerade', flags: ['fully-random'] }]);
  });

  it('parses commands and set declarations', () => {
    expect(parseCommand('add chain ip skiff nat-output { type nat hook output priority dstnat + 10; policy accept; }')).toEqual({
      op: 'add',
      obj: 'chain',
      family: 'ip',
      table: 'skiff',
      name: 'nat-output',
      base: { type: 'nat', hook: 'output', priority: -90, policy: 'accept' },
    });
    expect(parseSetDecl('map', '{ typeof ip daddr . udp dport . numgen random mod 1 : ip daddr . udp dport; flags interval; }')).toEqual({
      decl: 'typeof ip daddr . udp dport . numgen random mod 1 : ip daddr . udp dport',
      keyTypes: ['ipv4_addr', 'inet_service', 'integer'],
      dataTypes: ['ipv4_addr', 'inet_service'],
      flags: ['interval'],
    });
    expect(parseCommand('add element ip t m { 1.2.3.4 . tcp . 80 : goto lb-2, 1.2.3.5 . udp . 53 : accept }')).toMatchObject({
      elements: [
        { key: ['1.2.3.4', 'tcp', '80'], value: ['goto lb-2'] },
        { key: ['1.2.3.5', 'udp', '53'], value: ['accept'] },
      ],
    });
  });

  it('refuses what it does not know', () => {
    expect(() => parseCommand('add rule ip t c ip6 nexthdr tcp accept')).toThrow(NftSyntaxError);
    expect(() => parseCommand('insert rule ip t c accept')).toThrow(NftSyntaxError);
    expect(() => parseCommand('add map ip t m { type ipv4_addr; }')).toThrow(/mapping data type/);
    expect(() => parseCommand('add chain ip t c { type nat hook nowhere priority 0; }')).toThrow(/unknown hook/);
  });

  it('canonicalizes literals per datatype', () => {
    expect(canonLiteral('inet_proto', '6')).toBe('tcp');
    expect(canonLiteral('mark', '0x4000')).toBe('16384');
    expect(canonLiteral('inet_service', '65536')).toBeUndefined();
    expect(canonLiteral('ipv4_addr', '010.1.2.3')).toBe('10.1.2.3');
    expect(canonConcat(['ipv4_addr', 'inet_proto', 'inet_service'], ['10.0.0.1', '17', '53'])).toBe('10.0.0.1 . udp . 53');
    expect(canonConcat(['ipv4_addr', 'inet_service'], ['10.0.0.1'])).toBeUndefined();
  });
});
