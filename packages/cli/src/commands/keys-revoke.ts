import { connectOperator } from '@mosaic/operator';
import { requireOption, type Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';

export const keysRevoke: Command = {
  path: ['keys', 'revoke'],
  summary: "revoke an agency's signing key on the running hub (operator)",
  help: `Usage: mosaic keys revoke --context <operator.json> --agency <id> --key-id <k>
                         [--at <time>] --reason "<text>"

Marks the key revoked in the registry of the running hub (revokedAt, with the reason).
From the next submission on, reports signed with it are rejected with ERR_KEY_REVOKED —
no restart. Reports the hub accepted before stay verifiable with the archived key:
verifyReport(jws, keys, { acceptRevokedBefore: <the stored message's time> }).
Prints {"agency","keyId","revokedAt","revision"} on stdout.

Options:
  --context <file>  the operator's context file (<data-dir>/contexts/operator.json)
  --agency <id>     the agency
  --key-id <k>      the key id (the part of the kid after "<agency>/")
  --at <time>       RFC 3339 time from which the key is revoked, or "now" (default)
  --reason <text>   why (kept with the key and in the audit entry, registry.changed)
  -h, --help        show this help

Example:
  mosaic keys revoke --context .mosaic/contexts/operator.json --agency ro-dicot \\
      --key-id demo --reason "laptop stolen"

Exit codes: 0 revoked, 1 refused (ERR_KEY_UNKNOWN, ERR_AGENCY_UNKNOWN,
ERR_REGISTRY_CONFLICT), 2 usage error, 3 context or hub unavailable, or permission denied.`,
  options: {
    context: { type: 'string' },
    agency: { type: 'string' },
    'key-id': { type: 'string' },
    at: { type: 'string' },
    reason: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const context = requireOption(args, 'context', this);
    const agency = requireOption(args, 'agency', this);
    const keyId = requireOption(args, 'key-id', this);
    const reason = requireOption(args, 'reason', this);
    const at = args.values['at'];
    await using op = await connectOperator(context);
    const change = await op.revokeKey({
      agency,
      keyId,
      reason,
      ...(typeof at === 'string' ? { at } : {}),
    });
    const key = change.agency.keys.find((k) => k.keyId === keyId);
    writeLine(
      io.stdout,
      JSON.stringify({ agency, keyId, revokedAt: key?.revokedAt, revision: change.revision }),
    );
    return ExitCode.Ok;
  },
};
