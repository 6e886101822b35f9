import { connectOperator } from '@mosaic/operator';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { operatorContext, string, time } from '../options.ts';

export const keysRevoke = defineCommand({
  path: ['keys', 'revoke'],
  summary: "revoke an agency's signing key on the running hub (operator)",
  usage: `Usage: mosaic keys revoke --context <operator.json> --agency <id> --key-id <k>
                         [--at <time>] --reason "<text>"`,
  description: `Marks the key revoked in the registry of the running hub (revokedAt, with the reason).
From the next submission on, reports signed with it are rejected with ERR_KEY_REVOKED —
no restart. Reports the hub accepted before stay verifiable with the archived key:
verifyReport(jws, keys, { acceptRevokedBefore: <the stored message's time> }).
Prints {"agency","keyId","revokedAt","revision"} on stdout.`,
  options: {
    context: operatorContext(),
    agency: string({ placeholder: '<id>', description: 'the agency', required: true }),
    'key-id': string({
      placeholder: '<k>',
      description: 'the key id (the part of the kid after "<agency>/")',
      required: true,
    }),
    // Passed on as written: the hub resolves "now" when it applies the revocation.
    at: time({
      accepts: 'utc-or-now',
      description: 'RFC 3339 time from which the key is revoked, or "now" (the default)',
    }),
    reason: string({
      placeholder: '<text>',
      description: 'why (kept with the key and in the audit entry, registry.changed)',
      required: true,
    }),
  },
  footer: `Example:
  mosaic keys revoke --context .mosaic/contexts/operator.json --agency ro-dicot \\
      --key-id demo --reason "laptop stolen"

Exit codes: 0 revoked, 1 refused (ERR_KEY_UNKNOWN, ERR_AGENCY_UNKNOWN,
ERR_REGISTRY_CONFLICT), 2 usage error, 3 context or hub unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, agency, 'key-id': keyId, reason, at } = values;
    await using op = await connectOperator(context);
    const change = await op.revokeKey({
      agency,
      keyId,
      reason,
      ...(at === undefined ? {} : { at }),
    });
    const key = change.agency.keys.find((k) => k.keyId === keyId);
    writeLine(
      io.stdout,
      JSON.stringify({ agency, keyId, revokedAt: key?.revokedAt, revision: change.revision }),
    );
    return ExitCode.Ok;
  },
});
