import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  contextFile,
  leafCredentials,
  leafDomain,
  leafNodeConfig,
  readContextFile,
} from '@mosaic/identities';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { list, string } from '../options.ts';

const HOST_PORT = /^(?<host>[^\s:]+|\[[0-9a-fA-F:]+\]):(?<port>\d{1,5})$/;

function parseListen(raw: string): { host: string; port: number } {
  const m = HOST_PORT.exec(raw);
  const port = Number(m?.groups?.['port']);
  if (m?.groups?.['host'] === undefined || !(port >= 1 && port <= 65535))
    throw new MosaicError(ErrorCode.Usage, `--listen wants <host>:<port>, not "${raw}"`);
  return { host: m.groups['host'], port };
}

function parseHubUrls(urls: readonly string[]): string[] {
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
    }
    if (parsed === undefined || !['nats-leaf:', 'tls:', 'nats:'].includes(parsed.protocol))
      throw new MosaicError(
        ErrorCode.Usage,
        `--hub wants the hub's leafnode URLs (nats-leaf://host:7422), not "${url}"`,
      );
  }
  return [...urls];
}

/** Writes through a temporary file and a rename: a file is either whole or absent. */
async function writeWhole(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${String(process.pid)}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

export const agencyLeafnode = defineCommand({
  path: ['agency', 'leafnode'],
  summary: "write the configuration of an agency's leaf node (agency)",
  usage: `Usage: mosaic agency leafnode --agency <id> --context <agency.json> --hub <url,…>
                              [--out <dir>] [--listen <host:port>]`,
  description: `Writes what an agency needs to run a NATS leaf node on its own premises into <dir>
(default leaf-<id>):
  leafnode.conf      the nats-server configuration: a local listener for the agency's
                     applications, JetStream in the agency's own domain (leaf-<id>,
                     sync_interval always, store in <dir>/jetstream), and one remote to
                     the hub authenticated as the agency
  <id>.creds         the agency's NATS credentials for that remote, mode 0600
  context.json       the agency's context pointed at the leaf, for its applications
                     (the SDK's connectAgency), mode 0600
On the hub the leaf lands in the agency's own account and reaches exactly what the agency
does. Run it with: nats-server -c <dir>/leafnode.conf. Then the SDK's ensureLeafStreams
creates the leaf's ALERTS (the agency's alerts, sourced from the hub) and OUTBOX (its
submissions, queued while the link is down; forwardOutbox sends them, several at a time,
or one after the other in queue order with inFlight 1), and checkLeafAlerts checks the
copy against the hub. The hub must accept leaf nodes (a leafnodes listener). Files are
replaced whole; the store is never touched.
Prints {"config": <path>, "credentials": <path>, "context": <path>, "domain": <domain>}.`,
  options: {
    agency: string({ placeholder: '<id>', description: 'the agency', required: true }),
    context: string({
      placeholder: '<file>',
      description: "the agency's context file (its NATS identity)",
      required: true,
    }),
    hub: list({
      placeholder: '<url,…>',
      description: "the hub's leafnode URLs (nats-leaf://host:7422), one per node",
      required: true,
    }),
    out: string({ placeholder: '<dir>', description: 'where to write (default leaf-<id>)' }),
    listen: string({
      placeholder: '<host:port>',
      description: "where the agency's applications connect",
      default: '127.0.0.1:4222',
    }),
  },
  footer: `Example:
  mosaic agency leafnode --agency nl-police --context .mosaic/contexts/nl-police.json \\
      --hub nats-leaf://hub.example.org:7422 --out /etc/mosaic-leaf
  nats-server -c /etc/mosaic-leaf/leafnode.conf

Exit codes: 0 written, 2 usage error (also: the context is not this agency's), 3 the
context cannot be read or the files cannot be written.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { agency } = values;
    const listen = parseListen(values.listen);
    const hubUrls = parseHubUrls(values.hub);
    const context = await readContextFile(values.context);
    if (context.agency !== agency)
      throw new MosaicError(
        ErrorCode.Usage,
        `${values.context} is the context of ${context.agency ?? context.role}, not of agency ${agency}`,
      );
    const out = resolve(values.out ?? `leaf-${agency}`);
    const credentials = join(out, `${agency}.creds`);
    const config = join(out, 'leafnode.conf');
    const local = join(out, 'context.json');
    try {
      await mkdir(out, { recursive: true, mode: 0o700 });
      await writeWhole(credentials, leafCredentials(context), 0o600);
      const localContext = contextFile(
        {
          role: context.role,
          agency,
          publicKey: '',
          inboxPrefix: context.inboxPrefix,
          seed: context.nkeySeed,
          jwt: context.jwt,
        },
        `nats://${listen.host}:${String(listen.port)}`,
      );
      await writeWhole(local, localContext, 0o600);
      await writeWhole(
        config,
        leafNodeConfig({
          agency,
          hubUrls,
          credentialsPath: credentials,
          storeDir: join(out, 'jetstream'),
          listen,
        }),
        0o644,
      );
    } catch (err) {
      if (err instanceof MosaicError) throw err;
      throw new MosaicError(ErrorCode.Io, `cannot write the leaf node files in ${out}`, {
        details: { out },
        cause: err,
      });
    }
    writeLine(
      io.stdout,
      JSON.stringify({ config, credentials, context: local, domain: leafDomain(agency) }),
    );
    return ExitCode.Ok;
  },
});
