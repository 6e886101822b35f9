import { connectOperator } from '@mosaic/operator';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { integer, list, operatorContext, reason, string } from '../options.ts';

export const agreementsList = defineCommand({
  path: ['agreements', 'list'],
  summary: 'list the sharing agreements of the running hub as NDJSON (operator)',
  usage: 'Usage: mosaic agreements list --context <operator.json>',
  description: `Prints one JSON line per sharing agreement of the registry, in routing order:
{"id":<n>,"index":<i>,"from":"<agency>","to":"<agency>"|["<agency>",…],"categories"?,"maxTlp"?,"note"?}
"id" names the agreement for "mosaic agreements remove"; "index" is the number routing
reasons give ({"via":"agreement","agreement":<index>}). An agreement lets its "from" agency
release AMBER reports (and GREEN, by P9) to each "to" agency; see docs/policy.md.`,
  options: { context: operatorContext() },
  footer: `Example:
  mosaic agreements list --context .mosaic/contexts/operator.json | jq -c '{id, from, to}'

Exit codes: 0 listed, 2 usage error, 3 context or hub unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    await using op = await connectOperator(values.context);
    for (const { id, index, agreement } of await op.agreements())
      writeLine(io.stdout, JSON.stringify({ id, index, ...agreement }));
    return ExitCode.Ok;
  },
});

export const agreementsAdd = defineCommand({
  path: ['agreements', 'add'],
  summary: 'add a sharing agreement to the running hub (operator)',
  usage: `Usage: mosaic agreements add --context <operator.json> --from <agency> --to <agency>[,<agency>…]
                             [--categories <c>[,<c>…]] [--max-tlp <TLP>] [--note <text>]
                             --reason "<justification>"`,
  description: `Adds a sharing agreement to the registry of the running hub: <from> releases its reports
to each <to> agency, optionally only for some categories and up to a TLP. It is validated
like an entry of a federation file's "agreements" and checked with the registry (known
agencies, no agreement of an agency with itself); an invalid one is refused, never stored
(an agreement that is not well-defined would cover nobody: docs/policy.md). Reports routed
after the hub applied it (a moment later) use it; alerts already routed stay as they are.
The change is recorded in the audit trail (registry.changed) with the reason.
Prints {"added":<id>,"revision":<n>,"agreement":{…}} on stdout.`,
  options: {
    context: operatorContext(),
    from: string({ placeholder: '<agency>', description: 'the releasing agency', required: true }),
    to: list({
      placeholder: '<agency>[,<agency>…]',
      description: 'the receiving agencies, comma-separated',
      required: true,
    }),
    categories: list({
      placeholder: '<c>[,<c>…]',
      description: 'only reports of these categories, comma-separated (default: all)',
    }),
    // The hub validates it with the agreement schema: a wrong TLP is ERR_FEDERATION there.
    'max-tlp': string({
      placeholder: '<TLP>',
      description: 'only reports up to this TLP (CLEAR, GREEN, AMBER, AMBER+STRICT)',
    }),
    note: string({ description: 'what the agreement is (the MoU, its date)' }),
    reason: reason(),
  },
  footer: `Example:
  mosaic agreements add --context .mosaic/contexts/operator.json --from be-police \\
      --to nl-police,de-bka --max-tlp AMBER --note "MoU 2026-14" --reason "MoU 2026-14 signed"

Exit codes: 0 added, 1 invalid agreement or conflict with the registry (ERR_FEDERATION),
2 usage error (also: no --reason), 3 context or hub (or its auditor) unavailable, or
permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { context, from, to, categories, 'max-tlp': maxTlp, note } = values;
    const justification = values.reason;
    await using op = await connectOperator(context);
    const added = await op.addAgreement(
      {
        from,
        to: to.length === 1 ? to[0] : to,
        ...(categories === undefined ? {} : { categories }),
        ...(maxTlp === undefined ? {} : { maxTlp }),
        ...(note === undefined ? {} : { note }),
      },
      { justification },
    );
    writeLine(
      io.stdout,
      JSON.stringify({ added: added.id, revision: added.revision, agreement: added.agreement }),
    );
    return ExitCode.Ok;
  },
});

export const agreementsRemove = defineCommand({
  path: ['agreements', 'remove'],
  summary: 'remove a sharing agreement from the running hub (operator)',
  usage:
    'Usage: mosaic agreements remove --context <operator.json> --id <n> --reason "<justification>"',
  description: `Removes the agreement <n> ("id" in "mosaic agreements list") from the registry. Reports
routed after the hub applied it no longer use it; alerts already routed stay delivered.
The change is recorded in the audit trail (registry.changed) with the reason.
Prints {"removed":<id>,"revision":<n>,"agreement":{…}} on stdout.`,
  options: {
    context: operatorContext(),
    id: integer({ min: 0, description: 'the agreement', required: true }),
    reason: reason(),
  },
  footer: `Example:
  mosaic agreements remove --context .mosaic/contexts/operator.json --id 3 \\
      --reason "MoU 2026-14 ended"

Exit codes: 0 removed, 1 no such agreement (ERR_FEDERATION), 2 usage error (also: no
--reason), 3 context or hub (or its auditor) unavailable, or permission denied.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    await using op = await connectOperator(values.context);
    const removed = await op.removeAgreement(values.id, { justification: values.reason });
    writeLine(
      io.stdout,
      JSON.stringify({
        removed: removed.id,
        revision: removed.revision,
        agreement: removed.agreement,
      }),
    );
    return ExitCode.Ok;
  },
});
