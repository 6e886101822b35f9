import { rename, writeFile } from 'node:fs/promises';
import { parseJson, parseReport, type Report } from '@mosaic/contract';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { Roles, readContextFile } from '@mosaic/identities';
import { connectOperator, parseTime, replaySelects, resolveReplayRange } from '@mosaic/operator';
import { Streams, readStream } from '@mosaic/protocol';
import { connectAgency, keysFromHub, type Alert } from '@mosaic/sdk';
import { verifyReport } from '@mosaic/signing';
import {
  bundleToReports,
  reportsToBundle,
  type ExportInput,
  type ImportedReport,
  type StixBundle,
  type StixProblem,
} from '@mosaic/stix';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode, exitCodeOf } from '../exit-codes.ts';
import { checkOutputPath, readInput, reportError, writeLine, type CliIo } from '../io.ts';
import { flag, integer, string, time, type OptionValues } from '../options.ts';

/** A bundle is read whole; larger exports are split with --since/--until. */
const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
const MAX_BUNDLE_DEPTH = 32;

const decoder = new TextDecoder();

/** The report a stored JWS carries (stored reports were verified by ingest). */
function reportOfJws(jws: string): Report {
  const payload = jws.split('.')[1] ?? '';
  return parseReport(Buffer.from(payload, 'base64url'));
}

/** The bundle as JSON text: to a file through a temporary name (never half a bundle), or stdout. */
async function writeBundle(bundle: StixBundle, out: string | undefined, io: CliIo): Promise<void> {
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  if (out === undefined) {
    writeLine(io.stdout, text.trimEnd());
    return;
  }
  const partial = `${out}.partial`;
  try {
    await writeFile(partial, text, { mode: 0o600 });
    await rename(partial, out);
  } catch (cause) {
    throw new MosaicError(ErrorCode.Io, `cannot write ${out}: ${(cause as Error).message}`, {
      details: { path: out },
      cause,
    });
  }
}

const exportOptions = {
  context: string({
    placeholder: '<file>',
    description:
      "an operator context (exports REPORTS, audited as operator.export) or an agency's context (exports its pending alerts, each acknowledged as consulted)",
    required: true,
  }),
  since: time({
    accepts: 'utc-or-now',
    description: 'operator: reports stored at or after the time',
  }),
  until: time({ accepts: 'utc-or-now', description: 'operator: reports stored before the time' }),
  'from-seq': integer({ min: 1, description: 'operator: the first REPORTS sequence' }),
  'to-seq': integer({ min: 1, description: 'operator: the last REPORTS sequence' }),
  agency: string({ placeholder: '<id>', description: 'operator: only reports of this issuer' }),
  max: integer({ min: 1, description: 'agency: at most n alerts' }),
  out: string({ placeholder: '<file>', description: 'write the bundle there instead of stdout' }),
  reason: string({
    placeholder: '<text>',
    description: 'operator: why (kept in the audit entry; required for an operator)',
  }),
};

function exportUsage(message: string): MosaicError {
  return usageError({ path: ['export', 'stix'] }, `${message} (see --help)`);
}

/** The operator's export: REPORTS in a range, recorded before anything is disclosed. */
async function operatorInputs(
  values: OptionValues<typeof exportOptions>,
  justification: string,
): Promise<ExportInput[]> {
  const { since, until, 'from-seq': fromSeq, 'to-seq': toSeq } = values;
  if (since !== undefined && fromSeq !== undefined)
    throw exportUsage('--since and --from-seq exclude each other');
  if (until !== undefined && toSeq !== undefined)
    throw exportUsage('--until and --to-seq exclude each other');
  await using op = await connectOperator(values.context);
  const sinceTime = since === undefined ? undefined : parseTime(since, '--since');
  const untilTime = until === undefined ? undefined : parseTime(until, '--until');
  const range = await resolveReplayRange(op.jsm, Streams.Reports, {
    ...(fromSeq === undefined ? {} : { fromSeq }),
    ...(toSeq === undefined ? {} : { toSeq }),
    ...(sinceTime === undefined ? {} : { since: sinceTime }),
    ...(untilTime === undefined ? {} : { until: untilTime }),
  });
  const selection = values.agency === undefined ? {} : { agency: values.agency };
  await op.record('operator.export', {
    justification,
    details: {
      stream: Streams.Reports,
      fromSeq: range.from,
      toSeq: range.to,
      ...(sinceTime === undefined ? {} : { since: sinceTime }),
      ...(untilTime === undefined ? {} : { until: untilTime }),
      ...selection,
      format: 'stix',
      ...(values.out === undefined ? {} : { out: values.out }),
    },
  });
  const inputs: ExportInput[] = [];
  for await (const m of readStream(op.jsm, Streams.Reports, { from: range.from, to: range.to })) {
    if (!replaySelects(Streams.Reports, m, selection)) continue;
    const jws = decoder.decode(m.data);
    inputs.push({ report: reportOfJws(jws), jws });
  }
  return inputs;
}

/**
 * The agency's export: its pending alerts, each verified end to end. An alert is mapped
 * before it is acknowledged, so one that cannot be exported stops the export unacknowledged.
 */
async function agencyInputs(context: string, max: number | undefined): Promise<ExportInput[]> {
  await using agency = await connectAgency({ context });
  const inputs: ExportInput[] = [];
  const versions = new Map<string, { id: string; created: string }>();
  let invalid = 0;
  await agency.subscribe(
    (alert: Alert) => {
      const input = { report: alert.report, jws: alert.jws };
      const bundle = reportsToBundle([input], {
        previousVersion: (issuer, reportId) => versions.get(`${issuer}/${reportId}`),
      });
      const object = bundle.objects.find((o) => o.type === 'report');
      if (object !== undefined)
        versions.set(`${alert.report.issuer}/${alert.report.reportId}`, {
          id: object.id,
          created: String(object['created']),
        });
      inputs.push(input);
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

export const exportStix = defineCommand({
  path: ['export', 'stix'],
  summary: 'write reports (operator, audited) or your alerts (agency) as a STIX 2.1 bundle',
  usage: `Usage: mosaic export stix --context <operator.json> --reason "<justification>"
                          [--since <time> | --from-seq <n>] [--until <time> | --to-seq <n>]
                          [--agency <id>] [--out <file>]
       mosaic export stix --context <agency.json> [--max <n>] [--out <file>]`,
  description: `Maps signed reports to one STIX 2.1 bundle (docs/stix.md): TLP 2.0 markings, the
Mosaic handling marking for releasable-to / not-releasable-to, and the originator's JWS as
provenance. A restriction that cannot be written fails the export (nothing is written).

With an operator context it exports the REPORTS stream (the range as in mosaic replay) and
records an operator.export audit entry before reading. With an agency's context it reads
the agency's pending alerts from its durable consumer, verifies each originator's
signature, and acknowledges each once it is mapped: like mosaic subscribe, an alert is then
consulted (audited) and not offered again. An alert that cannot be mapped (a supersede of a
report not in this export) stops the export before it is acknowledged. Hit alerts (another
agency's check matched your private holdings) are not reports: they are not exported and
stay pending for mosaic subscribe.

With --out the bundle is written to <file>.partial and renamed, so the file is complete or
absent.`,
  options: exportOptions,
  footer: `Examples:
  mosaic export stix --context .mosaic/contexts/operator.json --agency nl-police \\
      --since 2026-11-01T00:00:00Z --reason "case 2026/118" --out nl.stix.json
  mosaic export stix --context .mosaic/contexts/ro-dicot.json --out alerts.stix.json

Exit codes: 0 exported, 1 an alert failed verification, 2 usage error, 3 context or hub
unavailable, --out cannot be written; 1 also when a report cannot be mapped (ERR_STIX_*).`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    if (values.out !== undefined) await checkOutputPath(values.out);
    const role = (await readContextFile(values.context)).role;
    let inputs: ExportInput[];
    if (role === Roles.Agency) {
      for (const name of ['since', 'until', 'from-seq', 'to-seq', 'agency', 'reason'] as const)
        if (values[name] !== undefined)
          throw exportUsage(`--${name} applies to an operator's export`);
      inputs = await agencyInputs(values.context, values.max);
    } else {
      if (values.max !== undefined) throw exportUsage("--max applies to an agency's export");
      if (values.reason === undefined || values.reason.trim() === '')
        throw exportUsage("an operator's export needs --reason");
      inputs = await operatorInputs(values, values.reason);
    }
    const bundle = reportsToBundle(inputs);
    await writeBundle(bundle, values.out, io);
    writeLine(
      io.stderr,
      `exported ${inputs.length} reports as ${bundle.objects.length} STIX objects` +
        (values.out === undefined ? '' : ` to ${values.out}`),
    );
    return ExitCode.Ok;
  },
});

/** One refusal per object: `<objectId>: error <code>: <message>` and its issues. */
function reportProblems(io: CliIo, problems: StixProblem[]): ExitCode {
  for (const p of problems)
    reportError(
      io.stderr,
      { code: p.code, message: p.message, details: { issues: p.issues ?? [] } },
      `${p.objectId}: `,
    );
  writeLine(io.stderr, `import refused: ${problems.length} problem(s); nothing was submitted`);
  const first = problems[0];
  return first === undefined ? ExitCode.Ok : exitCodeOf(first.code);
}

/** A report to submit: the originator's JWS verbatim when it is the importer's own and verifies. */
interface Prepared {
  objectId: string;
  report: Report;
  jws: string;
}

export const importStix = defineCommand({
  path: ['import', 'stix'],
  summary: "map a STIX 2.1 bundle to reports signed with your agency's key and submit them",
  usage: `Usage: mosaic import stix <bundle.json | -> --context <agency.json> --key <private.jwk>
                          [--dry-run]`,
  description: `Reads a STIX 2.1 bundle written by the Mosaic mapping (docs/stix.md), maps every report
object back to a Mosaic report, signs each with your agency's key and submits them in order
of issue time.

All checks come first: a malformed bundle, an object Mosaic cannot map, a marking it cannot
keep, a report of another agency (ERR_STIX_ISSUER) or a provenance JWS that does not verify
is refused with one line per object on stderr, "<object id>: error <code>: <message>", and
then nothing is submitted. A report carrying your own agency's verifying JWS as provenance
is submitted as that JWS, byte for byte, so importing a bundle exported from this hub
answers "duplicate" instead of a conflict.

The hub may still refuse a report for what only it knows (ERR_ISSUED_TOO_OLD, an unknown
lineage); each answer is a line on stdout as in mosaic publish. Submissions are idempotent:
fix the cause and import the same bundle again.`,
  options: {
    context: string({
      placeholder: '<file>',
      description: "your agency's context file",
      required: true,
    }),
    key: string({
      placeholder: '<file>',
      description: "your agency's private key (.jwk)",
      required: true,
    }),
    'dry-run': flag({ description: 'check and sign everything, submit nothing' }),
  },
  footer: `Examples:
  mosaic import stix bundle.json --context .mosaic/contexts/nl-police.json \\
      --key .mosaic/keys/nl-police.jwk

Exit codes: 0 every report accepted (or a duplicate), 1 refused (a STIX problem or a hub
rejection), 2 usage error, 3 unreadable file, context or key, hub unavailable.`,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const source = positionals[0] ?? '-';
    const bytes = await readInput(source, io);
    let parsed: unknown;
    try {
      // Checked strictly (duplicate keys, depth, size); then read as plain objects.
      parseJson(bytes, { maxBytes: MAX_BUNDLE_BYTES, maxDepth: MAX_BUNDLE_DEPTH });
      parsed = JSON.parse(decoder.decode(bytes));
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      return reportProblems(io, [{ code: err.code, objectId: 'bundle', message: err.message }]);
    }
    const result = bundleToReports(parsed);
    if (!result.ok) return reportProblems(io, result.problems);

    await using agency = await connectAgency({ context: values.context, key: values.key });
    const keys = keysFromHub(agency);
    const problems: StixProblem[] = [];
    const prepared: Prepared[] = [];
    const prepare = async (item: ImportedReport): Promise<void> => {
      const { report, objectId, provenance } = item;
      if (report.issuer !== agency.agency) {
        problems.push({
          code: ErrorCode.StixIssuer,
          objectId,
          message: `report ${report.reportId} is issued by ${report.issuer}, not by ${agency.agency}: an agency imports only its own reports`,
        });
        return;
      }
      if (provenance === undefined) {
        prepared.push({ objectId, report, jws: await agency.sign(report) });
        return;
      }
      try {
        await verifyReport(provenance.jws, keys);
      } catch (err) {
        if (!isMosaicError(err)) throw err;
        problems.push({
          code: ErrorCode.StixProvenance,
          objectId,
          message: `its provenance JWS does not verify: ${err.code}: ${err.message}`,
        });
        return;
      }
      prepared.push({ objectId, report, jws: provenance.jws });
    };
    for (const item of result.reports) await prepare(item);
    if (problems.length > 0) return reportProblems(io, problems);

    // Earlier versions first: a supersede or retraction needs what it refers to stored.
    prepared.sort((a, b) => Date.parse(a.report.issuedAt) - Date.parse(b.report.issuedAt));
    if (values['dry-run']) {
      writeLine(io.stderr, `dry run: ${prepared.length} reports would be submitted`);
      return ExitCode.Ok;
    }
    let refused = 0;
    let firstCode: ErrorCode | undefined;
    for (const item of prepared) {
      const reply = await agency.publishSigned(item.jws);
      writeLine(io.stdout, JSON.stringify({ objectId: item.objectId, ...reply }));
      if (!reply.ok) {
        refused++;
        firstCode ??= reply.code;
        reportError(io.stderr, reply, `${item.objectId}: `);
      }
    }
    writeLine(
      io.stderr,
      `imported ${prepared.length - refused} of ${prepared.length} reports` +
        (refused === 0 ? '' : `; ${refused} refused by the hub`),
    );
    return firstCode === undefined ? ExitCode.Ok : exitCodeOf(firstCode);
  },
});
