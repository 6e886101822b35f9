import { ErrorCode, MosaicError } from '@mosaic/errors';
import { connectOperator } from '@mosaic/operator';
import { requireOption, type Command, type ParsedArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';

const contextHelp = `  --context <file>  the operator's context file (<data-dir>/contexts/operator.json);
                    the broker refuses any other identity (exit 3)`;

/** A comma-separated option as a list (empty entries dropped); undefined when absent. */
function listOf(args: ParsedArgs, name: string): string[] | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new MosaicError(ErrorCode.Usage, `--${name} needs a value`);
  return raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export const agreementsList: Command = {
  path: ['agreements', 'list'],
  summary: 'list the sharing agreements of the running hub as NDJSON (operator)',
  help: `Usage: mosaic agreements list --context <operator.json>

Prints one JSON line per sharing agreement of the registry, in routing order:
{"id":<n>,"index":<i>,"from":"<agency>","to":"<agency>"|["<agency>",…],"categories"?,"maxTlp"?,"note"?}
"id" names the agreement for "mosaic agreements remove"; "index" is the number routing
reasons give ({"via":"agreement","agreement":<index>}). An agreement lets its "from" agency
release AMBER reports (and GREEN, by P9) to each "to" agency; see docs/policy.md.

Options:
${contextHelp}
  -h, --help        show this help

Example:
  mosaic agreements list --context .mosaic/contexts/operator.json | jq -c '{id, from, to}'

Exit codes: 0 listed, 2 usage error, 3 context or hub unavailable, or permission denied.`,
  options: { context: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    await using op = await connectOperator(requireOption(args, 'context', this));
    for (const { id, index, agreement } of await op.agreements())
      writeLine(io.stdout, JSON.stringify({ id, index, ...agreement }));
    return ExitCode.Ok;
  },
};

export const agreementsAdd: Command = {
  path: ['agreements', 'add'],
  summary: 'add a sharing agreement to the running hub (operator)',
  help: `Usage: mosaic agreements add --context <operator.json> --from <agency> --to <agency>[,<agency>…]
                             [--categories <c>[,<c>…]] [--max-tlp <TLP>] [--note <text>]
                             --reason "<justification>"

Adds a sharing agreement to the registry of the running hub: <from> releases its reports
to each <to> agency, optionally only for some categories and up to a TLP. It is validated
like an entry of a federation file's "agreements" and checked with the registry (known
agencies, no agreement of an agency with itself); an invalid one is refused, never stored
(an agreement that is not well-defined would cover nobody: docs/policy.md). Reports routed
after the hub applied it (a moment later) use it; alerts already routed stay as they are.
The change is recorded in the audit trail (registry.changed) with the reason.
Prints {"added":<id>,"revision":<n>,"agreement":{…}} on stdout.

Options:
${contextHelp}
  --from <agency>       the releasing agency
  --to <list>           the receiving agencies, comma-separated
  --categories <list>   only reports of these categories (default: all)
  --max-tlp <TLP>       only reports up to this TLP (CLEAR, GREEN, AMBER, AMBER+STRICT)
  --note <text>         what the agreement is (the MoU, its date)
  --reason <text>       why (required; kept in the audit entry)
  -h, --help            show this help

Example:
  mosaic agreements add --context .mosaic/contexts/operator.json --from be-police \\
      --to nl-police,de-bka --max-tlp AMBER --note "MoU 2026-14" --reason "MoU 2026-14 signed"

Exit codes: 0 added, 1 invalid agreement or conflict with the registry (ERR_FEDERATION),
2 usage error (also: no --reason), 3 context or hub (or its auditor) unavailable, or
permission denied.`,
  options: {
    context: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    categories: { type: 'string' },
    'max-tlp': { type: 'string' },
    note: { type: 'string' },
    reason: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const context = requireOption(args, 'context', this);
    const from = requireOption(args, 'from', this);
    const to = listOf(args, 'to') ?? [];
    if (to.length === 0)
      throw new MosaicError(ErrorCode.Usage, 'mosaic agreements add: --to needs an agency');
    const justification = requireOption(args, 'reason', this);
    const categories = listOf(args, 'categories');
    const maxTlp = args.values['max-tlp'];
    const note = args.values['note'];
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
};

export const agreementsRemove: Command = {
  path: ['agreements', 'remove'],
  summary: 'remove a sharing agreement from the running hub (operator)',
  help: `Usage: mosaic agreements remove --context <operator.json> --id <n> --reason "<justification>"

Removes the agreement <n> ("id" in "mosaic agreements list") from the registry. Reports
routed after the hub applied it no longer use it; alerts already routed stay delivered.
The change is recorded in the audit trail (registry.changed) with the reason.
Prints {"removed":<id>,"revision":<n>,"agreement":{…}} on stdout.

Options:
${contextHelp}
  --id <n>          the agreement
  --reason <text>   why (required; kept in the audit entry)
  -h, --help        show this help

Example:
  mosaic agreements remove --context .mosaic/contexts/operator.json --id 3 \\
      --reason "MoU 2026-14 ended"

Exit codes: 0 removed, 1 no such agreement (ERR_FEDERATION), 2 usage error (also: no
--reason), 3 context or hub (or its auditor) unavailable, or permission denied.`,
  options: { context: { type: 'string' }, id: { type: 'string' }, reason: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const context = requireOption(args, 'context', this);
    const raw = requireOption(args, 'id', this);
    if (!/^\d+$/.test(raw))
      throw new MosaicError(ErrorCode.Usage, 'mosaic agreements remove: --id must be a number');
    const justification = requireOption(args, 'reason', this);
    await using op = await connectOperator(context);
    const removed = await op.removeAgreement(Number(raw), { justification });
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
};
