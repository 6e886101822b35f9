import { randomUUID } from 'node:crypto';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ErrorCode, isMosaicError } from '@mosaic/errors';
import {
  ROUTER_CONSUMER,
  SELECTOR_INDEX_STREAM,
  Streams,
  alertsConsumer,
  type CheckResult,
} from '@mosaic/protocol';
import type { Hub } from '@mosaic/hub';
import { connectOperator } from '@mosaic/operator';
import {
  checkSelectors,
  connectAgency,
  registerHoldings,
  type Alert,
  type AlertReason,
  type AgencyClient,
  type HitNotice,
  type PublishReply,
} from '@mosaic/sdk';
import { canonicalSelector, type Selector } from '@mosaic/selectors';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { CliIo } from './io.ts';
import { writeLine } from './io.ts';

/** What the demo needs of a running hub, a single node or a cluster. */
type DemoHub = Pick<Hub, 'dataDir' | 'contextsDir' | 'keysDir' | 'registry'>;

const examplesDir = new URL('../../../schemas/examples/valid/', import.meta.url);

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * An example report re-issued now under a fresh id. The hub refuses an `issuedAt` older than
 * its maximum report age, and an example file only ages; fresh ids (one map for all examples,
 * so a retraction or supersede still names the example it refers to) make each run publish
 * new reports instead of conflicting with the ones an earlier run stored.
 */
function reissue(bytes: Uint8Array, ids: Map<string, string>, issuedAt: string): Uint8Array {
  const fresh = (id: unknown): unknown => {
    if (typeof id !== 'string') return id;
    let next = ids.get(id);
    if (next === undefined) {
      next = randomUUID();
      ids.set(id, next);
    }
    return next;
  };
  const report = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  const lineage = report['lineage'] as
    { retracts?: unknown; supersedes?: unknown; relatesTo?: unknown } | undefined;
  const renamed = (list: unknown): unknown => (Array.isArray(list) ? list.map(fresh) : list);
  const reissued = {
    ...report,
    reportId: fresh(report['reportId']),
    issuedAt,
    ...(lineage === undefined
      ? {}
      : {
          lineage: {
            ...lineage,
            ...(lineage.retracts === undefined ? {} : { retracts: fresh(lineage.retracts) }),
            ...(lineage.supersedes === undefined
              ? {}
              : { supersedes: renamed(lineage.supersedes) }),
            ...(lineage.relatesTo === undefined ? {} : { relatesTo: renamed(lineage.relatesTo) }),
          },
        }),
  };
  return new TextEncoder().encode(`${JSON.stringify(reissued, null, 2)}\n`);
}

function outcome(reply: PublishReply): string {
  if (!reply.ok) return `rejected  ${reply.code}: ${reply.message}`;
  return reply.duplicate ? `duplicate seq ${reply.seq}` : `accepted  seq ${reply.seq}`;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until the router has routed every stored report; false on timeout. */
async function routed(jsm: JetStreamManager, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const last = (await jsm.streams.info(Streams.Reports)).state.last_seq;
    const router = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
    if (router.ack_floor.stream_seq >= last && router.num_ack_pending === 0) return true;
    await delay(50);
  }
  return false;
}

/** Alerts waiting in the agency's consumer (delivered or not); undefined without a consumer. */
async function waiting(jsm: JetStreamManager, agency: string): Promise<number | undefined> {
  try {
    const info = await jsm.consumers.info(Streams.Alerts, alertsConsumer(agency));
    return info.num_pending + info.num_ack_pending;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)
      return undefined;
    throw err;
  }
}

/** Thrown by the demo's handler at an alert of a report the demo did not publish. */
class NotTheDemos extends Error {}

function why(reason: AlertReason): string {
  const rule = reason['rule'] as { index?: number; name?: string } | undefined;
  const named = rule === undefined ? '' : `, rule ${rule.name ?? `#${rule.index ?? '?'}`}`;
  return `${reason.clause ?? '?'} via ${reason.via ?? '?'}${named}`;
}

/**
 * Each agency of the federation subscribes (as \`mosaic subscribe\` would, verifying every
 * originator's signature itself) and the demo shows who received which report and why, then
 * for each report published in this run, the agencies that received nothing. Only alerts of
 * the reports this run published are read (and so recorded as consulted): an agency that had
 * alerts waiting before the demo is not read at all, the others only as many alerts as were
 * routed to them since. False when the router had not caught up and nothing was read.
 */
async function showAlerts(
  hub: DemoHub,
  jsm: JetStreamManager,
  before: ReadonlyMap<string, number | undefined>,
  published: ReadonlyMap<string, { file: string; issuer: string }>,
  out: (text: string) => void,
): Promise<boolean> {
  if (!(await routed(jsm))) {
    out('mosaic demo: the router has not caught up yet; try "mosaic subscribe" in a moment');
    return false;
  }
  out(
    'mosaic demo: alerts — each agency reads its own alerts consumer and verifies the originator’s signature itself',
  );
  const agencies = [...before.keys()];
  const receivedBy = new Map<string, string[]>();
  for (const agency of agencies) {
    const earlier = before.get(agency);
    if (earlier === undefined || earlier > 0) {
      out(
        `  ${agency.padEnd(13)} not read: ${earlier === undefined ? 'no alerts consumer yet' : `${earlier} alerts were waiting before the demo; they stay for "mosaic subscribe"`}`,
      );
      continue;
    }
    const routedHere = (await waiting(jsm, agency)) ?? 0;
    const got: Alert[] = [];
    let foreign = false;
    if (routedHere > 0) {
      await using subscriber = await connectAgency({
        context: join(hub.contextsDir, `${agency}.json`),
      });
      try {
        await subscriber.subscribe(
          (alert) => {
            if (!published.has(`${alert.originator}/${alert.report.reportId}`))
              throw new NotTheDemos();
            got.push(alert);
          },
          {
            max: routedHere,
            onInvalid: (bad) => {
              out(`    refused seq ${bad.seq}: ${bad.code}: ${bad.message}`);
            },
          },
        );
      } catch (err) {
        if (!(err instanceof NotTheDemos)) throw err;
        foreign = true;
      }
    }
    out(`  ${agency.padEnd(13)} ${got.length} alert${got.length === 1 ? '' : 's'}`);
    for (const alert of got) {
      const key = `${alert.originator}/${alert.report.reportId}`;
      receivedBy.set(key, [...(receivedBy.get(key) ?? []), agency]);
      const file = published.get(key)?.file ?? alert.report.reportId;
      out(
        `    ${alert.kind.padEnd(10)} ${file.padEnd(28)} from ${alert.originator.padEnd(13)} ${why(alert.reason)}`,
      );
      for (const r of alert.related) {
        const earlier = published.get(`${r.issuer}/${r.reportId}`)?.file ?? 'an earlier report';
        out(
          `      related: ${earlier}, report ${r.reportId} by ${r.issuer} (REPORTS seq ${r.seq}), shares a ${r.kinds.join(' and a ')} selector`,
        );
      }
    }
    if (foreign) out('    (then an alert the demo did not publish: left for "mosaic subscribe")');
  }
  out(
    'mosaic demo: who received nothing (rules, TLP and release lists decided; see docs/policy.md)',
  );
  for (const [key, { file, issuer }] of published) {
    const to = receivedBy.get(key) ?? [];
    const none = agencies.filter((a) => a !== issuer && !to.includes(a));
    out(
      `  ${file.padEnd(28)} to ${to.length === 0 ? 'nobody' : to.join(', ')}; not to ${none.length === 0 ? 'anyone else' : none.join(', ')}`,
    );
  }
  out('  (the demo acknowledged these alerts: "mosaic subscribe" shows the ones that come next)');
  return true;
}

/** A phone number as an agency wrote it: international, or national in `country`. */
interface Written {
  number: string;
  country?: string;
}

const spelled = (w: Written): string =>
  `${w.number}${w.country === undefined ? '' : ` (${w.country})`}`;

const phone = (w: Written): Selector =>
  canonicalSelector(
    'phone',
    w.country === undefined ? w.number : { number: w.number, country: w.country },
  );

/**
 * The demo's private holding and the checks against it, each number as its agency wrote it
 * (the selectors package makes each the same E.164 selector). de-bka is named to the holder
 * by nl-police's hit policy in the demo federation, ro-dicot is not.
 */
const correlation = {
  holder: 'nl-police',
  holding: { number: '06 1234 5678', country: 'NL' },
  reference: 'NL-2026-OPS-0417',
  checks: [
    {
      asker: 'de-bka',
      selectors: [{ number: '+31 6 12 34 56 78' }, { number: '+49 151 2345 6789' }],
    },
    {
      asker: 'ro-dicot',
      selectors: [
        { number: '0031 6 1234 5678', country: 'RO' },
        { number: '0744 000 111', country: 'RO' },
      ],
    },
  ],
} as const satisfies {
  holder: string;
  holding: Written;
  reference: string;
  checks: readonly { asker: string; selectors: readonly Written[] }[];
};

/** Whether the router indexes selectors: SELECTOR_INDEX exists and holds entries. */
async function indexing(jsm: JetStreamManager): Promise<boolean> {
  try {
    return (await jsm.streams.info(SELECTOR_INDEX_STREAM)).state.messages > 0;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)
      return false;
    throw err;
  }
}

function answer(result: CheckResult | undefined): string {
  if (result === undefined) return 'no answer';
  if (!result.hit) return 'no-hit';
  if (result.holders.length === 0) return 'hit: the holder has been notified';
  return `hit: held by ${result.holders.join(', ')}${result.othersNotified ? '; other holders have been notified' : ''}`;
}

/**
 * Correlation: says whether the router indexes selectors (the `related` lines of the
 * alerts), then the holder registers a private holding with its own reference, each asker
 * checks a list holding it (spelled its own way) and an unknown number and sees hit or
 * no-hit — naming the holder only where the holder's hit policy allows — and the holder
 * reads the `hit` alerts of these checks (only when it had no alerts waiting before the
 * demo and the demo read its report alerts: it reads nothing it did not cause). On a hub without the index, the key service or
 * the holdings service it says that correlation is not running instead.
 */
async function showCorrelation(
  hub: DemoHub,
  jsm: JetStreamManager,
  before: ReadonlyMap<string, number | undefined>,
  out: (text: string) => void,
): Promise<void> {
  if (!(await indexing(jsm)))
    out(
      'mosaic demo: correlation is not running on this hub: the router indexes no selectors, so alerts name no related reports',
    );
  const { holder, holding, reference, checks } = correlation;
  const agencies = [holder, ...checks.map((c) => c.asker)];
  const missing = agencies.filter((a) => hub.registry.agency(a) === undefined);
  if (missing.length > 0) {
    out(
      `mosaic demo: no private holdings shown: ${missing.join(', ')} not in this federation (the demo federation has them)`,
    );
    return;
  }
  const context = (agency: string): string => join(hub.contextsDir, `${agency}.json`);
  const checkIds = new Set<string>();
  try {
    {
      await using c = await connectAgency({ context: context(holder) });
      await registerHoldings(c.connection, c.agency, [{ selector: phone(holding), reference }]);
    }
    out(
      'mosaic demo: private holdings — hit/no-hit on selectors an agency holds but does not share; each is blinded on the agency side, the hub sees only tokens (docs/privacy.md)',
    );
    out(
      `  ${holder.padEnd(13)} registers phone ${spelled(holding)} as a private holding, its own reference ${reference}`,
    );
    for (const { asker, selectors } of checks) {
      await using c = await connectAgency({ context: context(asker) });
      const { checkIds: ids, results } = await checkSelectors(
        c.connection,
        c.agency,
        selectors.map(phone),
      );
      for (const id of ids) checkIds.add(id);
      out(`  ${asker.padEnd(13)} checks ${selectors.length} phone numbers`);
      for (const written of selectors)
        out(`    ${spelled(written).padEnd(24)} ${answer(results.get(phone(written)))}`);
    }
  } catch (err) {
    if (!isMosaicError(err, ErrorCode.Unavailable)) throw err;
    out(`mosaic demo: correlation is not running on this hub: ${err.message}`);
    return;
  }
  if (before.get(holder) !== 0) {
    out(
      `  ${holder.padEnd(13)} hit alerts not read: other alerts wait before them; they stay for "mosaic subscribe"`,
    );
    return;
  }
  const hits: HitNotice[] = [];
  let foreign = false;
  const done = new AbortController();
  try {
    await using c = await connectAgency({ context: context(holder) });
    await c.subscribe(
      () => {
        throw new NotTheDemos();
      },
      {
        signal: done.signal,
        onHit: (hit) => {
          if (!checkIds.has(hit.checkId)) throw new NotTheDemos();
          hits.push(hit);
          if (hits.length === checkIds.size) done.abort();
        },
      },
    );
  } catch (err) {
    if (!(err instanceof NotTheDemos)) throw err;
    foreign = true;
  }
  out(`  ${holder.padEnd(13)} ${hits.length} hit alert${hits.length === 1 ? '' : 's'}`);
  for (const hit of hits)
    for (const h of hit.holdings)
      out(
        `    hit        ${hit.asker} checked the ${h.kind} of its holding ${h.reference}; ${hit.asker} ${h.named ? `was told ${holder} holds it` : 'was not told who holds it'}`,
      );
  if (foreign) out('    (then an alert the demo did not cause: left for "mosaic subscribe")');
}

/** What to try next, from another terminal. */
function hints(hub: DemoHub, issuer: string, file: string): string {
  const here = (path: string): string => relative(process.cwd(), path);
  return (
    `  npx mosaic publish --context ${here(join(hub.contextsDir, `${issuer}.json`))} --key ${here(join(hub.keysDir, `${issuer}.jwk`))} ${here(join(hub.dataDir, 'examples', file))}\n` +
    `  npx mosaic subscribe --context ${here(join(hub.contextsDir, 'ro-dicot.json'))} --follow`
  );
}

/**
 * The scripted part of `mosaic dev --demo`: publishes the example reports whose issuer
 * is an agency of the running federation with a key in `<data-dir>/keys/`, each with the
 * issuer's own context and key through the SDK, shows every reply, sends the first
 * accepted one again (idempotent), and shows a report signed by one agency refused on
 * another agency's connection, then shows the alerts each agency received (and why) and,
 * per report, the agencies that received nothing (and, under each alert, the earlier reports
 * the hub found related), then private holdings and checks (`showCorrelation`). Each example
 * is re-issued now under a fresh id (`reissue`), so every run publishes new reports the
 * hub's time bounds accept.
 * On a hub that already stores reports it does nothing (and says so on stderr) unless
 * `again`: a restart must not publish, nor read and record as consulted, anything.
 */
export async function runDevDemo(
  hub: DemoHub,
  io: CliIo,
  options: { again?: boolean } = {},
): Promise<void> {
  const out = (text: string): void => {
    writeLine(io.stdout, text);
  };
  await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
  const stored = (await op.jsm.streams.info(Streams.Reports)).state.messages;
  if (stored > 0 && options.again !== true) {
    writeLine(
      io.stderr,
      `mosaic demo: ${hub.dataDir} already holds ${stored} reports: not publishing the demo reports again, and reading no agency's alerts (--demo-again publishes them anyway)`,
    );
    out(
      `mosaic demo: skipped. From another terminal:\n${hints(hub, 'de-bka', 'financial-flow.json')}`,
    );
    return;
  }
  const clients = new Map<string, AgencyClient>();
  const client = async (agency: string): Promise<AgencyClient> => {
    let c = clients.get(agency);
    if (c === undefined) {
      c = await connectAgency({
        context: join(hub.contextsDir, `${agency}.json`),
        key: join(hub.keysDir, `${agency}.jwk`),
      });
      clients.set(agency, c);
    }
    return c;
  };
  try {
    const files = (await readdir(examplesDir)).filter((f) => f.endsWith('.json')).sort();
    const usable: { file: string; issuer: string; bytes: Uint8Array }[] = [];
    const ids = new Map<string, string>();
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const file of files) {
      const bytes = reissue(await readFile(new URL(file, examplesDir)), ids, now);
      const { issuer } = JSON.parse(new TextDecoder().decode(bytes)) as { issuer?: unknown };
      if (typeof issuer !== 'string' || hub.registry.agency(issuer) === undefined) continue;
      if (!(await exists(join(hub.keysDir, `${issuer}.jwk`)))) continue;
      usable.push({ file, issuer, bytes });
    }
    out(
      `mosaic demo: ${usable.length} example reports (schemas/examples/valid) are issued by demo agencies; each is re-issued now under a fresh id, signed with its issuer's key and published on its issuer's connection`,
    );
    if (usable.length === 0) return;
    // The re-issued copies, for publishing by hand: the example files themselves are too old.
    const reissuedDir = join(hub.dataDir, 'examples');
    await mkdir(reissuedDir, { recursive: true });
    for (const example of usable)
      await writeFile(join(reissuedDir, example.file), example.bytes, { mode: 0o644 });
    // What each agency had waiting before: the demo reads only what its own reports add.
    const before = new Map<string, number | undefined>();
    for (const agency of hub.registry
      .federation()
      .agencies.map((a) => a.id)
      .sort())
      before.set(agency, await waiting(op.jsm, agency));
    let first: (typeof usable)[number] | undefined;
    const published = new Map<string, { file: string; issuer: string }>();
    for (const example of usable) {
      const reply = await (await client(example.issuer)).publish(example.bytes);
      if (reply.ok && first === undefined) first = example;
      if (reply.ok && !reply.duplicate)
        published.set(`${example.issuer}/${reply.reportId}`, {
          file: example.file,
          issuer: example.issuer,
        });
      out(`  ${example.file.padEnd(28)} ${example.issuer.padEnd(13)} ${outcome(reply)}`);
      out(`    ${JSON.stringify(reply)}`);
    }
    if (first !== undefined) {
      const reply = await (await client(first.issuer)).publish(first.bytes);
      out(`  ${`${first.file} again`.padEnd(28)} ${first.issuer.padEnd(13)} ${outcome(reply)}`);
      out(`    ${JSON.stringify(reply)}`);
    }
    const signer = usable[0];
    const other =
      [...clients.keys()].find((a) => a !== signer?.issuer) ??
      hub.registry.federation().agencies.find((a) => a.id !== signer?.issuer)?.id;
    if (signer !== undefined && other !== undefined) {
      const jws = await (await client(signer.issuer)).sign(signer.bytes);
      const reply = await (await client(other)).publishSigned(jws);
      out(
        `  ${signer.file} signed by ${signer.issuer}, sent on ${other}'s connection: ${outcome(reply)}`,
      );
      out(`    ${JSON.stringify(reply)}`);
    }
    const read = await showAlerts(hub, op.jsm, before, published, out);
    await showCorrelation(hub, op.jsm, read ? before : new Map(), out);
    out(
      `mosaic demo: done. The hub keeps running (Ctrl-C stops it). From another terminal:\n${hints(hub, usable[0]?.issuer ?? 'de-bka', usable[0]?.file ?? 'financial-flow.json')}`,
    );
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
}
