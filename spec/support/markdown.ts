// Reads the documentation as GitHub renders it: the pages, their headings' anchors, their relative
// links and their TypeScript snippets. Used by the specs that keep README.md and docs/ from drifting.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** README.md and every page under docs/ (design notes included), as paths relative to the root. */
export function documentationFiles(): string[] {
  const pages: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) pages.push(path);
    }
  };
  walk('docs');
  return ['README.md', ...pages.sort()];
}

export function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

interface Line { text: string; number: number }

/** The lines outside fenced code blocks, with their 1-based numbers. */
function prose(text: string): Line[] {
  const lines: Line[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((text, index) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence === undefined && marker !== undefined) fence = marker;
    else if (fence !== undefined && marker !== undefined && text.trim().startsWith(fence) && text.trim().replace(/[`~]/g, '') === '') fence = undefined;
    else if (fence === undefined) lines.push({ text, number: index + 1 });
  });
  return lines;
}

/** GitHub's anchor for a heading's text (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/`([^`]*)`/g, '$1') // code spans: their content
    .replace(/(\*\*|__|\*)/g, ''); // emphasis markers
  return rendered.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a page offers: its headings' slugs, repeated ones suffixed -1, -2 as GitHub does. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text: line } of prose(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

export interface Link { file: string; line: number; target: string }

/** Inline links and images in prose (not in code blocks or code spans). */
export function links(file: string, text: string): Link[] {
  const found: Link[] = [];
  for (const { text: line, number } of prose(text)) {
    const outsideCode = line.replace(/`[^`]*`/g, '');
    for (const match of outsideCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      found.push({ file, line: number, target: match[1]! });
    }
  }
  return found;
}

export interface Snippet {
  file: string;
  /** 1-based line of the snippet's first line of code. */
  line: number;
  code: string;
  /** Set when a `<!-- not compiled: reason -->` comment precedes the block. */
  notCompiled?: string;
}

/** Every ```ts (or ```typescript) block, with the reason it is not compiled when it says so. */
export function typeScriptSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(\w+)?/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', lang = ''] = open;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.trim().startsWith(fence)) end++;
    if (lang === 'ts' || lang === 'typescript') {
      let previous = i - 1;
      while (previous >= 0 && lines[previous]!.trim() === '') previous--;
      const reason = /^\s*<!--\s*not compiled:\s*(.*?)\s*-->\s*$/.exec(lines[previous] ?? '')?.[1];
      const code = lines.slice(start, end).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line)).join('\n');
      snippets.push({ file, line: start + 1, code, ...(reason !== undefined && { notCompiled: reason }) });
    }
    i = end;
  }
  return snippets;
}

export function relativeToRoot(path: string): string {
  return relative(ROOT, path);
}
