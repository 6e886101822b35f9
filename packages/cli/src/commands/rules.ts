import { parseSubscriptionRules } from '@mosaic/federation';
import { connectOperator } from '@mosaic/operator';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readInput, writeLine } from '../io.ts';
import { operatorContext, reason, string } from '../options.ts';

const agencyOption = () =>
  string({ placeholder: '<id>', description: 'the agency', required: true });

export const rulesShow = defineCommand({
  path: ['rules', 'show'],
  summary: "print an agency's subscription rules as JSON (operator)",
  usage: 'Usage: mosaic rules show --context <operator.json> --agency <id>',
  description: `Prints the agency's subscription rules from the registry of the running hub as a JSON
list on stdout — the input "mosaic rules set" takes. Each rule: jurisdictions, categories,
optional indicatorTypes, minimum grades, maxTlp (docs/policy.md, P10-interest).`,
  options: { context: operatorContext(), agency: agencyOption() },
  footer: `Example:
  mosaic rules show --context .mosaic/contexts/operator.json --agency de-bka > rules.json

Exit codes: 0 shown, 1 no such agency (ERR_AGENCY_UNKNOWN), 2 usage error, 3 context or
hub unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    await using op = await connectOperator(values.context);
    const agency = await op.agency(values.agency);
    writeLine(io.stdout, JSON.stringify(agency.subscriptions, null, 2));
    return ExitCode.Ok;
  },
});

export const rulesSet = defineCommand({
  path: ['rules', 'set'],
  summary: "replace an agency's subscription rules on the running hub (operator)",
  usage: `Usage: mosaic rules set --context <operator.json> --agency <id> --file <rules.yaml|rules.json|->
                      --reason "<justification>"`,
  description: `Replaces the agency's subscription rules in the registry of the running hub. The file
holds a list of rules (or {"subscriptions": [...]}, as in a federation file's agency
entry); it is validated with the federation's subscription rule schema and checked
against the registry (known jurisdictions and groups). An empty list unsubscribes.
The router applies the new rules to reports it routes from then on — no restart; alerts
already routed are not withdrawn, and old reports are not routed again. Retractions and
superseding reports still reach the agency when it received the original.
The change is recorded in the audit trail (registry.changed) with the reason.
Prints {"agency","rules","revision"} on stdout.`,
  options: {
    context: operatorContext(),
    agency: agencyOption(),
    file: string({
      placeholder: '<file>',
      description: 'the rules (YAML or JSON), "-" for standard input',
      required: true,
    }),
    reason: reason(),
  },
  footer: `Example:
  mosaic rules show --context .mosaic/contexts/operator.json --agency de-bka > rules.json
  # edit rules.json
  mosaic rules set --context .mosaic/contexts/operator.json --agency de-bka --file rules.json \\
      --reason "de-bka asked for transport reports"

Exit codes: 0 set, 1 invalid rules or conflict with the registry (ERR_FEDERATION,
ERR_AGENCY_UNKNOWN, ERR_REGISTRY_CONFLICT), 2 usage error (also: no --reason), 3 file, context or hub
unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, agency, file, reason: justification } = values;
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
});
