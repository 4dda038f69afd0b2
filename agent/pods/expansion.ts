/**
 * `$(VAR)` expansion, as kubelet's forked `third_party/forked/golang/expansion`: `$(NAME)`
 * becomes the variable's value when it is defined and stays as written otherwise, `$$` is
 * an escaped `$`, and any other `$` is kept.
 */

/** Looks a name up in each map in turn; an undefined name expands to itself (`$(NAME)`). */
export function mappingFuncFor(...contexts: ReadonlyMap<string, string>[]): (name: string) => string {
  return (name) => {
    for (const c of contexts) {
      const v = c.get(name);
      if (v !== undefined) return v;
    }
    return `$(${name})`;
  };
}

/** Expands `input` with `mapping`. */
export function expand(input: string, mapping: (name: string) => string): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let read: string;
    let isVar = false;
    let advance = 1;
    if (rest[0] === '$') {
      read = '$';
    } else if (rest[0] === '(') {
      const close = rest.indexOf(')', 1);
      if (close >= 1) {
        read = rest.slice(1, close);
        isVar = true;
        advance = close + 1;
      } else {
        read = '$(';
      }
    } else {
      read = `$${rest[0]}`;
    }
    out += isVar ? mapping(read) : read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** Expands a container's command and args with its final environment (`ExpandContainerCommandAndArgs`). */
export function expandCommandAndArgs(
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
  env: readonly { key: string; value: string }[],
): { command?: string[]; args?: string[] } {
  const map = new Map<string, string>();
  for (const e of env) map.set(e.key, e.value);
  const mapping = mappingFuncFor(map);
  return {
    command: command?.map((c) => expand(c, mapping)),
    args: args?.map((a) => expand(a, mapping)),
  };
}
