/**
 * Label and field selectors, in apimachinery's string syntax and `LabelSelector` form.
 *
 * Label selectors follow `k8s.io/apimachinery/pkg/labels` (lexer, parser, requirement
 * validation and error texts); field selectors follow `k8s.io/apimachinery/pkg/fields`
 * (`=`, `==`, `!=` terms, backslash escapes). Errors are {@link InvalidInputError}s whose
 * message is the one apimachinery produces, so the apiserver can return it verbatim in a
 * 400 BadRequest.
 */
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { InvalidInputError } from '../errors.js';

/** The operator of one requirement, named as `selection.Operator` names them. */
export type SelectorOperator =
  | 'in'
  | 'notin'
  | '='
  | '=='
  | '!='
  | 'exists'
  | '!'
  | 'gt'
  | 'lt';

/** One requirement of a selector: `key op values`. */
export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Sorted, de-duplicated values (empty for `exists` and `!`). */
  readonly values: readonly string[];
}

/** A compiled selector. */
export interface Selector {
  /** True when `labels` (or field attributes) satisfy every requirement. */
  matches(labels: Record<string, string> | undefined): boolean;
  /** True for the empty selector (matches everything). */
  readonly empty: boolean;
  /** Canonical string form. */
  toString(): string;
  /** The requirements, sorted by key as apimachinery sorts them (absent on foreign implementations). */
  readonly requirements?: readonly Requirement[];
}

/** A compiled field selector; `fields` lists the field names its terms refer to. */
export interface FieldSelector extends Selector {
  readonly requirements: readonly Requirement[];
  /** Field names the selector names, in order of first appearance (e.g. `spec.nodeName`). */
  readonly fields: readonly string[];
}

// ---------------------------------------------------------------------------------------
// Validation of keys and values (k8s.io/apimachinery/pkg/util/validation), shared with the
// object validation of the companion apiserver.

const QUALIFIED_NAME_CHAR = '[-A-Za-z0-9_.]';
const QUALIFIED_NAME_FMT = `([A-Za-z0-9]${QUALIFIED_NAME_CHAR}*)?[A-Za-z0-9]`;
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_ERR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/**
 * apimachinery's `RegexError`: the message, examples and the regex, e.g.
 * `… (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '…')`.
 */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let s = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) s += ' or ';
    s += `'${e}', `;
  });
  return `${s}regex used for validation is '${fmt}')`;
}

/** apimachinery's `MaxLenError`. */
export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** `IsDNS1123Subdomain`: error strings, empty when valid. */
export function dns1123SubdomainErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(v)) errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

/** `IsQualifiedName` (label keys, annotation keys): error strings, empty when valid. */
export function qualifiedNameErrors(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const e of dns1123SubdomainErrors(prefix)) errs.push(`prefix part ${e}`);
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QUALIFIED_NAME_RE.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

/** `IsValidLabelValue`: error strings, empty when valid. */
export function labelValueErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(v)) errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

// ---------------------------------------------------------------------------------------
// Lexer (labels/selector.go): identifiers are runs of anything but whitespace and the
// special symbols `=!(),><`.

type Tok = 'id' | 'eos' | 'comma' | 'open' | 'close' | 'not' | 'eq' | 'eqeq' | 'neq' | 'in' | 'notin' | 'gt' | 'lt' | 'error';
interface Item {
  tok: Tok;
  lit: string;
}

const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOLS: Record<string, Tok> = { '!': 'not', '!=': 'neq', '(': 'open', ')': 'close', ',': 'comma', '=': 'eq', '==': 'eqeq', '>': 'gt', '<': 'lt' };

function lex(s: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  const isWs = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  for (;;) {
    while (i < s.length && isWs(s[i])) i++;
    if (i >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    const c = s[i];
    if (SPECIAL.has(c)) {
      // Longest symbol that is a known one.
      let lit = c;
      i++;
      while (i < s.length && SPECIAL.has(s[i]) && SYMBOLS[lit + s[i]] !== undefined) lit += s[i++];
      const tok = SYMBOLS[lit];
      if (tok === undefined) {
        items.push({ tok: 'error', lit: `error expected: keyword found '${lit}'` });
        return items;
      }
      items.push({ tok, lit });
      continue;
    }
    let lit = '';
    while (i < s.length && !isWs(s[i]) && !SPECIAL.has(s[i])) lit += s[i++];
    items.push({ tok: lit === 'in' ? 'in' : lit === 'notin' ? 'notin' : 'id', lit });
  }
}

/** In the `Values` context keywords are identifiers (`a in (in)`). */
function asValue(it: Item): Item {
  return it.tok === 'in' || it.tok === 'notin' ? { tok: 'id', lit: it.lit } : it;
}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}
  private peekV(): Item {
    return asValue(this.items[Math.min(this.pos, this.items.length - 1)]);
  }
  private nextV(): Item {
    const it = this.peekV();
    if (this.pos < this.items.length - 1) this.pos++;
    return it;
  }
  private nextOp(): Item {
    const it = this.items[Math.min(this.pos, this.items.length - 1)];
    if (this.pos < this.items.length - 1) this.pos++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const la = this.peekV();
      switch (la.tok) {
        case 'id':
        case 'not': {
          let r: Requirement;
          try {
            r = this.requirement();
          } catch (err) {
            throw new InvalidInputError(`unable to parse requirement: ${(err as Error).message}`, { cause: err });
          }
          reqs.push(r);
          const t = this.nextV();
          if (t.tok === 'eos') return reqs;
          if (t.tok === 'comma') {
            const t2 = this.peekV();
            if (t2.tok !== 'id' && t2.tok !== 'not') fail(`found '${t2.lit}', expected: identifier after ','`);
            break;
          }
          fail(`found '${t.lit}', expected: ',' or 'end of string'`);
          break;
        }
        case 'eos':
          return reqs;
        default:
          fail(`found '${la.lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private requirement(): Requirement {
    let op: SelectorOperator | undefined;
    let t = this.nextV();
    if (t.tok === 'not') {
      op = '!';
      t = this.nextV();
    }
    if (t.tok !== 'id') fail(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const kerrs = qualifiedNameErrors(key);
    // apimachinery validates the key against a nil field path here, hence `<nil>`.
    if (kerrs.length) fail(`<nil>: Invalid value: ${JSON.stringify(key)}: ${kerrs.join('; ')}`);
    const la = this.peekV().tok;
    // `!key` is complete by itself; whatever follows is the caller's problem (as upstream).
    if (op === '!' || la === 'eos' || la === 'comma') return newRequirement(key, op ?? 'exists', []);
    const o = this.nextOp();
    let oper: SelectorOperator;
    switch (o.tok) {
      case 'in': oper = 'in'; break;
      case 'notin': oper = 'notin'; break;
      case 'eq': oper = '='; break;
      case 'eqeq': oper = '=='; break;
      case 'neq': oper = '!='; break;
      case 'gt': oper = 'gt'; break;
      case 'lt': oper = 'lt'; break;
      default:
        fail(`found '${o.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const values = oper === 'in' || oper === 'notin' ? this.setValues() : this.exactValue();
    return newRequirement(key, oper, values);
  }

  private setValues(): string[] {
    const t = this.nextV();
    if (t.tok !== 'open') fail(`found '${t.lit}' expected: '('`);
    const la = this.peekV();
    switch (la.tok) {
      case 'id':
      case 'comma': {
        const s = this.identifiers();
        const c = this.nextV();
        if (c.tok !== 'close') fail(`found '${la.lit}', expected: ')'`);
        return s;
      }
      case 'close':
        this.nextV();
        return [''];
      default:
        fail(`found '${la.lit}', expected: ',', ')' or identifier`);
    }
  }

  private identifiers(): string[] {
    const s = new Set<string>();
    for (;;) {
      const t = this.nextV();
      if (t.tok === 'id') {
        s.add(t.lit);
        const t2 = this.peekV();
        if (t2.tok === 'comma') continue;
        if (t2.tok === 'close') return [...s];
        fail(`found '${t2.lit}', expected: ',' or ')'`);
      } else if (t.tok === 'comma') {
        if (s.size === 0) s.add('');
        const t2 = this.peekV();
        if (t2.tok === 'close') {
          s.add('');
          return [...s];
        }
        if (t2.tok === 'comma') {
          this.nextV();
          s.add('');
        }
      } else {
        fail(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
  }

  private exactValue(): string[] {
    const la = this.peekV();
    if (la.tok === 'eos' || la.tok === 'comma') return [''];
    const t = this.nextV();
    if (t.tok === 'id') return [t.lit];
    fail(`found '${t.lit}', expected: identifier`);
  }
}

function fail(msg: string): never {
  throw new InvalidInputError(msg);
}

/**
 * apimachinery's `NewRequirement`: checks the value count per operator and each value's
 * syntax. Messages use the field paths apimachinery uses (`values`, `values[0]`).
 */
function newRequirement(key: string, op: SelectorOperator, vals: string[]): Requirement {
  const errs: string[] = [];
  const shown = `[]string{${vals.map((v) => JSON.stringify(v)).join(', ')}}`;
  switch (op) {
    case 'in':
    case 'notin':
      if (vals.length === 0) errs.push(`values: Invalid value: ${shown}: for 'in', 'notin' operators, values set can't be empty`);
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) errs.push(`values: Invalid value: ${shown}: exact-match compatibility requires one single value`);
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) errs.push(`values: Invalid value: ${shown}: values set must be empty for exists and does not exist`);
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) errs.push(`values: Invalid value: ${shown}: for 'Gt', 'Lt' operators, exactly one value is required`);
      vals.forEach((v, i) => {
        if (!/^[-+]?\d+$/.test(v)) errs.push(`values[${i}]: Invalid value: ${shown}: for 'Gt', 'Lt' operators, the value must be an integer`);
      });
      break;
  }
  if (op !== 'gt' && op !== 'lt') {
    vals.forEach((v, i) => {
      const ve = labelValueErrors(v);
      if (ve.length) errs.push(`values[${i}]: Invalid value: ${JSON.stringify(v)}: ${ve.join('; ')}`);
    });
  }
  if (errs.length === 1) fail(errs[0]);
  if (errs.length > 1) fail(`[${errs.join(', ')}]`);
  return { key, operator: op, values: [...new Set(vals)].sort() };
}

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(v as string);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v as string);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^[-+]?\d+$/.test(v as string)) return false;
      const n = Number(v);
      const want = Number(r.values[0]);
      return r.operator === 'gt' ? n > want : n < want;
    }
  }
}

/** Canonical string of one requirement, as `Requirement.String()` prints it. */
export function requirementToString(r: Requirement): string {
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${r.values.join(',')})`;
    case 'gt':
      return `${r.key}>${r.values[0]}`;
    case 'lt':
      return `${r.key}<${r.values[0]}`;
    default:
      return `${r.key}${r.operator}${r.values[0] ?? ''}`;
  }
}

function byKey(a: Requirement, b: Requirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Builds a {@link Selector} from requirements (sorted by key, stable). */
export function selectorFromRequirements(reqs: readonly Requirement[]): Selector {
  const sorted = [...reqs].sort(byKey);
  const str = sorted.map(requirementToString).join(',');
  return {
    empty: sorted.length === 0,
    requirements: sorted,
    matches: (labels) => sorted.every((r) => requirementMatches(r, labels ?? {})),
    toString: () => str,
  };
}

/** A selector that matches nothing (apimachinery's `labels.Nothing()`). */
export function nothingSelector(): Selector {
  return { empty: false, requirements: [], matches: () => false, toString: () => '' };
}

/**
 * Parses a label selector string (`a=b,c!=d,e in (f,g),!h`), with apimachinery's grammar
 * and error messages. Throws `InvalidInputError` on bad syntax or invalid keys/values.
 */
export function parseLabelSelector(s: string | undefined): Selector {
  if (s === undefined || s.trim() === '') return selectorFromRequirements([]);
  return selectorFromRequirements(new Parser(lex(s)).parse());
}

/** Builds a selector matching exactly `set` (`labels.SelectorFromSet`); empty set → everything. */
export function selectorFromSet(set: Record<string, string> | undefined): Selector {
  return selectorFromRequirements(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
}

// ---------------------------------------------------------------------------------------
// LabelSelector objects (metav1.LabelSelectorAsSelector).

/**
 * Compiles a `metav1.LabelSelector` (matchLabels + matchExpressions) as
 * `LabelSelectorAsSelector` does: undefined → matches nothing; `{}` → matches everything.
 * Throws `InvalidInputError` for an unknown operator or invalid keys/values.
 */
export function labelSelectorFromObject(sel: LabelSelector | undefined): Selector {
  if (sel === undefined || sel === null) return nothingSelector();
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    const kerrs = qualifiedNameErrors(k);
    if (kerrs.length) fail(`key: Invalid value: ${JSON.stringify(k)}: ${kerrs.join('; ')}`);
    reqs.push(newRequirement(k, '=', [v]));
  }
  for (const e of sel.matchExpressions ?? []) {
    let op: SelectorOperator;
    switch (e.operator) {
      case 'In': op = 'in'; break;
      case 'NotIn': op = 'notin'; break;
      case 'Exists': op = 'exists'; break;
      case 'DoesNotExist': op = '!'; break;
      default:
        fail(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    }
    const kerrs = qualifiedNameErrors(e.key);
    if (kerrs.length) fail(`key: Invalid value: ${JSON.stringify(e.key)}: ${kerrs.join('; ')}`);
    reqs.push(newRequirement(e.key, op, [...(e.values ?? [])]));
  }
  return selectorFromRequirements(reqs);
}

/**
 * The string form of a `metav1.LabelSelector` (`metav1.FormatLabelSelector`):
 * `<none>` for undefined or empty, else the canonical selector string.
 */
export function labelSelectorToString(sel: LabelSelector | undefined): string {
  if (!sel) return '<none>';
  let s: string;
  try {
    s = labelSelectorFromObject(sel).toString();
  } catch {
    return '<error>';
  }
  return s === '' ? '<none>' : s;
}

// ---------------------------------------------------------------------------------------
// Field selectors (k8s.io/apimachinery/pkg/fields).

/** Splits on unescaped `,`, keeping escapes. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescapeFieldValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\\') {
      const n = v[i + 1];
      if (n === undefined || !['\\', ',', '='].includes(n)) {
        fail(`invalid field selector: invalid escape sequence: \\${n ?? ''}`);
      }
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      fail(`invalid field selector: unescaped special character '${c}' in value`);
    } else out += c;
  }
  return out;
}

/** Escapes a field selector value (`fields.EscapeValue`). */
export function escapeFieldValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * Parses a field selector string (`spec.nodeName=n1,status.phase!=Failed`): terms joined by
 * `,`, each `field=value`, `field==value` or `field!=value`; values may escape `\`, `,`, `=`.
 * Throws `InvalidInputError` with apimachinery's message on a term it cannot read.
 */
export function parseFieldSelector(s: string | undefined): FieldSelector {
  const reqs: Requirement[] = [];
  if (s !== undefined && s.trim() !== '') {
    for (const term of splitTerms(s)) {
      if (term === '') continue;
      let matched = false;
      for (const op of ['!=', '==', '='] as const) {
        const i = term.indexOf(op);
        if (i < 0) continue;
        const field = term.slice(0, i);
        const value = unescapeFieldValue(term.slice(i + op.length));
        reqs.push({ key: field, operator: op === '==' ? '=' : op, values: [value] });
        matched = true;
        break;
      }
      if (!matched) fail(`invalid selector: '${s}'; can't understand '${term}'`);
    }
  }
  const sorted = [...reqs].sort(byKey);
  const fields: string[] = [];
  for (const r of reqs) if (!fields.includes(r.key)) fields.push(r.key);
  const str = sorted.map((r) => `${r.key}${r.operator}${escapeFieldValue(r.values[0])}`).join(',');
  return {
    empty: sorted.length === 0,
    requirements: sorted,
    fields,
    matches: (attrs) =>
      sorted.every((r) => {
        const v = (attrs ?? {})[r.key] ?? '';
        return r.operator === '!=' ? v !== r.values[0] : v === r.values[0];
      }),
    toString: () => str,
  };
}

/** The field names a field selector string refers to (throws like {@link parseFieldSelector}). */
export function fieldSelectorFields(s: string | undefined): string[] {
  return [...parseFieldSelector(s).fields];
}
