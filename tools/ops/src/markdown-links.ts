/**
 * The links of a Markdown document, as GitHub renders them: inline links and
 * images, autolinks, HTML hrefs, and bare URLs (GitHub turns those into links
 * too). Code blocks and code spans are not links and are skipped.
 */

export interface Link {
  /** 1-based line of the link. */
  line: number;
  target: string;
  /** 'inline' ([t](x), ![a](x)), 'auto' (<x>), 'href' (<a href="x">), 'bare' (a URL in text). */
  kind: 'inline' | 'auto' | 'href' | 'bare';
}

const blank = (s: string): string => s.replace(/[^\n]/g, ' ');

/** Replace fenced blocks with spaces, keeping line numbers and offsets. */
function stripFences(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, blank);
}

/** Replace fenced blocks and code spans with spaces, keeping line numbers and offsets. */
function stripCode(text: string): string {
  return stripFences(text).replace(/(`+)[^`\n]*?\1/g, blank);
}

export function markdownLinks(text: string): Link[] {
  const plain = stripCode(text);
  const out: Link[] = [];
  const lineOf = (i: number): number => plain.slice(0, i).split('\n').length;
  for (const m of plain.matchAll(/!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line: lineOf(m.index), target: m[1]!, kind: 'inline' });
  for (const m of plain.matchAll(/<((?:[a-z][a-z0-9+.-]*:|\/\/)[^>\s]+)>/gi)) out.push({ line: lineOf(m.index), target: m[1]!, kind: 'auto' });
  for (const m of plain.matchAll(/href\s*=\s*"([^"]+)"/gi)) out.push({ line: lineOf(m.index), target: m[1]!, kind: 'href' });
  // Bare URLs, outside the links found above.
  const noLinks = plain.replace(/!?\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]*>/g, (s) => ' '.repeat(s.length));
  for (const m of noLinks.matchAll(/\b(?:https?|ftp):\/\/[^\s)>\]"'`]+/gi)) out.push({ line: lineOf(m.index), target: m[0], kind: 'bare' });
  return out;
}

/** A target that leaves the repository: any scheme (http:, mailto:, …) or a protocol-relative `//host`. */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every heading anchor of a document (repeated headings get -1, -2, … as on GitHub). */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  // A heading's code spans are part of its text (GitHub keeps their words, drops the backticks).
  for (const m of stripFences(text).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = headingAnchor(m[1]!.replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}
