import {
  MerkleLog,
  encodeEntry,
  formatCheckpoint,
  leafHash,
  prevHash,
  signCheckpoint,
  type AuditEntry,
  type HubKey,
} from '../../src/index.ts';

export interface BuiltLog {
  items: { index: number; seq: number; data: Uint8Array }[];
  checkpoints: string[];
  log: MerkleLog;
}

/** A chained log of `n` entries with a signed checkpoint every `every` entries. */
export function buildLog(
  key: HubKey,
  n: number,
  every: number,
  entryAt: (i: number) => Omit<AuditEntry, 'prev'> = defaultEntry,
): BuiltLog {
  const log = new MerkleLog();
  const items: BuiltLog['items'] = [];
  const checkpoints: string[] = [];
  let last: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const entry = entryAt(i);
    const data = encodeEntry(last === undefined ? entry : { ...entry, prev: prevHash(last) });
    items.push({ index: i, seq: i + 1, data });
    log.append(leafHash(data));
    last = data;
    if ((i + 1) % every === 0)
      checkpoints.push(
        signCheckpoint(
          formatCheckpoint({ origin: key.name, size: log.size, root: log.root() }),
          key,
        ),
      );
  }
  return { items, checkpoints, log };
}

export function defaultEntry(i: number): Omit<AuditEntry, 'prev'> {
  return {
    v: 1,
    time: new Date(Date.UTC(2025, 5, 1, 0, 0, i)).toISOString(),
    actor: { kind: 'service', id: 'ingest' },
    action: 'report.accepted',
    subject: { reportId: `report-${i}`, issuer: 'nca-uk', contentHash: 'cd'.repeat(32) },
    refs: [{ stream: 'REPORTS', seq: i + 1 }],
  };
}
