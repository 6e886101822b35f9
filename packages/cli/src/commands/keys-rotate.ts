import { connectOperator } from '@mosaic/operator';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { operatorContext, reason, string, time } from '../options.ts';

export const keysRotate = defineCommand({
  path: ['keys', 'rotate'],
  summary: "register an agency's new public key on the running hub (operator)",
  usage: `Usage: mosaic keys rotate --context <operator.json> --agency <id> --public-key <file>
                         [--retire-old-at <time>] --reason "<justification>"`,
  description: `Adds a public key to the agency's keys in the registry of the running hub; reports
signed with it are accepted from the next submission on — no restart. With
--retire-old-at, the agency's other keys stop being valid for reports issued from that
time on (notAfter); reports issued before stay verifiable. Make the key pair with
"mosaic keys generate" at the agency: only the public half comes here.
The change is recorded in the audit trail (registry.changed) with the reason.
Prints {"agency","keyId","retired":[…],"revision"} on stdout.`,
  options: {
    context: operatorContext(),
    agency: string({ placeholder: '<id>', description: 'the agency', required: true }),
    'public-key': string({
      placeholder: '<file>',
      description:
        'the new public key (<agency>.<key-id>.public.jwk); its kid must be <agency>/<key-id> with a key id the agency does not have',
      required: true,
    }),
    // Passed on as written: the hub resolves "now" when it applies the change.
    'retire-old-at': time({
      accepts: 'utc-or-now',
      description: 'RFC 3339 time (e.g. 2026-12-01T00:00:00Z) or "now"',
    }),
    reason: reason(),
  },
  footer: `Example:
  mosaic keys generate --agency ro-dicot --key-id 2026-11 --out ./keys
  mosaic keys rotate --context .mosaic/contexts/operator.json --agency ro-dicot \\
      --public-key ./keys/ro-dicot.2026-11.public.jwk --retire-old-at now --reason "yearly rotation"

Exit codes: 0 added, 1 refused (key id taken, ERR_AGENCY_UNKNOWN, ERR_REGISTRY_CONFLICT),
2 usage error (also: no --reason), 3 key file, context or hub unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, agency, 'public-key': publicKeyFile, 'retire-old-at': retire } = values;
    await using op = await connectOperator(context);
    const change = await op.rotateKey({
      agency,
      publicKeyFile,
      justification: values.reason,
      ...(retire === undefined ? {} : { retireOldAt: retire }),
    });
    writeLine(
      io.stdout,
      JSON.stringify({
        agency,
        keyId: change.keyId,
        retired: change.retired,
        revision: change.revision,
      }),
    );
    return ExitCode.Ok;
  },
});
