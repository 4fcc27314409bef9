/**
 * The example's state table: the IDs marked on one shard. Every mark is
 * journaled (and durable) before it is answered, so a mark survives crashes.
 */
import { records, type JournalHooks, type JournaledTable, type TableJournal } from '@pharaoh/server';

export interface MarkRecord {
  t: 'm';
  id: bigint;
}

export function parseMarkRecord(raw: unknown): MarkRecord {
  const id = records.id((raw as { id?: unknown } | null)?.id);
  if ((raw as { t?: unknown } | null)?.t !== 'm' || id === undefined) throw records.bad('example', raw);
  return { t: 'm', id };
}

export class MarkTable implements JournaledTable {
  private readonly marked = new Set<bigint>();
  private journal!: TableJournal<MarkRecord>;

  private constructor(private readonly ids: { next(after?: bigint): Promise<bigint> }) {}

  static async open(ids: { next(after?: bigint): Promise<bigint> }, openJournal: (hooks: JournalHooks<MarkRecord>) => Promise<TableJournal<MarkRecord>>): Promise<MarkTable> {
    const table = new MarkTable(ids);
    table.journal = await openJournal({
      onRecord: (raw) => table.marked.add(parseMarkRecord(raw).id),
      snapshot: () => [...table.marked].map((id) => ({ t: 'm', id })),
    });
    return table;
  }

  async mark(after?: bigint): Promise<{ id: bigint }> {
    const id = await this.ids.next(after);
    await this.journal.append({ t: 'm', id });
    this.marked.add(id);
    return { id };
  }

  seen(id: bigint): { seen: 'YES' | 'NO' } {
    return { seen: this.marked.has(id) ? 'YES' : 'NO' };
  }

  async sweep(): Promise<void> {}

  async close(): Promise<void> {
    await this.journal.close();
  }
}
