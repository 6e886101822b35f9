import { ErrorCode, MosaicError } from '@mosaic/errors';
import { connectAgency, type Alert, type AgencyClient, type SubscribeSummary } from '@mosaic/sdk';
import { readPublicKeyFile, type KeyLookup } from '@mosaic/signing';
import { requireOption, type Command, type ParsedArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine, writeOut, type CliIo } from '../io.ts';

const RFC3339 =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function usage(message: string): MosaicError {
  return new MosaicError(ErrorCode.Usage, `mosaic subscribe: ${message}`);
}

function maxOf(args: ParsedArgs): number | undefined {
  const raw = args.values['max'];
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= 1)) throw usage('--max must be a positive integer');
  return n;
}

function sinceOf(args: ParsedArgs): Date | undefined {
  const raw = args.values['since'];
  if (raw === undefined) return undefined;
  const time = typeof raw === 'string' && RFC3339.test(raw) ? new Date(raw) : undefined;
  if (time === undefined || Number.isNaN(time.getTime()))
    throw usage('--since must be an RFC 3339 time (2025-06-01T00:00:00Z) or a date (2025-06-01)');
  return time;
}

/** --reconnect-timeout: 90, 90s, 2m or 500ms; in ms. */
function reconnectTimeoutOf(args: ParsedArgs): number | undefined {
  const raw = args.values['reconnect-timeout'];
  if (raw === undefined) return undefined;
  const m = typeof raw === 'string' ? /^(\d+)(ms|s|m)?$/.exec(raw) : null;
  if (m === null) throw usage('--reconnect-timeout must be a duration such as 60s, 2m or 500ms');
  const unit = { ms: 1, s: 1_000, m: 60_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm'];
  return Number(m[1]) * unit;
}

async function keysOf(args: ParsedArgs): Promise<KeyLookup | undefined> {
  const source = args.values['key-source'];
  const jwks = args.values['jwks'];
  if (source !== undefined && source !== 'hub')
    throw usage(
      `--key-source must be "hub" (or give --jwks <file>), not ${JSON.stringify(source)}`,
    );
  if (jwks === undefined) return undefined;
  if (source !== undefined) throw usage('--key-source hub and --jwks exclude each other');
  if (typeof jwks !== 'string' || jwks === '') throw usage('--jwks needs a file');
  return readPublicKeyFile(jwks);
}

/** One NDJSON line: the report is the one the originator signed, parsed from its exact bytes. */
function line(alert: Alert): string {
  return JSON.stringify({
    id: alert.id,
    kind: alert.kind,
    originator: alert.originator,
    reportId: alert.report.reportId,
    reason: alert.reason,
    ...(alert.refersTo === undefined ? {} : { refersTo: alert.refersTo }),
    seq: alert.seq,
    reportSeq: alert.reportSeq,
    storedAt: alert.storedAt.toISOString(),
    report: JSON.parse(new TextDecoder().decode(alert.payload)) as unknown,
  });
}

function summaryLine(s: SubscribeSummary): string {
  const parts = [`${s.delivered} alerts`];
  if (s.invalid > 0) parts.push(`${s.invalid} refused`);
  if (s.skipped > 0) parts.push(`${s.skipped} skipped (stored before --since)`);
  const why = { drained: 'none pending', max: '--max reached', aborted: 'interrupted' }[s.stopped];
  return `subscribe: ${parts.join(', ')}; stopped: ${why}`;
}

export const subscribe: Command = {
  path: ['subscribe'],
  summary: 'print your agency’s alerts (verified end to end) as NDJSON',
  help: `Usage: mosaic subscribe --context <file> [--key-source hub | --jwks <file>]
                        [--follow [--reconnect-timeout <duration>]] [--max <n>]
                        [--since <time>]

Reads the alerts the hub routed to your agency from your durable consumer, in the order
the hub stored them, verifies each originator's signature yourself and prints one JSON
line per alert on stdout:
  {"id":"<issuer>/<reportId>/<you>","kind":"report","originator":"de-bka","reportId":"…",
   "reason":{"clause":"…","via":"…"},"seq":12,"reportSeq":40,"storedAt":"…","report":{…}}
"report" is the report exactly as its originator signed it; "reason" is why the rules
sent it to you; "seq" is the alert's sequence in ALERTS. Retractions and supersedes
(kind "retraction" / "supersede") carry "refersTo": the report ids they concern.

Each alert is acknowledged only after its line was written, so a later run resumes after
the last line printed; an alert may be printed twice after a crash — dedupe on "id".
When standard output is closed by its reader (e.g. "| head -1") it stops at once: the
alert whose line could not be written is not acknowledged, and exits 141 quietly.
Alerts that fail verification are not printed: "refused seq <n>: <code>: <message>" goes
to stderr and they are not delivered again.

Keys: by default the originators' public keys come from the hub's public-keys bucket
(mosaic-keys, kept equal to the registry). Not trusting the hub with them? Pin them:
--jwks <file> with a JWKS you obtained out of band (validity in mosaic:notBefore,
mosaic:notAfter, mosaic:revokedAt); alerts signed by other keys are then refused.

Options:
  --context <file>      your agency's context file (hub URL and NATS credentials)
  --key-source hub      verify with the keys the hub distributes (the default)
  --jwks <file>         verify only with the keys of this JWK/JWKS file
  --follow              keep waiting for new alerts until Ctrl-C (which stops after
                        acknowledging what was printed); default: exit when none is pending
  --max <n>             stop after printing n alerts
  --reconnect-timeout <duration>
                        with --follow: how long the hub may stay unreachable (a restart)
                        before giving up with exit 3; meanwhile it reconnects and resumes
                        (60s, 2m, 500ms; default 60s)
  --since <time>        acknowledge, without printing, pending alerts the hub stored before
                        <time> (RFC 3339 or YYYY-MM-DD, UTC): your consumer is durable, so
                        this only skips ahead — it never replays alerts already printed, and
                        the skipped ones are not offered again (their count goes to stderr)
  -h, --help            show this help

Examples:
  mosaic subscribe --context .mosaic/contexts/ro-dicot.json > alerts.ndjson
  mosaic subscribe --context ctx.json --follow | jq -c '{kind, originator, reportId}'
  mosaic subscribe --context ctx.json --jwks federation-keys.jwks --max 10

Exit codes: 0 ok, 1 at least one alert refused (failed verification), 2 usage error,
            3 hub unreachable (following: longer than --reconnect-timeout), no alerts
            consumer yet, unreadable context or JWKS file.`,
  options: {
    context: { type: 'string' },
    'key-source': { type: 'string' },
    jwks: { type: 'string' },
    follow: { type: 'boolean' },
    max: { type: 'string' },
    since: { type: 'string' },
    'reconnect-timeout': { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io: CliIo) {
    const context = requireOption(args, 'context', this);
    const max = maxOf(args);
    const since = sinceOf(args);
    const keys = await keysOf(args);
    const reconnectTimeoutMs = reconnectTimeoutOf(args);
    const follow = args.values['follow'] === true;
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
};
