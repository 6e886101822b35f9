import { parseSubscriptionRules } from '@mosaic/federation';
import { connectOperator } from '@mosaic/operator';
import { requireOption, type Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeLine } from '../io.ts';

const contextHelp = `  --context <file>  the operator's context file (<data-dir>/contexts/operator.json);
                    the broker refuses any other identity (exit 3)`;

export const rulesShow: Command = {
  path: ['rules', 'show'],
  summary: "print an agency's subscription rules as JSON (operator)",
  help: `Usage: mosaic rules show --context <operator.json> --agency <id>

Prints the agency's subscription rules from the registry of the running hub as a JSON
list on stdout — the input "mosaic rules set" takes. Each rule: jurisdictions, categories,
optional indicatorTypes, minimum grades, maxTlp (docs/policy.md, P10-interest).

Options:
${contextHelp}
  --agency <id>     the agency
  -h, --help        show this help

Example:
  mosaic rules show --context .mosaic/contexts/operator.json --agency de-bka > rules.json

Exit codes: 0 shown, 1 no such agency (ERR_AGENCY_UNKNOWN), 2 usage error, 3 context or
hub unavailable, or permission denied.`,
  options: { context: { type: 'string' }, agency: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const context = requireOption(args, 'context', this);
    const id = requireOption(args, 'agency', this);
    await using op = await connectOperator(context);
    const agency = await op.agency(id);
    writeLine(io.stdout, JSON.stringify(agency.subscriptions, null, 2));
    return ExitCode.Ok;
  },
};

export const rulesSet: Command = {
  path: ['rules', 'set'],
  summary: "replace an agency's subscription rules on the running hub (operator)",
  help: `Usage: mosaic rules set --context <operator.json> --agency <id> --file <rules.yaml|rules.json|->
                      --reason "<justification>"

Replaces the agency's subscription rules in the registry of the running hub. The file
holds a list of rules (or {"subscriptions": [...]}, as in a federation file's agency
entry); it is validated with the federation's subscription rule schema and checked
against the registry (known jurisdictions and groups). An empty list unsubscribes.
The router applies the new rules to reports it routes from then on — no restart; alerts
already routed are not withdrawn, and old reports are not routed again. Retractions and
superseding reports still reach the agency when it received the original.
The change is recorded in the audit trail (registry.changed) with the reason.
Prints {"agency","rules","revision"} on stdout.

Options:
${contextHelp}
  --agency <id>     the agency
  --file <file>     the rules (YAML or JSON), "-" for standard input
  --reason <text>   why (required; kept in the audit entry)
  -h, --help        show this help

Example:
  mosaic rules show --context .mosaic/contexts/operator.json --agency de-bka > rules.json
  # edit rules.json
  mosaic rules set --context .mosaic/contexts/operator.json --agency de-bka --file rules.json \\
      --reason "de-bka asked for transport reports"

Exit codes: 0 set, 1 invalid rules or conflict with the registry (ERR_FEDERATION,
ERR_AGENCY_UNKNOWN, ERR_REGISTRY_CONFLICT), 2 usage error (also: no --reason), 3 file, context or hub
unavailable, or permission denied.`,
  options: {
    context: { type: 'string' },
    agency: { type: 'string' },
    file: { type: 'string' },
    reason: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const context = requireOption(args, 'context', this);
    const agency = requireOption(args, 'agency', this);
    const file = requireOption(args, 'file', this);
    const justification = requireOption(args, 'reason', this);
    const text = new TextDecoder().decode(await readInput(file, io));
    const rules = parseSubscriptionRules(text, { source: file === '-' ? 'stdin' : file });
    await using op = await connectOperator(context);
    const change = await op.setRules({ agency, rules, justification });
    writeLine(
      io.stdout,
      JSON.stringify({
        agency,
        rules: change.agency.subscriptions.length,
        revision: change.revision,
      }),
    );
    return ExitCode.Ok;
  },
};
