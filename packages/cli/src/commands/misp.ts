import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseReport } from '@mosaic/contract';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { Roles, readContextFile } from '@mosaic/identities';
import { connectOperator, replaySelects } from '@mosaic/operator';
import { HIT_ALERT_KIND, Streams, parseAlertSubject, readStream } from '@mosaic/protocol';
import { connectAgency, type Alert } from '@mosaic/sdk';
import {
  reportsToMispFeed,
  type ExportInput,
  type MispEventFile,
  type MispManifestEntry,
} from '@mosaic/stix';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { integer, string } from '../options.ts';

const decoder = new TextDecoder();
const MANIFEST = 'manifest.json';
const HASHES = 'hashes.csv';
const EVENT_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

function io(path: string, problem: string, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.Io, `cannot write the feed ${path}: ${problem}`, {
    details: { path },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The feed already in `out`: its manifest, event files and hash lines; none when `out` is absent. */
async function existingFeed(out: string): Promise<
  | {
      manifest: Record<string, MispManifestEntry>;
      events: Map<string, string>;
      hashes: string[];
    }
  | undefined
> {
  let entries: string[];
  try {
    if (!(await stat(out)).isDirectory()) throw io(out, 'it is not a directory');
    entries = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof MosaicError) throw err;
    throw io(out, (err as Error).message, err);
  }
  if (entries.length === 0) return { manifest: {}, events: new Map(), hashes: [] };
  // Only a directory this command wrote is replaced: never anything else.
  if (
    !entries.includes(MANIFEST) ||
    entries.some((e) => e !== MANIFEST && e !== HASHES && !EVENT_FILE.test(e))
  )
    throw io(out, 'it is neither empty nor a MISP feed (manifest.json, <uuid>.json, hashes.csv)');
  const manifest = JSON.parse(await readFile(join(out, MANIFEST), 'utf8')) as Record<
    string,
    MispManifestEntry
  >;
  const events = new Map<string, string>();
  for (const uuid of Object.keys(manifest))
    events.set(uuid, await readFile(join(out, `${uuid}.json`), 'utf8'));
  const hashes = entries.includes(HASHES)
    ? (await readFile(join(out, HASHES), 'utf8')).split('\n').filter((l) => l !== '')
    : [];
  return { manifest, events, hashes };
}

/**
 * Writes the feed into a new directory beside `out` and renames it into place, so `out` is
 * the previous feed or the new one, never half of one. With `keep`, events of the previous
 * feed that the new one does not have stay in it (an agency's feed grows alert by alert).
 */
async function writeFeed(
  inputs: readonly ExportInput[],
  out: string,
  keep: boolean,
): Promise<{ events: number; added: number }> {
  const feed = reportsToMispFeed(inputs);
  const previous = await existingFeed(out);
  const fresh = new Set(feed.events.map((e) => e.Event.uuid));
  const manifest: Record<string, MispManifestEntry> = {};
  const files = new Map<string, string>();
  let hashes = feed.hashes;
  if (keep && previous !== undefined) {
    for (const [uuid, entry] of Object.entries(previous.manifest)) {
      if (fresh.has(uuid)) continue;
      manifest[uuid] = entry;
      files.set(uuid, previous.events.get(uuid) ?? '');
    }
    const kept = previous.hashes.filter((line) => !fresh.has(line.split(',')[1] ?? ''));
    hashes = [...kept, ...hashes.split('\n').filter((l) => l !== '')].join('\n');
    if (hashes !== '') hashes += '\n';
  }
  for (const event of feed.events) {
    manifest[event.Event.uuid] = feed.manifest[event.Event.uuid] as MispManifestEntry;
    files.set(event.Event.uuid, JSON.stringify(event satisfies MispEventFile));
  }
  const partial = join(dirname(out), `.${basename(out)}.partial-${randomUUID()}`);
  try {
    await mkdir(partial, { mode: 0o700 });
    for (const [uuid, text] of files)
      await writeFile(join(partial, `${uuid}.json`), text, { mode: 0o600 });
    await writeFile(join(partial, HASHES), hashes, { mode: 0o600 });
    await writeFile(join(partial, MANIFEST), JSON.stringify(manifest), { mode: 0o600 });
    const old = `${partial}.old`;
    if (previous !== undefined) await rename(out, old);
    await rename(partial, out);
    if (previous !== undefined) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw io(out, (err as Error).message, err);
  }
  return { events: files.size, added: feed.events.length };
}

/**
 * The operator's feed of an agency: every report alert ALERTS holds for it, recorded before
 * reading. Hit alerts (another agency's check matched its holdings) are not reports: skipped.
 */
async function operatorInputs(
  context: string,
  agency: string,
  justification: string,
  out: string,
): Promise<ExportInput[]> {
  await using op = await connectOperator(context);
  await op.record('operator.export', {
    justification,
    details: { stream: Streams.Alerts, agency, format: 'misp-feed', out },
  });
  const inputs = new Map<string, ExportInput>();
  for await (const m of readStream(op.jsm, Streams.Alerts)) {
    if (!replaySelects(Streams.Alerts, m, { agency })) continue;
    if (parseAlertSubject(m.subject)?.kind === HIT_ALERT_KIND) continue;
    const jws = decoder.decode(m.data);
    const report = parseReport(Buffer.from(jws.split('.')[1] ?? '', 'base64url'));
    inputs.set(`${report.issuer}/${report.reportId}`, { report, jws });
  }
  return [...inputs.values()];
}

/** The agency's pending alerts, each verified end to end and acknowledged (consulted). */
async function agencyInputs(context: string, max: number | undefined): Promise<ExportInput[]> {
  await using agency = await connectAgency({ context });
  const inputs: ExportInput[] = [];
  let invalid = 0;
  await agency.subscribe(
    (alert: Alert) => {
      // Mapped before the ack: an alert whose handling a feed cannot carry stays pending.
      reportsToMispFeed([{ report: alert.report, jws: alert.jws }]);
      inputs.push({ report: alert.report, jws: alert.jws });
    },
    {
      ...(max === undefined ? {} : { max }),
      onInvalid: () => {
        invalid++;
      },
    },
  );
  if (invalid > 0)
    throw new MosaicError(
      ErrorCode.SignatureInvalid,
      `${invalid} alert(s) failed verification and were not exported`,
      { details: { invalid } },
    );
  return inputs;
}

const options = {
  context: string({
    placeholder: '<file>',
    description:
      "an operator context (the agency's whole feed from ALERTS, audited as operator.export) or an agency's context (adds its pending alerts to the feed, each acknowledged as consulted)",
    required: true,
  }),
  out: string({
    placeholder: '<dir>',
    description: 'the feed directory (absent, empty or a feed this command wrote)',
    required: true,
  }),
  agency: string({ placeholder: '<id>', description: 'operator: whose feed' }),
  reason: string({
    placeholder: '<text>',
    description: 'operator: why (kept in the audit entry; required for an operator)',
  }),
  max: integer({ min: 1, description: 'agency: at most n alerts' }),
};

function misUsage(message: string): MosaicError {
  return usageError({ path: ['export', 'misp-feed'] }, `${message} (see --help)`);
}

export const exportMispFeed = defineCommand({
  path: ['export', 'misp-feed'],
  summary: 'write exactly what an agency may see as a MISP feed (manifest, events, hashes)',
  usage: `Usage: mosaic export misp-feed --context <operator.json> --agency <id> --out <dir>
                               --reason "<justification>"
       mosaic export misp-feed --context <agency.json> --out <dir> [--max <n>]`,
  description: `Writes a MISP feed (docs/misp.md) that the agency's MISP instance can subscribe to:
manifest.json, one <event uuid>.json per report, hashes.csv. Each report is one event
with distribution 0 ("your organisation only", never "all communities"), its TLP as the
tlp taxonomy (tlp:amber+strict included), every releasable-to / not-releasable-to entry and
the validity as mosaic: tags, and the originator's JWS as a provenance attribute. A report
whose handling a feed cannot carry fails the export (ERR_MISP_UNMAPPABLE) and nothing is
written.

With an operator context the feed is every alert ALERTS holds for --agency — exactly what
the rules released to it — and replaces <dir>; an operator.export audit entry is recorded
before reading. With an agency's context the agency's pending alerts are verified,
acknowledged (consulted, as with mosaic subscribe) and added to the feed in <dir>.
Hit alerts (another agency's check matched your private holdings) are not reports and are
never in a feed: the operator's feed skips them, and an agency's export leaves them pending
for mosaic subscribe.

The feed is written beside <dir> and renamed into place: <dir> is the previous feed or the
new one, never half of one. It is as sensitive as the most restricted report in it: serve
it only to the agency's own MISP.`,
  options,
  footer: `Examples:
  mosaic export misp-feed --context .mosaic/contexts/operator.json --agency ro-dicot \\
      --out feeds/ro-dicot --reason "MISP feed for ro-dicot"
  mosaic export misp-feed --context .mosaic/contexts/ro-dicot.json --out misp-feed

Exit codes: 0 written, 1 an alert failed verification or a report cannot be carried
(ERR_MISP_UNMAPPABLE), 2 usage error, 3 context or hub unavailable, <dir> cannot be written.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, cli) {
    const role = (await readContextFile(values.context)).role;
    let inputs: ExportInput[];
    if (role === Roles.Agency) {
      for (const name of ['agency', 'reason'] as const)
        if (values[name] !== undefined) throw misUsage(`--${name} applies to an operator's export`);
      await existingFeed(values.out);
      inputs = await agencyInputs(values.context, values.max);
    } else {
      if (values.max !== undefined) throw misUsage("--max applies to an agency's export");
      if (values.agency === undefined) throw misUsage("an operator's export needs --agency");
      if (values.reason === undefined || values.reason.trim() === '')
        throw misUsage("an operator's export needs --reason");
      await existingFeed(values.out);
      inputs = await operatorInputs(values.context, values.agency, values.reason, values.out);
    }
    const written = await writeFeed(inputs, values.out, role === Roles.Agency);
    writeLine(
      cli.stderr,
      `wrote ${written.added} reports to the MISP feed ${values.out} (${written.events} events in it)`,
    );
    return ExitCode.Ok;
  },
});
