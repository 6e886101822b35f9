import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commands, type Command } from '../src/index.ts';
import { parseCommandArgs } from '../src/command.ts';
import { OUTPUT_CLOSED_HELP } from '../src/exit-codes.ts';

const bin = new URL('../bin/mosaic.js', import.meta.url).pathname;
const named = commands.map((c) => [c.path.join(' '), c] as const);

/** The flags the `Options:` section of a help text lists, in order. */
function listedOptions(help: string): string[] {
  const section = help.split('\n\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  return section
    .split('\n')
    .map((line) => /^ {2}(?:-h, )?--([a-z][a-z-]*)/.exec(line)?.[1])
    .filter((name) => name !== undefined);
}

/** Every `--flag` a text mentions. */
function mentioned(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1] ?? '');
}

/** A shell line's words: double-quoted ones kept whole, up to a redirection, pipe or comment. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) {
    const word = m[1] ?? m[2] ?? '';
    if (m[1] === undefined && /^(>|\||2>|<|#)/.test(word)) break;
    out.push(word);
  }
  return out;
}

/** The example command lines after the options of every help, continuations joined, as words. */
function examples(): { text: string; argv: string[] }[] {
  const found: { text: string; argv: string[] }[] = [];
  for (const command of commands) {
    const after = command.help.split('\n\nOptions:\n')[1]?.split('\n\n').slice(1).join('\n\n');
    const joined = (after ?? '').replaceAll(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const m = /^\s+(?:npx )?mosaic (.*)$/.exec(line);
      if (m?.[1] !== undefined) found.push({ text: line.trim(), argv: words(m[1]) });
    }
  }
  return found;
}

function commandOf(argv: string[]): { command: Command; rest: string[] } {
  const command = commands
    .filter((c) => c.path.every((w, i) => argv[i] === w))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (command === undefined) throw new Error(`no command for ${argv.join(' ')}`);
  return { command, rest: argv.slice(command.path.length) };
}

describe('every command help is generated from the options it parses', () => {
  it.each(named)('%s: the Options section lists exactly its definitions', (_name, command) => {
    expect(listedOptions(command.help)).toEqual([...Object.keys(command.options), 'help']);
  });

  it.each(named)('%s: every option it defines is parsed', (_name, command) => {
    for (const [name, def] of Object.entries(command.options)) {
      const argv = def.kind === 'boolean' ? [`--${name}`] : [`--${name}=x`];
      let message = '';
      try {
        parseCommandArgs(command, argv);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, name).not.toMatch(/unknown option/);
    }
  });

  it.each(named)('%s: every option its usage line names is defined', (_name, command) => {
    const usage = command.help.split('\n\n')[0] ?? '';
    expect(usage).toMatch(new RegExp(`^Usage: mosaic ${command.path.join(' ')}`));
    for (const flag of mentioned(usage)) expect(Object.keys(command.options)).toContain(flag);
  });

  it('every example in a help parses with the options of the command it runs', () => {
    const all = examples();
    expect(all.length).toBeGreaterThan(commands.length);
    for (const { text, argv } of all) {
      const { command, rest } = commandOf(argv);
      expect(() => parseCommandArgs(command, rest), text).not.toThrow();
    }
  });

  it('an example with an option its command does not parse is found', () => {
    const { command, rest } = commandOf(words('rules show --context c.json --agenc x'));
    expect(() => parseCommandArgs(command, rest)).toThrow(/unknown option --agenc/);
  });
});

describe('mosaic <command> --help as a process', () => {
  // One real process per command: what a user sees is the generated help.
  it.concurrent.each(named)(
    '%s --help prints the help its definitions generate',
    async (_name, command) => {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [
        bin,
        ...command.path,
        '--help',
      ]);
      expect(stderr).toBe('');
      expect(stdout).toBe(`${command.help}\n${OUTPUT_CLOSED_HELP}\n`);
      expect(listedOptions(stdout)).toEqual([...Object.keys(command.options), 'help']);
    },
    300_000,
  );
});
