/** The examples' few flags: `--name value` pairs, endpoints comma-separated. */
export function flags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === undefined || !k.startsWith('--') || v === undefined) throw new Error(`expected --name value pairs, got ${argv.join(' ')}`);
    out.set(k.slice(2), v);
  }
  return out;
}

export function need(f: Map<string, string>, name: string): string {
  const v = f.get(name);
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}
