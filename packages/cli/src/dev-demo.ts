import { access, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hub } from '@mosaic/hub';
import { connectAgency, type AgencyClient, type PublishReply } from '@mosaic/sdk';
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

function outcome(reply: PublishReply): string {
  if (!reply.ok) return `rejected  ${reply.code}: ${reply.message}`;
  return reply.duplicate ? `duplicate seq ${reply.seq}` : `accepted  seq ${reply.seq}`;
}

/**
 * The scripted part of `mosaic dev --demo`: publishes the example reports whose issuer
 * is an agency of the running federation with a key in `<data-dir>/keys/`, each with the
 * issuer's own context and key through the SDK, shows every reply, sends the first
 * accepted one again (idempotent), and shows a report signed by one agency refused on
 * another agency's connection. The signed bytes are always the example file's.
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
    for (const file of files) {
      const bytes = await readFile(new URL(file, examplesDir));
      const { issuer } = JSON.parse(new TextDecoder().decode(bytes)) as { issuer?: unknown };
      if (typeof issuer !== 'string' || hub.registry.agency(issuer) === undefined) continue;
      if (!(await exists(join(hub.keysDir, `${issuer}.jwk`)))) continue;
      usable.push({ file, issuer, bytes });
    }
    out(
      `mosaic demo: ${usable.length} example reports (schemas/examples/valid) are issued by demo agencies; each is signed with its issuer's key and published on its issuer's connection`,
    );
    if (usable.length === 0) return;
    let first: (typeof usable)[number] | undefined;
    for (const example of usable) {
      const reply = await (await client(example.issuer)).publish(example.bytes);
      if (reply.ok && first === undefined) first = example;
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
    const here = (path: string): string => relative(process.cwd(), path);
    const as = usable[0]?.issuer ?? 'de-bka';
    const file = here(fileURLToPath(new URL(usable[0]?.file ?? '', examplesDir)));
    out(
      `mosaic demo: done. The hub keeps running (Ctrl-C stops it). From another terminal:\n` +
        `  npx mosaic publish --context ${here(join(hub.contextsDir, `${as}.json`))} --key ${here(join(hub.keysDir, `${as}.jwk`))} ${file}`,
    );
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
}
