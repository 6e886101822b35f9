import { parseAgency } from '@mosaic/federation';
import { dirname } from 'node:path';
import { connectOperator, waitForAgency, waitForAgencyGone } from '@mosaic/operator';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeLine } from '../io.ts';
import { operatorContext, reason, string } from '../options.ts';

export const agencyAdd = defineCommand({
  path: ['agency', 'add'],
  summary: 'add an agency to the running hub (operator)',
  usage: `Usage: mosaic agency add --context <operator.json> --file <agency.yaml|agency.json|->
                         --reason "<justification>"`,
  description: `Adds an agency to the registry of the running hub. The file holds one entry as in a
federation file's "agencies" list (id, name, kind, jurisdictions, contact, optional keys
and subscriptions); it is validated with the federation schema and checked against the
registry (new id, known jurisdictions and groups). The hub then creates the agency's
NATS account, pushes it to the broker and writes <data-dir>/contexts/<id>.json, and the
router creates its alerts consumer — no restart. The command returns once that context
connects and the consumer exists (it looks for the context next to the operator's), so
the agency can publish and subscribe at once; after 30 s without them it fails with
ERR_UNAVAILABLE (the agency stays added). The change is recorded in the audit trail
(registry.changed) with the reason.
Prints {"added": <id>, "revision": <n>, "context": <path>} on stdout.`,
  options: {
    context: operatorContext(),
    file: string({
      placeholder: '<file>',
      description: 'the agency (YAML or JSON), "-" for standard input',
      required: true,
    }),
    reason: reason(),
  },
  footer: `Example:
  mosaic agency add --context .mosaic/contexts/operator.json --file be-police.yaml \\
      --reason "MoU 2026-14 with the Belgian federal police"

Exit codes: 0 added, 1 invalid agency or conflict with the registry (ERR_FEDERATION),
2 usage error (also: no --reason), 3 file, context or hub (or its auditor) unavailable,
the new agency not ready in time, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, file, reason: justification } = values;
    const text = new TextDecoder().decode(await readInput(file, io));
    const agency = parseAgency(text, { source: file === '-' ? 'stdin' : file });
    await using op = await connectOperator(context);
    const change = await op.addAgency(agency, { justification });
    const ready = await waitForAgency(op, change.agency.id, { contextsDir: dirname(context) });
    writeLine(
      io.stdout,
      JSON.stringify({
        added: change.agency.id,
        revision: change.revision,
        context: ready.context,
      }),
    );
    return ExitCode.Ok;
  },
});

export const agencyRemove = defineCommand({
  path: ['agency', 'remove'],
  summary: 'remove an agency from the running hub (operator)',
  usage:
    'Usage: mosaic agency remove --context <operator.json> --agency <id> --reason "<justification>"',
  description: `Removes an agency from the registry of the running hub. The hub then revokes its NATS
account — its connected clients are disconnected and its context no longer connects — and
deletes <data-dir>/contexts/<id>.json; the command returns once that happened (at most
30 s, else ERR_UNAVAILABLE; the agency stays removed). Its reports stay stored and
verifiable: its public keys stay in the hub's public-keys bucket, retired (revoked at the
removal), so "mosaic replay --verify" and recipients still verify what it signed before.
Refused while a sharing agreement names it ("mosaic agreements remove" first). The change
is recorded in the audit trail (registry.changed) with the reason.
Prints {"removed": <id>, "revision": <n>} on stdout.`,
  options: {
    context: operatorContext(),
    agency: string({ placeholder: '<id>', description: 'the agency', required: true }),
    reason: reason(),
  },
  footer: `Example:
  mosaic agency remove --context .mosaic/contexts/operator.json --agency be-police \\
      --reason "MoU 2026-14 terminated"

Exit codes: 0 removed, 1 no such agency (ERR_AGENCY_UNKNOWN) or an agreement names it
(ERR_FEDERATION), 2 usage error (also: no --reason), 3 context or hub (or its auditor)
unavailable, the removal not applied in time, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, agency: id, reason: justification } = values;
    await using op = await connectOperator(context);
    const change = await op.removeAgency(id, { justification });
    await waitForAgencyGone(id, { contextsDir: dirname(context) });
    writeLine(io.stdout, JSON.stringify({ removed: id, revision: change.revision }));
    return ExitCode.Ok;
  },
});

export const agencyList = defineCommand({
  path: ['agency', 'list'],
  summary: 'list the agencies of the running hub as NDJSON (operator)',
  usage: 'Usage: mosaic agency list --context <operator.json>',
  description: `Prints one JSON line per agency of the registry (sorted by id):
{"id","name","kind","jurisdictions","keys":[{"keyId","notBefore","notAfter","revokedAt"}]}`,
  options: { context: operatorContext() },
  footer: `Example:
  mosaic agency list --context .mosaic/contexts/operator.json | jq -r .id

Exit codes: 0 listed, 2 usage error, 3 context or hub unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    await using op = await connectOperator(values.context);
    for (const a of (await op.federation()).agencies) {
      const keys = a.keys.map(({ keyId, notBefore, notAfter, revokedAt }) => ({
        keyId,
        notBefore,
        notAfter,
        revokedAt,
      }));
      writeLine(
        io.stdout,
        JSON.stringify({
          id: a.id,
          name: a.name,
          kind: a.kind,
          jurisdictions: a.jurisdictions,
          keys,
        }),
      );
    }
    return ExitCode.Ok;
  },
});

export const agencyShow = defineCommand({
  path: ['agency', 'show'],
  summary: 'print one agency of the running hub as JSON (operator)',
  usage: 'Usage: mosaic agency show --context <operator.json> <id>',
  description: `Prints the agency's registry entry — keys with their validity, revocation and reason,
subscriptions, contact — as JSON on stdout.`,
  options: { context: operatorContext() },
  footer: `Example:
  mosaic agency show --context .mosaic/contexts/operator.json ro-dicot

Exit codes: 0 shown, 1 no such agency (ERR_AGENCY_UNKNOWN), 2 usage error, 3 context or
hub unavailable, or permission denied.`,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, io) {
    await using op = await connectOperator(values.context);
    const agency = await op.agency(positionals[0] ?? '');
    writeLine(io.stdout, JSON.stringify(agency, null, 2));
    return ExitCode.Ok;
  },
});
