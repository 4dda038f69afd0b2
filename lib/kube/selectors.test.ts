import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.js';
import {
  fieldSelectorFields, labelSelectorFromObject, labelSelectorToString, parseFieldSelector, parseLabelSelector,
  qualifiedNameErrors, selectorFromSet,
} from './selectors.js';

const L = { app: 'web', tier: 'fe', 'example.com/x': 'y' };

describe('parseLabelSelector', () => {
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['app in (web,db)', true],
    ['app notin (web,db)', false],
    ['app notin (db)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['missing!=x', true],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['app=web,tier=fe', true],
    ['app=web,tier=be', false],
    ['example.com/x=y', true],
    ['  app = web ,  tier  ', true],
    ['app in (web, db)', true],
    ['app=', false],
  ])('%j matches %s', (sel, want) => {
    expect(parseLabelSelector(sel).matches(L)).toBe(want);
  });

  it('is empty only for the empty string', () => {
    expect(parseLabelSelector('').empty).toBe(true);
    expect(parseLabelSelector(undefined).empty).toBe(true);
    expect(parseLabelSelector('a').empty).toBe(false);
  });

  it('canonicalizes: sorted by key, values sorted', () => {
    expect(parseLabelSelector('z=1,a in (c,b),!m,k').toString()).toBe('a in (b,c),k,!m,z=1');
    expect(parseLabelSelector('x==y').toString()).toBe('x==y');
  });

  it('matches empty values with in ()', () => {
    expect(parseLabelSelector('a in ()').matches({ a: '' })).toBe(true);
    expect(parseLabelSelector('a=').matches({ a: '' })).toBe(true);
  });

  it('supports gt/lt', () => {
    expect(parseLabelSelector('n>3').matches({ n: '4' })).toBe(true);
    expect(parseLabelSelector('n<3').matches({ n: '4' })).toBe(false);
  });

  it.each([
    ['app=web,', "found '', expected: identifier after ','"],
    ['app web', "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt"],
    ['!app web', "found 'web', expected: ',' or 'end of string'"],
    ['app in web', "unable to parse requirement: found 'web' expected: '('"],
    ['app in (web', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['env IN (a)', "unable to parse requirement: found 'IN', expected: in, notin, =, ==, !=, gt, lt"],
    [
      'a:=b',
      `unable to parse requirement: <nil>: Invalid value: "a:": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
    [
      'a=-b',
      `unable to parse requirement: values[0]: Invalid value: "-b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    ],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
  ])('rejects %j', (sel, msg) => {
    let err: unknown;
    try {
      parseLabelSelector(sel);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toBe(msg);
  });
});

describe('label key validation', () => {
  it('accepts prefixed keys and rejects bad ones', () => {
    expect(qualifiedNameErrors('app.kubernetes.io/name')).toEqual([]);
    expect(qualifiedNameErrors('a'.repeat(63))).toEqual([]);
    expect(qualifiedNameErrors('a'.repeat(64))).toContain('name part must be no more than 63 characters');
    expect(qualifiedNameErrors('/a')).toContain('prefix part must be non-empty');
    expect(qualifiedNameErrors('Bad_Prefix/a')[0]).toMatch(/^prefix part a lowercase RFC 1123 subdomain/);
    expect(qualifiedNameErrors('a/b/c')[0]).toMatch(/^a qualified name must consist of/);
  });
});

describe('labelSelectorFromObject', () => {
  it('compiles matchLabels and matchExpressions', () => {
    const s = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['fe', 'be'] },
        { key: 'gone', operator: 'DoesNotExist' },
        { key: 'example.com/x', operator: 'Exists' },
        { key: 'env', operator: 'NotIn', values: ['prod'] },
      ],
    });
    expect(s.matches(L)).toBe(true);
    expect(s.matches({ ...L, gone: '1' })).toBe(false);
    expect(s.toString()).toBe('app=web,env notin (prod),example.com/x,!gone,tier in (be,fe)');
  });
  it('undefined matches nothing, {} matches everything', () => {
    expect(labelSelectorFromObject(undefined).matches(L)).toBe(false);
    expect(labelSelectorFromObject({}).matches(L)).toBe(true);
    expect(labelSelectorFromObject({}).empty).toBe(true);
  });
  it('rejects unknown operators and empty In values', () => {
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Foo' }] })).toThrow('"Foo" is not a valid label selector operator');
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toThrow(
      "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
    );
  });
  it('labelSelectorToString', () => {
    expect(labelSelectorToString(undefined)).toBe('<none>');
    expect(labelSelectorToString({})).toBe('<none>');
    expect(labelSelectorToString({ matchLabels: { b: '2', a: '1' } })).toBe('a=1,b=2');
  });
  it('selectorFromSet', () => {
    expect(selectorFromSet({ b: '2', a: '1' }).toString()).toBe('a=1,b=2');
    expect(selectorFromSet({}).matches({ x: 'y' })).toBe(true);
  });
});

describe('parseFieldSelector', () => {
  const attrs = { 'metadata.name': 'p1', 'spec.nodeName': 'n1', 'status.phase': 'Running' };
  it.each([
    ['', true],
    ['spec.nodeName=n1', true],
    ['spec.nodeName==n1', true],
    ['spec.nodeName!=n1', false],
    ['spec.nodeName=n1,status.phase!=Failed', true],
    ['spec.nodeName=', false],
    ['spec.other=', true],
  ])('%j matches %s', (sel, want) => {
    expect(parseFieldSelector(sel).matches(attrs)).toBe(want);
  });
  it('lists the fields it names', () => {
    expect(fieldSelectorFields('spec.nodeName=n1,status.phase!=Failed,spec.nodeName!=x')).toEqual(['spec.nodeName', 'status.phase']);
  });
  it('unescapes values and canonicalizes', () => {
    const s = parseFieldSelector('metadata.name=a\\,b');
    expect(s.matches({ 'metadata.name': 'a,b' })).toBe(true);
    expect(s.toString()).toBe('metadata.name=a\\,b');
  });
  it('rejects terms without an operator', () => {
    expect(() => parseFieldSelector('spec.nodeName')).toThrow("invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'");
  });
});
