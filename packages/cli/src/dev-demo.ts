import { randomUUID } from 'node:crypto';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  HUB_API_PREFIX,
  ROUTER_CONSUMER,
  Streams,
  contextConnectOptions,
  readContextFile,
} from '@mosaic/federation';
import type { Hub } from '@mosaic/hub';
import {
  connectAgency,
  type Alert,
  type AlertReason,
  type AgencyClient,
  type PublishReply,
} from '@mosaic/sdk';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { CliIo } from './io.ts';
import { writeLine } from './io.ts';

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
async function routed(hub: Hub, timeoutMs = 15_000): Promise<boolean> {
  const nc = await connect(
    contextConnectOptions(await readContextFile(join(hub.contextsDir, 'operator.json'))),
  );
  try {
    const jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const last = (await jsm.streams.info(Streams.Reports)).state.last_seq;
      const router = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
      if (router.ack_floor.stream_seq >= last && router.num_ack_pending === 0) return true;
      await delay(50);
    }
    return false;
  } finally {
    await nc.close();
  }
}

function why(reason: AlertReason): string {
  const rule = reason['rule'] as { index?: number; name?: string } | undefined;
  const named = rule === undefined ? '' : `, rule ${rule.name ?? `#${rule.index ?? '?'}`}`;
  return `${reason.clause ?? '?'} via ${reason.via ?? '?'}${named}`;
}

/**
 * Each agency of the federation subscribes (as \`mosaic subscribe\` would, verifying every
 * originator's signature itself) and the demo shows who received which report and why, then
 * for each report published in this run, the agencies that received nothing.
 */
async function showAlerts(
  hub: Hub,
  published: ReadonlyMap<string, { file: string; issuer: string }>,
  out: (text: string) => void,
): Promise<void> {
  if (!(await routed(hub))) {
    out('mosaic demo: the router has not caught up yet; try "mosaic subscribe" in a moment');
    return;
  }
  out(
    'mosaic demo: alerts — each agency reads its own alerts consumer and verifies the originator’s signature itself',
  );
  const agencies = hub.registry
    .federation()
    .agencies.map((a) => a.id)
    .sort();
  const receivedBy = new Map<string, string[]>();
  for (const agency of agencies) {
    await using subscriber = await connectAgency({
      context: join(hub.contextsDir, `${agency}.json`),
    });
    const got: Alert[] = [];
    const summary = await subscriber.subscribe(
      (alert) => {
        got.push(alert);
      },
      {
        onInvalid: (bad) => {
          out(`    refused seq ${bad.seq}: ${bad.code}: ${bad.message}`);
        },
      },
    );
    out(`  ${agency.padEnd(13)} ${summary.delivered} alert${summary.delivered === 1 ? '' : 's'}`);
    for (const alert of got) {
      const key = `${alert.originator}/${alert.report.reportId}`;
      receivedBy.set(key, [...(receivedBy.get(key) ?? []), agency]);
      const file = published.get(key)?.file ?? alert.report.reportId;
      out(
        `    ${alert.kind.padEnd(10)} ${file.padEnd(28)} from ${alert.originator.padEnd(13)} ${why(alert.reason)}`,
      );
    }
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
}

/**
 * The scripted part of `mosaic dev --demo`: publishes the example reports whose issuer
 * is an agency of the running federation with a key in `<data-dir>/keys/`, each with the
 * issuer's own context and key through the SDK, shows every reply, sends the first
 * accepted one again (idempotent), and shows a report signed by one agency refused on
 * another agency's connection, then shows the alerts each agency received (and why) and,
 * per report, the agencies that received nothing. Each example is re-issued now under a
 * fresh id (`reissue`), so every run publishes new reports the hub's time bounds accept.
 */
export async function runDevDemo(hub: Hub, io: CliIo): Promise<void> {
  const out = (text: string): void => {
    writeLine(io.stdout, text);
  };
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
    let first: (typeof usable)[number] | undefined;
    const published = new Map<string, { file: string; issuer: string }>();
    for (const example of usable) {
      const reply = await (await client(example.issuer)).publish(example.bytes);
      if (reply.ok && first === undefined) first = example;
      if (reply.ok)
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
    await showAlerts(hub, published, out);
    const here = (path: string): string => relative(process.cwd(), path);
    const as = usable[0]?.issuer ?? 'de-bka';
    const file = here(join(reissuedDir, usable[0]?.file ?? ''));
    out(
      `mosaic demo: done. The hub keeps running (Ctrl-C stops it). From another terminal:\n` +
        `  npx mosaic publish --context ${here(join(hub.contextsDir, `${as}.json`))} --key ${here(join(hub.keysDir, `${as}.jwk`))} ${file}\n` +
        `  npx mosaic subscribe --context ${here(join(hub.contextsDir, 'ro-dicot.json'))} --follow`,
    );
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
}
