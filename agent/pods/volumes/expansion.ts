/**
 * Kubernetes `$(VAR)` expansion (`third_party/forked/golang/expansion`), used for exec probe
 * commands and `subPathExpr`: `$(NAME)` is replaced by the mapping's value, `$$` is an escaped
 * `$`, and a reference the mapping does not resolve is left as written.
 */
import type { EnvVar } from 'kubernetes-types/core/v1.js';

/** Expands `$(VAR)` references in `input` with `mapping`, which returns undefined for unknown names. */
export function expandVars(input: string, mapping: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close >= 0) {
        const name = input.slice(cursor + 2, close);
        const v = mapping(name);
        out += v === undefined ? `$(${name})` : v;
        advance = close - cursor;
      } else {
        // An incomplete reference is copied as is.
        out += '$(';
      }
    } else {
      // An operator that starts no expression: kept with the character after it.
      out += '$' + next;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/**
 * kubelet's `EnvVarsToMap` over a container's `env`: every variable, with its literal
 * `value` ('' for `valueFrom` ones), later entries winning.
 */
export function staticEnvMap(env: readonly EnvVar[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) out[e.name] = e.value ?? '';
  return out;
}

/** `ExpandContainerCommandOnlyStatic`: expands a command with the container's static env. */
export function expandCommandStatic(command: readonly string[], env: readonly EnvVar[] | undefined): string[] {
  const m = staticEnvMap(env);
  return command.map((c) => expandVars(c, (k) => (Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined)));
}
