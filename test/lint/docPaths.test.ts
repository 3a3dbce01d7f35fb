import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * Documents and comments that point into the repository must point at something: every relative Markdown link
 * (and its #anchor) resolves, and every repository path a comment or page names exists. A file moved or renamed
 * without its mentions fails here instead of misleading the next reader.
 */
const root = process.cwd();
const skipped = new Set(['node_modules', '.git', '.tools', '.data', 'dist', 'test-results', 'results']);
const textFile = /\.(ts|js|mjs|md|ya?ml|sh|json|html)$|^(Makefile|Dockerfile|\.env\.example)$/;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skipped.has(entry.name)) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return textFile.test(entry.name) && !entry.name.endsWith('package-lock.json') ? [full] : [];
  });
}

const files = walk(root).map((f) => path.relative(root, f));
const topFolders = readdirSync(root, { withFileTypes: true })
  .filter((e) => e.isDirectory() && !skipped.has(e.name) && !e.name.startsWith('.'))
  .map((e) => e.name);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

function anchors(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
}

/**
 * A named path exists as written, as a module without its extension, as the source of a compiled `.js`, or as a
 * folder. Run output (`bench/results/`) is git-ignored and named only as where a report goes.
 */
function exists(relative: string): boolean {
  if (relative.startsWith('bench/results/')) return true;
  const full = path.join(root, relative.replace(/\/$/, ''));
  return (
    ['', '.ts', '.js', '.md'].some((ext) => existsSync(full + ext)) ||
    existsSync(full.replace(/\.js$/, '.ts'))
  );
}

describe('documents and comments name what exists', () => {
  it('every relative Markdown link and anchor resolves', () => {
    const broken: string[] = [];
    for (const file of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^[a-z]+:/.test(target)) continue;
        const [linked = '', anchor] = target.split('#');
        const targetFile = linked === '' ? file : path.join(path.dirname(file), linked);
        if (!existsSync(targetFile)) {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (
          anchor &&
          statSync(targetFile).isFile() &&
          !anchors(readFileSync(targetFile, 'utf8')).has(anchor)
        ) {
          broken.push(`${file}: ${target} (no such heading)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('every repository path a comment or document names exists', () => {
    // A path starts at a top-level folder, after a quote, a bracket, a space or a line start, never after
    // another path segment (relative imports, URLs and container paths are not repository paths).
    const pattern = new RegExp(`(?<![\\w./@-])((?:${topFolders.join('|')})/[\\w.\\-/]*[\\w/])`, 'g');
    const missing: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const [, named] of text.matchAll(pattern)) {
        if (!named || exists(named)) continue;
        missing.push(`${file}: ${named}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
