import { readFile } from 'node:fs/promises';
import { CryptoNetwork } from '@mosaic/contract';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  checkSelectors,
  connectAgency,
  registerHoldings,
  withdrawHoldings,
  type Holding,
} from '@mosaic/sdk';
import { SelectorKind, canonicalSelector, type Selector } from '@mosaic/selectors';
import { parse } from 'csv-parse/sync';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine, writeOut, type CliIo } from '../io.ts';
import { flag, string } from '../options.ts';

/** Splits `<a>:<b>` at its first colon (document, handle and crypto values). */
function pair(value: string, what: string): [string, string] {
  const at = value.indexOf(':');
  if (at <= 0 || at === value.length - 1)
    throw new MosaicError(ErrorCode.SelectorInvalid, `expected ${what}`);
  return [value.slice(0, at).trim(), value.slice(at + 1).trim()];
}

/** The canonical selector of one row's type and value (the value is never echoed). */
function selectorOf(type: string, value: string): Selector {
  switch (type) {
    case SelectorKind.Document: {
      const [issuingCountry, number] = pair(value, '<issuing country>:<number>');
      return canonicalSelector('document', { issuingCountry, number });
    }
    case SelectorKind.Handle: {
      const [platform, handle] = pair(value, '<platform>:<handle>');
      return canonicalSelector('handle', { platform, handle });
    }
    case SelectorKind.Crypto: {
      const [network, address] = pair(value, '<network>:<address>');
      if (!(Object.values(CryptoNetwork) as string[]).includes(network))
        throw new MosaicError(ErrorCode.SelectorInvalid, `unknown crypto network`);
      return canonicalSelector('crypto', { network: network as CryptoNetwork, address });
    }
    case SelectorKind.Phone: {
      // A national number needs its country: RO:0723 456 789.
      if (!/^[A-Za-z]{2}:/.test(value)) return canonicalSelector('phone', value);
      const [country, number] = pair(value, '<country>:<number>');
      return canonicalSelector('phone', { number, country });
    }
    case SelectorKind.Email:
    case SelectorKind.Iban:
    case SelectorKind.Imo:
    case SelectorKind.Mmsi:
    case SelectorKind.Domain:
    case SelectorKind.Url:
      return canonicalSelector(type, value);
    default:
      throw new MosaicError(
        ErrorCode.SelectorInvalid,
        `unknown selector type ${JSON.stringify(type)}`,
      );
  }
}

interface Row {
  line: number;
  selector: Selector;
  reference: string;
}

/**
 * The rows of a selectors CSV file: `type,value[,reference]`, an optional header row
 * (`type,…`), `#` comments. Every bad row is reported (line and reason, never the value);
 * one bad row fails the whole file, so nothing is half registered.
 */
async function readRows(path: string, withReference: boolean): Promise<Row[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MosaicError(ErrorCode.Io, `cannot read ${path}: ${(err as Error).message}`, {
      details: { path },
      cause: err,
    });
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      comment: '#',
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new MosaicError(ErrorCode.Schema, `${path} is not CSV: ${(err as Error).message}`, {
      details: { path },
      cause: err,
    });
  }
  const rows: Row[] = [];
  const problems: string[] = [];
  for (const { record, info } of records) {
    const [type = '', value = '', reference = ''] = record;
    if (rows.length === 0 && problems.length === 0 && type.toLowerCase() === 'type') continue;
    const wanted = withReference ? 3 : 2;
    if (record.length < wanted || (withReference && reference === '')) {
      problems.push(
        `line ${info.lines}: expected ${withReference ? 'type,value,reference' : 'type,value'}`,
      );
      continue;
    }
    try {
      rows.push({ line: info.lines, selector: selectorOf(type.toLowerCase(), value), reference });
    } catch (err) {
      if (!isMosaicError(err, ErrorCode.SelectorInvalid)) throw err;
      problems.push(`line ${info.lines}: ${err.message}`);
    }
  }
  if (problems.length > 0)
    throw new MosaicError(
      ErrorCode.SelectorInvalid,
      `${path}: ${problems.length} unusable row(s), nothing sent:\n  ${problems.slice(0, 20).join('\n  ')}`,
      { details: { path, problems: problems.slice(0, 100) } },
    );
  if (rows.length === 0)
    throw new MosaicError(ErrorCode.SelectorInvalid, `${path} holds no selector`, {
      details: { path },
    });
  return rows;
}

const FILE_FORMAT = `The file is CSV: one selector per line, "type,value" (and ",reference" to register),
an optional header line and "#" comments. Types and values:
  phone     +40 723 456 789, or RO:0723 456 789        email     a.b@example.org
  iban      NL91 ABNA 0417 1643 00                   imo       IMO 9074729
  mmsi      244660000                                domain    example.org
  url       https://example.org/ad/1                 document  <country>:<number>, NG:A0987-6543
  handle    <platform>:<handle>, telegram:@recruiter  crypto    <network>:<address>
Each value is put in its canonical form and blinded on this machine; the hub receives only
its token (docs/privacy.md). A bad row is reported with its line, never its value, and
nothing is sent.`;

export const selectorsRegister = defineCommand({
  path: ['selectors', 'register'],
  summary: 'register private holdings (selectors you hold but do not share) for hit/no-hit',
  usage: 'Usage: mosaic selectors register --context <file> --file <csv> [--replace]',
  description: `Registers each selector of the file as a private holding of your agency, with your own
reference for it (a case or file number: it comes back to you in "hit" alerts and is never
shown to the agency that checks). When another agency checks a selector you hold, you get
a hit alert naming it; it learns your name only if your hit policy names you to it.
Registering a selector again replaces its reference. With --replace, every holding of
yours that is not in the file is withdrawn afterwards.

${FILE_FORMAT}`,
  options: {
    context: string({
      placeholder: '<file>',
      description: "your agency's context file",
      required: true,
    }),
    file: string({
      placeholder: '<csv>',
      description: 'type,value,reference rows',
      required: true,
    }),
    replace: flag({ description: 'afterwards hold exactly the selectors of the file' }),
  },
  footer: `Example:
  mosaic selectors register --context .mosaic/contexts/ro-dicot.json --file holdings.csv

Exit codes: 0 registered, 1 unusable rows (nothing sent), 2 usage error, 3 hub or key
            service unreachable, quota exceeded.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io: CliIo) {
    const rows = await readRows(values.file, true);
    const holdings: Holding[] = rows.map((r) => ({ selector: r.selector, reference: r.reference }));
    await using agency = await connectAgency({ context: values.context });
    const done = await registerHoldings(agency.connection, agency.agency, holdings, {
      replace: values.replace,
    });
    await writeOut(io.stdout, JSON.stringify({ ok: true, ...done }));
    return ExitCode.Ok;
  },
});

export const selectorsWithdraw = defineCommand({
  path: ['selectors', 'withdraw'],
  summary: 'withdraw private holdings (those of a file, or all)',
  usage: 'Usage: mosaic selectors withdraw --context <file> (--file <csv> | --all)',
  description: `Withdraws your agency's holdings of the selectors in the file (type,value rows; a
reference column is ignored), or every holding of yours with --all. Withdrawn holdings no
longer produce hits.

${FILE_FORMAT}`,
  options: {
    context: string({
      placeholder: '<file>',
      description: "your agency's context file",
      required: true,
    }),
    file: string({ placeholder: '<csv>', description: 'type,value rows' }),
    all: flag({ description: 'withdraw every holding of your agency' }),
  },
  footer: `Example:
  mosaic selectors withdraw --context .mosaic/contexts/ro-dicot.json --all

Exit codes: 0 withdrawn, 1 unusable rows (nothing sent), 2 usage error, 3 hub unreachable.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io: CliIo) {
    if ((values.file === undefined) === !values.all)
      throw usageError(selectorsWithdraw, 'give exactly one of --file and --all');
    const selectors =
      values.file === undefined
        ? 'all'
        : (await readRows(values.file, false)).map((r) => r.selector);
    await using agency = await connectAgency({ context: values.context });
    const done = await withdrawHoldings(agency.connection, agency.agency, selectors);
    await writeOut(io.stdout, JSON.stringify({ ok: true, ...done }));
    return ExitCode.Ok;
  },
});

export const selectorsCheck = defineCommand({
  path: ['selectors', 'check'],
  summary: 'check selectors against other agencies’ private holdings: hit or no-hit',
  usage: 'Usage: mosaic selectors check --context <file> --file <csv>',
  description: `Checks each selector of the file against the private holdings of the other agencies and
prints one JSON line per row on stdout, in file order:
  {"line":2,"type":"phone","result":"no-hit"}
  {"line":3,"type":"iban","result":"hit","holders":["ro-dicot"],"othersNotified":false}
  {"line":4,"type":"phone","result":"hit","holders":[],"othersNotified":true}
"holders" are the agencies whose hit policy lets them be named to you; "othersNotified"
means other holders were told of your check instead ("hit, the holder has been
notified"). Every holder receives a hit alert naming your agency: follow up with them.
Your own holdings are never a hit for you. Each check is recorded in the audit trail
(your agency and the counts, never a selector).

${FILE_FORMAT}`,
  options: {
    context: string({
      placeholder: '<file>',
      description: "your agency's context file",
      required: true,
    }),
    file: string({ placeholder: '<csv>', description: 'type,value rows', required: true }),
  },
  footer: `Example:
  mosaic selectors check --context .mosaic/contexts/de-bka.json --file selectors.csv

Exit codes: 0 checked, 1 unusable rows (nothing sent), 2 usage error, 3 hub or key
            service unreachable, quota exceeded.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io: CliIo) {
    const rows = await readRows(values.file, false);
    await using agency = await connectAgency({ context: values.context });
    const { results } = await checkSelectors(
      agency.connection,
      agency.agency,
      rows.map((r) => r.selector),
    );
    let hits = 0;
    for (const row of rows) {
      const result = results.get(row.selector) ?? { hit: false };
      const type = row.selector.slice(0, row.selector.indexOf(':'));
      if (result.hit) hits++;
      await writeOut(
        io.stdout,
        JSON.stringify(
          result.hit
            ? {
                line: row.line,
                type,
                result: 'hit',
                holders: result.holders,
                othersNotified: result.othersNotified,
              }
            : { line: row.line, type, result: 'no-hit' },
        ),
      );
    }
    writeLine(io.stderr, `selectors check: ${rows.length} checked, ${hits} hit(s)`);
    return ExitCode.Ok;
  },
});
