/**
 * Route paths in @koa/router's syntax (path-to-regexp 8: `:param`, `:"quoted param"`, `*wildcard`,
 * `{optional part}`, `\` escapes) as OpenAPI path templates (`/orgs/{orgId}`).
 */

type Token = { readonly text: string } | { readonly param: string } | { readonly group: readonly Token[] };

const ID_START = /[$_\p{ID_Start}]/u;
const ID_CONTINUE = /[$\u200c\u200d\p{ID_Continue}]/u;

/**
 * The OpenAPI paths a route path matches: one, or one per combination of its optional parts
 * (`/users{/:id}` is `/users` and `/users/{id}`). A wildcard (`/files/*rest`) becomes one template
 * parameter, though it spans several segments. Returns `[]` for a path it cannot read.
 */
export function openApiPaths(path: string): string[] {
  let tokens: Token[];
  try {
    tokens = parse(path, { at: 0 }, false);
  } catch {
    return [];
  }
  return [...new Set(expand(tokens).map((p) => (p.startsWith('/') ? p : `/${p}`)))];
}

function parse(path: string, cursor: { at: number }, inGroup: boolean): Token[] {
  const tokens: Token[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') tokens.push({ text });
    text = '';
  };
  while (cursor.at < path.length) {
    const char = path[cursor.at++]!;
    if (char === '\\' && cursor.at < path.length) text += path[cursor.at++];
    else if (char === ':' || char === '*') {
      flush();
      tokens.push({ param: name(path, cursor) });
    } else if (char === '{') {
      flush();
      tokens.push({ group: parse(path, cursor, true) });
    } else if (char === '}') {
      if (!inGroup) throw new SyntaxError('unbalanced }');
      flush();
      return tokens;
    } else text += char;
  }
  if (inGroup) throw new SyntaxError('unclosed {');
  flush();
  return tokens;
}

function name(path: string, cursor: { at: number }): string {
  if (path[cursor.at] === '"') {
    const end = path.indexOf('"', cursor.at + 1);
    if (end < 0) throw new SyntaxError('unclosed quoted name');
    const quoted = path.slice(cursor.at + 1, end);
    cursor.at = end + 1;
    return quoted;
  }
  let value = '';
  if (cursor.at < path.length && ID_START.test(path[cursor.at]!)) value += path[cursor.at++];
  while (value !== '' && cursor.at < path.length && ID_CONTINUE.test(path[cursor.at]!)) value += path[cursor.at++];
  if (value === '') throw new SyntaxError('parameter without a name');
  return value;
}

function expand(tokens: readonly Token[]): string[] {
  let paths = [''];
  for (const token of tokens) {
    if ('text' in token) paths = paths.map((p) => p + token.text);
    else if ('param' in token) paths = paths.map((p) => `${p}{${token.param}}`);
    else {
      const optional = ['', ...expand(token.group)];
      paths = paths.flatMap((p) => optional.map((o) => p + o));
    }
  }
  return paths;
}
