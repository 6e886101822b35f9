import {
  connectOperator,
  issueGatewayToken,
  listGatewayTokens,
  parseTime,
  revokeGatewayToken,
} from '@mosaic/operator';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { operatorContext, reason, string, time } from '../options.ts';

export const agencyTokenIssue = defineCommand({
  path: ['agency', 'token', 'issue'],
  summary: "issue an agency's HTTP gateway token (operator)",
  usage: `Usage: mosaic agency token issue --context <operator.json> --agency <id> [--name <n>]
                         [--expires <time>] --reason "<justification>"`,
  description: `Issues a token with which the agency authenticates to the HTTP gateway (Bearer, or
Basic with the agency id as user). The token is 256 random bits; the hub stores only its
SHA-256 digest, so it is printed this once and cannot be shown again. The issue is
recorded in the audit trail (gateway.token.issued, with the token id, never the token).
Prints {"id","agency","name","createdAt","expiresAt","token"} on stdout.`,
  options: {
    context: operatorContext(),
    agency: string({ placeholder: '<id>', description: 'the agency', required: true }),
    name: string({ placeholder: '<n>', description: 'what the token is for (shown by list)' }),
    expires: time({
      accepts: 'utc-or-now',
      description: 'RFC 3339 time from which the token no longer authenticates',
    }),
    reason: reason(),
  },
  footer: `Example:
  mosaic agency token issue --context .mosaic/contexts/operator.json --agency nl-police \\
      --name "case system" --expires 2027-01-01T00:00:00Z --reason "MoU 2026-14 annex B"

Exit codes: 0 issued, 1 no such agency (ERR_AGENCY_UNKNOWN), 2 usage error (also: no
--reason), 3 context or hub (or its auditor) unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, agency, name, expires, reason: justification } = values;
    await using op = await connectOperator(context);
    const { token, record } = await issueGatewayToken(op, {
      agency,
      justification,
      ...(name === undefined ? {} : { name }),
      ...(expires === undefined ? {} : { expiresAt: parseTime(expires, '--expires') }),
    });
    writeLine(io.stdout, JSON.stringify({ ...record, token }));
    return ExitCode.Ok;
  },
});

export const agencyTokenRevoke = defineCommand({
  path: ['agency', 'token', 'revoke'],
  summary: "revoke an agency's HTTP gateway token (operator)",
  usage: `Usage: mosaic agency token revoke --context <operator.json> --agency <id> --id <token-id>
                         --reason "<justification>"`,
  description: `Revokes the token from now on: the gateway refuses it from its next request
(ERR_UNAUTHENTICATED). The entry stays, marked revoked. Recorded in the audit trail
(gateway.token.revoked). Revoking a revoked token changes nothing.
Prints {"agency","id","revokedAt"} on stdout.`,
  options: {
    context: operatorContext(),
    agency: string({ placeholder: '<id>', description: 'the agency', required: true }),
    id: string({
      placeholder: '<token-id>',
      description: 'the token id (as issue and list print it)',
      required: true,
    }),
    reason: reason(),
  },
  footer: `Example:
  mosaic agency token revoke --context .mosaic/contexts/operator.json --agency nl-police \\
      --id 3f2a9c0d1e4b5a6f --reason "case system decommissioned"

Exit codes: 0 revoked, 1 no such token of that agency (ERR_TOKEN_UNKNOWN), 2 usage error,
3 context or hub (or its auditor) unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, agency, id, reason: justification } = values;
    await using op = await connectOperator(context);
    const { record } = await revokeGatewayToken(op, { agency, id, justification });
    writeLine(io.stdout, JSON.stringify({ agency, id, revokedAt: record.revokedAt }));
    return ExitCode.Ok;
  },
});

export const agencyTokenList = defineCommand({
  path: ['agency', 'token', 'list'],
  summary: 'list the HTTP gateway tokens as NDJSON (operator)',
  usage: 'Usage: mosaic agency token list --context <operator.json>',
  description: `Prints one JSON line per token, revoked and expired ones included, by agency:
{"id","agency","name","createdAt","expiresAt","revokedAt"} — never the token or its digest.`,
  options: { context: operatorContext() },
  footer: `Example:
  mosaic agency token list --context .mosaic/contexts/operator.json | jq 'select(.revokedAt == null)'

Exit codes: 0 listed, 2 usage error, 3 context or hub unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    await using op = await connectOperator(values.context);
    for (const token of await listGatewayTokens(op)) writeLine(io.stdout, JSON.stringify(token));
    return ExitCode.Ok;
  },
});
