import {
  connectAgency,
  type Alert,
  type AgencyClient,
  type HitNotice,
  type SubscribeSummary,
} from '@mosaic/sdk';
import { readPublicKeyFile } from '@mosaic/signing';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine, writeOut, type CliIo } from '../io.ts';
import { duration, flag, integer, oneOf, string, time } from '../options.ts';

/** One NDJSON line: the report is the one the originator signed, parsed from its exact bytes. */
function line(alert: Alert): string {
  return JSON.stringify({
    id: alert.id,
    kind: alert.kind,
    originator: alert.originator,
    reportId: alert.report.reportId,
    reason: alert.reason,
    ...(alert.refersTo === undefined ? {} : { refersTo: alert.refersTo }),
    ...(alert.related.length === 0 ? {} : { related: alert.related }),
    seq: alert.seq,
    reportSeq: alert.reportSeq,
    storedAt: alert.storedAt.toISOString(),
    report: JSON.parse(new TextDecoder().decode(alert.payload)) as unknown,
  });
}

/** One NDJSON line of a hit alert: who checked, and which of your holdings matched. */
function hitLine(hit: HitNotice): string {
  return JSON.stringify({
    id: hit.id,
    kind: hit.kind,
    asker: hit.asker,
    checkId: hit.checkId,
    checkedAt: hit.checkedAt.toISOString(),
    holdings: hit.holdings,
    seq: hit.seq,
    storedAt: hit.storedAt.toISOString(),
  });
}

function summaryLine(s: SubscribeSummary): string {
  const parts = [`${s.delivered} alerts`];
  if (s.hits > 0) parts.push(`${s.hits} hits`);
  if (s.invalid > 0) parts.push(`${s.invalid} refused`);
  if (s.skipped > 0) parts.push(`${s.skipped} skipped (stored before --since)`);
  const why = { drained: 'none pending', max: '--max reached', aborted: 'interrupted' }[s.stopped];
  return `subscribe: ${parts.join(', ')}; stopped: ${why}`;
}

export const subscribe = defineCommand({
  path: ['subscribe'],
  summary: 'print your agency’s alerts (verified end to end) as NDJSON',
  usage: `Usage: mosaic subscribe --context <file> [--key-source hub | --jwks <file>]
                        [--follow [--reconnect-timeout <duration>]] [--max <n>]
                        [--since <time>]`,
  description: `Reads the alerts the hub routed to your agency from your durable consumer, in the order
the hub stored them, verifies each originator's signature yourself and prints one JSON
line per alert on stdout:
  {"id":"<issuer>/<reportId>/<you>","kind":"report","originator":"de-bka","reportId":"…",
   "reason":{"clause":"…","via":"…"},"seq":12,"reportSeq":40,"storedAt":"…","report":{…}}
"report" is the report exactly as its originator signed it; "reason" is why the rules
sent it to you; "seq" is the alert's sequence in ALERTS. Retractions and supersedes
(kind "retraction" / "supersede") carry "refersTo": the report ids they concern.
A "hit" alert says another agency checked a selector you registered as a private holding
(mosaic selectors register):
  {"id":"hit/<checkId>/<you>","kind":"hit","asker":"de-bka","checkId":"…","checkedAt":"…",
   "holdings":[{"kind":"phone","reference":"<your reference>","named":true}],"seq":13,…}
"named" tells whether the asker was told it is you (your hit policy).

An alert whose report shares a selector (phone number, IBAN, document, …, compared as
OPRF tokens, never in clear) with earlier reports you hold — received, or your own —
carries "related": [{"issuer":"ro-dicot","reportId":"…","seq":3,"kinds":["phone"]}].

Each alert is acknowledged only after its line was written, so a later run resumes after
the last line printed; an alert may be printed twice after a crash — dedupe on "id".
When standard output is closed by its reader (e.g. "| head -1") it stops at once: the
alert whose line could not be written is not acknowledged, and exits 141 quietly.
Alerts that fail verification are not printed: "refused seq <n>: <code>: <message>" goes
to stderr and they are not delivered again.

Keys: by default the originators' public keys come from the hub's public-keys bucket
(mosaic-keys, kept equal to the registry). Not trusting the hub with them? Pin them:
--jwks <file> with a JWKS you obtained out of band (validity in mosaic:notBefore,
mosaic:notAfter, mosaic:revokedAt); alerts signed by other keys are then refused.`,
  options: {
    context: string({
      placeholder: '<file>',
      description: "your agency's context file (hub URL and NATS credentials)",
      required: true,
    }),
    'key-source': oneOf({
      values: ['hub'],
      placeholder: 'hub',
      description: 'verify with the keys the hub distributes (the default)',
    }),
    jwks: string({
      placeholder: '<file>',
      description: 'verify only with the keys of this JWK/JWKS file',
    }),
    follow: flag({
      description:
        'keep waiting for new alerts until Ctrl-C (which stops after acknowledging what was printed); default: exit when none is pending',
    }),
    max: integer({ min: 1, description: 'stop after printing n alerts' }),
    'reconnect-timeout': duration({
      description:
        'with --follow: how long the hub may stay unreachable (a restart) before giving up with exit 3; meanwhile it reconnects and resumes (60s, 2m, 500ms)',
      showDefault: '60s',
    }),
    since: time({
      accepts: 'rfc3339-or-date',
      description:
        'acknowledge, without printing, pending alerts the hub stored before <time> (RFC 3339 or YYYY-MM-DD, UTC): your consumer is durable, so this only skips ahead — it never replays alerts already printed, and the skipped ones are not offered again (their count goes to stderr)',
    }),
  },
  footer: `Examples:
  mosaic subscribe --context .mosaic/contexts/ro-dicot.json > alerts.ndjson
  mosaic subscribe --context ctx.json --follow | jq -c '{kind, originator, reportId}'
  mosaic subscribe --context ctx.json --jwks federation-keys.jwks --max 10

Exit codes: 0 ok, 1 at least one alert refused (failed verification), 2 usage error,
            3 hub unreachable (following: longer than --reconnect-timeout), no alerts
            consumer yet, unreadable context or JWKS file.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io: CliIo) {
    const { context, max, follow, jwks, 'reconnect-timeout': reconnectTimeoutMs } = values;
    const since = values.since === undefined ? undefined : new Date(values.since);
    if (jwks !== undefined && values['key-source'] !== undefined)
      throw usageError(subscribe, '--key-source hub and --jwks exclude each other');
    const keys = jwks === undefined ? undefined : await readPublicKeyFile(jwks);
    const agency: AgencyClient = await connectAgency({ context });
    const controller = new AbortController();
    const stop = (): void => {
      controller.abort();
    };
    if (follow) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    try {
      const summary = await agency.subscribe((alert) => writeOut(io.stdout, line(alert)), {
        follow,
        signal: controller.signal,
        ...(max === undefined ? {} : { max }),
        ...(since === undefined ? {} : { since }),
        ...(keys === undefined ? {} : { keys }),
        ...(reconnectTimeoutMs === undefined ? {} : { reconnectTimeoutMs }),
        onHit: (hit) => writeOut(io.stdout, hitLine(hit)),
        onInvalid: (bad) => {
          writeLine(io.stderr, `refused seq ${bad.seq}: ${bad.code}: ${bad.message}`);
        },
      });
      writeLine(io.stderr, summaryLine(summary));
      return summary.invalid > 0 ? ExitCode.Rejected : ExitCode.Ok;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await agency.close();
    }
  },
});
