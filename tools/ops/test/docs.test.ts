/**
 * The repository's documents: nothing links outside the repository, every
 * relative link reaches a file that exists (and a heading that exists, when
 * it names one), and the documents the operator's kit needs exist and are
 * linked from the README.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingAnchors, isExternal, markdownLinks } from '../src/markdown-links.js';
import { REPO } from './helpers.js';

const docs = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: REPO, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && !f.includes('node_modules/') && existsSync(join(REPO, f)));

describe('headingAnchors', () => {
  it("keeps a heading's code span words (GitHub drops only the backticks), and skips headings inside fences", () => {
    const anchors = headingAnchors('### Schema registry (`schema.*`)\n## Two\n```\n# not a heading\n```\n## Two\n');
    expect([...anchors]).toEqual(['schema-registry-schema', 'two', 'two-1']);
  });
});

describe('markdownLinks', () => {
  it('finds inline, auto, href and bare links outside code, with their lines', () => {
    const text = 'a [x](../y.md#z) b\n`[no](http://code.span)`\n```\n[no](http://block)\n```\n<https://auto.example> <a href="https://h.example">h</a>\nsee https://bare.example/p.\n';
    expect(markdownLinks(text).map((l) => [l.line, l.kind, l.target])).toEqual([
      [1, 'inline', '../y.md#z'],
      [6, 'auto', 'https://auto.example'],
      [6, 'href', 'https://h.example'],
      [7, 'bare', 'https://bare.example/p.'],
    ]);
    expect(isExternal('https://x')).toBe(true);
    expect(isExternal('//x')).toBe(true);
    expect(isExternal('mailto:a@b')).toBe(true);
    expect(isExternal('docs/A.md#b')).toBe(false);
  });
});

describe('the repository documents', () => {
  it('are found', () => {
    expect(docs).toContain('README.md');
    expect(docs.length).toBeGreaterThan(10);
  });

  it('link nowhere outside the repository', () => {
    const outside: string[] = [];
    for (const f of docs) {
      for (const l of markdownLinks(readFileSync(join(REPO, f), 'utf8'))) {
        // A bare loopback or cluster-internal address is an example of what a server prints, not a link out.
        if (l.kind === 'bare' && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\]|[^/]*\.svc(\.[^/]*)?)([:/]|$)/.test(l.target)) continue;
        if (isExternal(l.target)) outside.push(`${f}:${l.line} ${l.target}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const f of docs) {
      for (const l of markdownLinks(readFileSync(join(REPO, f), 'utf8'))) {
        if (isExternal(l.target)) continue;
        const [path, anchor] = l.target.split('#') as [string, string | undefined];
        const file = path === '' ? join(REPO, f) : normalize(join(REPO, dirname(f), decodeURI(path)));
        if (!file.startsWith(REPO) || !existsSync(file)) {
          broken.push(`${f}:${l.line} ${l.target} (no such file)`);
          continue;
        }
        if (anchor !== undefined && anchor !== '' && statSync(file).isFile() && file.endsWith('.md') && !headingAnchors(readFileSync(file, 'utf8')).has(anchor)) {
          broken.push(`${f}:${l.line} ${l.target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('include LICENSE (Apache-2.0), CHANGELOG, OPERATIONS, VERSIONING and DEPLOY, each linked from the README', () => {
    expect(readFileSync(join(REPO, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    const readme = markdownLinks(readFileSync(join(REPO, 'README.md'), 'utf8')).map((l) => l.target.split('#')[0]);
    for (const doc of ['LICENSE', 'CHANGELOG.md', 'docs/OPERATIONS.md', 'docs/VERSIONING.md', 'docs/DEPLOY.md', 'docs/DESIGN.md']) {
      expect(existsSync(join(REPO, doc)), doc).toBe(true);
      expect(readme, `README.md links ${doc}`).toContain(doc);
    }
  });
});
