/**
 * Every command in README.md's sh blocks, run as written (`bash -c '<command>'`) by a new
 * user after `npm start`: in a temporary directory that holds what a checkout holds after
 * `npm ci` (links to this repository's node_modules, package.json, schemas and deploy), so
 * that `npx mosaic` is the workspace's bin and the README's relative paths (.mosaic/…,
 * keys/…, schemas/…, deploy/…) resolve there. The table below says how each command is run
 * and what it must produce; a README command missing from it, or an entry the README no
 * longer has, fails the test.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** One shell command of a README sh block. */
interface ReadmeCommand {
  /** Index of its sh block in the README. */
  block: number;
  /** The command as the README shows it (continuation lines kept), its comment dropped. */
  text: string;
  /** The same on one line: how the table names it. */
  key: string;
}

/** The index of an unquoted `#` that starts a comment, or -1. */
function commentStart(line: string): number {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return i;
  }
  return -1;
}

/** Splits on unquoted ` && `: each part of a chain is a command of its own. */
function splitChain(text: string): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (text.startsWith('&&', i)) {
      parts.push(text.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * The commands of every ```sh block of `markdown`: lines ending in `\` continue the
 * command, `# comments` are dropped (whole-line ones entirely), `&&` chains are split.
 */
function readmeCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)];
  blocks.forEach((match, block) => {
    let pending: string[] = [];
    for (const line of (match[1] ?? '').split('\n')) {
      const cut = commentStart(line);
      const code = (cut === -1 ? line : line.slice(0, cut)).trimEnd();
      if (code === '' && pending.length === 0) continue;
      pending.push(code);
      if (code.endsWith('\\')) continue;
      for (const text of splitChain(pending.join('\n'))) {
        commands.push({ block, text, key: text.replace(/\\\n\s*/g, '').replace(/\s+/g, ' ') });
      }
      pending = [];
    }
    if (pending.length > 0) throw new Error(`README sh block ${String(block)} ends in "\\"`);
  });
  return commands;
}

interface Result {
  /** The exit status as a shell reports it: 128 + n after signal n. */
  status: number;
  stdout: string;
  stderr: string;
}

/** How a README command is run here, and what it must produce. */
type Step =
  /** Not run by this test: run by CI itself, as written (.ci/run). */
  | { by: 'ci' }
  /** Not run by this test, and why. */
  | { by: 'elsewhere'; why: string }
  /** `npm start`: the hub every other command talks to, stopped with Ctrl-C at the end. */
  | { by: 'hub' }
  /** Run to its end; `again` runs it a second time. `offline`: needs no hub. */
  | {
      by: 'run';
      offline?: true;
      check: (r: Result) => void | Promise<void>;
      again?: (r: Result) => void | Promise<void>;
    }
  /** Long-running: Ctrl-C once its stdout satisfies `until`; awaited at the end of its block. */
  | { by: 'follow'; until: (stdout: string) => boolean; check: (r: Result) => Promise<void> };

let dir = '';
const inDir = (path: string): string => join(dir, path);

function okStdout(r: Result): void {
  expect(r.status, r.stderr).toBe(0);
}
const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** Ctrl-C in a terminal: SIGINT to the whole foreground process group. */
const CtrlC = 'SIGINT';
/** What a shell reports for a command that Ctrl-C ended. */
const interruptedExit = 130;

/**
 * The "existing tools" block is one shell session: `$GW`, `$TOKEN` and `$JWS` are set by one
 * command for the next, which separate `bash -c` runs cannot share. Each step is tested
 * where it lives: services/hub/test/taxii.test.ts and gateway.test.ts (TAXII, HTTP API,
 * tokens), packages/cli/test/stix.test.ts and misp.test.ts (export, import, MISP feed).
 */
const toolsSession: Step = {
  by: 'elsewhere',
  why: 'one shell session sharing $GW, $TOKEN and $JWS; each step has its own suite (see toolsSession)',
};

const steps = new Map<string, Step>([
  ['npm ci', { by: 'ci' }],
  ['npm start', { by: 'hub' }],
  ['npm test', { by: 'ci' }],
  [
    'npx mosaic subscribe --context .mosaic/contexts/nl-police.json --follow',
    {
      by: 'follow',
      until: (stdout) => stdout.includes('\n'),
      check: async (r) => {
        expect(r.status, r.stderr).toBe(interruptedExit);
        // The report ro-dicot published in the same block, and nothing else.
        const { reportId } = json(await readFile(inDir('report.json'), 'utf8'));
        const [line, ...rest] = lines(r.stdout);
        expect(rest).toEqual([]);
        expect(json(line ?? '')).toMatchObject({
          kind: 'report',
          originator: 'ro-dicot',
          reportId,
        });
      },
    },
  ],
  [
    `node -p 'JSON.stringify({ ...require("./.mosaic/examples/recruitment-advert.json"), reportId: crypto.randomUUID() })' > report.json`,
    {
      by: 'run',
      check: async (r) => {
        okStdout(r);
        const copy = json(
          await readFile(inDir('.mosaic/examples/recruitment-advert.json'), 'utf8'),
        );
        const report = json(await readFile(inDir('report.json'), 'utf8'));
        expect(report['reportId']).not.toBe(copy['reportId']);
        expect({ ...report, reportId: copy['reportId'] }).toEqual(copy);
      },
    },
  ],
  [
    'npx mosaic publish --context .mosaic/contexts/ro-dicot.json --key .mosaic/keys/ro-dicot.jwk report.json',
    {
      by: 'run',
      check: async (r) => {
        okStdout(r);
        const { reportId } = json(await readFile(inDir('report.json'), 'utf8'));
        expect(json(r.stdout)).toMatchObject({ ok: true, reportId, duplicate: false });
      },
      again: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ ok: true, duplicate: true });
      },
    },
  ],
  [
    'npx mosaic agency list --context .mosaic/contexts/operator.json',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(lines(r.stdout).map((l) => json(l)['id'])).toEqual([
          'de-bka',
          'ngo-lastrada',
          'nl-police',
          'ro-dicot',
        ]);
      },
    },
  ],
  [
    'npx mosaic agency add --context .mosaic/contexts/operator.json --file deploy/agency.example.yaml --reason "MoU 2026-14"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ added: 'be-police' });
      },
    },
  ],
  [
    'npx mosaic agreements list --context .mosaic/contexts/operator.json',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(lines(r.stdout).map((l) => json(l)['id'])).toEqual([0, 1, 2, 3]);
      },
    },
  ],
  [
    'npx mosaic agreements add --context .mosaic/contexts/operator.json --from be-police --to nl-police,de-bka --max-tlp AMBER --reason "MoU 2026-14"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ added: 4, agreement: { from: 'be-police' } });
      },
    },
  ],
  [
    'npx mosaic keys generate --agency ro-dicot --key-id 2026 --out keys',
    {
      by: 'run',
      check: async (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ kty: 'OKP', kid: 'ro-dicot/2026' });
        expect((await stat(inDir('keys/ro-dicot.2026.private.jwk'))).mode & 0o777).toBe(0o600);
      },
    },
  ],
  [
    'npx mosaic keys rotate --context .mosaic/contexts/operator.json --agency ro-dicot --public-key keys/ro-dicot.2026.public.jwk --retire-old-at now --reason "yearly rotation"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({
          agency: 'ro-dicot',
          keyId: '2026',
          retired: ['demo'],
        });
      },
    },
  ],
  [
    'npx mosaic keys revoke --context .mosaic/contexts/operator.json --agency ro-dicot --key-id demo --reason "laptop stolen"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ agency: 'ro-dicot', keyId: 'demo' });
      },
    },
  ],
  [
    'npx mosaic rules show --context .mosaic/contexts/operator.json --agency nl-police',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        const rules = JSON.parse(r.stdout) as { name?: string }[];
        expect(rules.map((rule) => rule.name)).toEqual([
          'Everything concerning the Netherlands',
          'EU-wide money flows',
        ]);
      },
    },
  ],
  [
    'npx mosaic rules set --context .mosaic/contexts/operator.json --agency nl-police --file deploy/rules.example.yaml --reason "nl-police asked for transport reports"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ agency: 'nl-police', rules: 3 });
      },
    },
  ],
  [
    'npx mosaic agreements remove --context .mosaic/contexts/operator.json --id 4 --reason "MoU ended"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ removed: 4 });
      },
    },
  ],
  [
    'npx mosaic agency remove --context .mosaic/contexts/operator.json --agency be-police --reason "MoU 2026-14 terminated"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ removed: 'be-police' });
      },
    },
  ],
  [
    'npx mosaic replay --context .mosaic/contexts/operator.json --stream reports --verify --since 2026-11-01T00:00:00Z --reason "case 2026/118" > reports.ndjson',
    {
      by: 'run',
      check: async (r) => {
        okStdout(r);
        const replayed = lines(await readFile(inDir('reports.ndjson'), 'utf8')).map(json);
        // The demo's six accepted reports and the one ro-dicot published above.
        expect(replayed.map((e) => e['seq'])).toEqual([1, 2, 3, 4, 5, 6, 7]);
        for (const entry of replayed) expect(entry).toMatchObject({ stream: 'REPORTS' });
        expect(r.stderr).toMatch(/7 verified/);
      },
    },
  ],
  [
    'npx mosaic replay --context .mosaic/contexts/operator.json --stream alerts --agency nl-police --from-seq 1 --to-seq 200 --format csv --reason "disclosure request of nl-police"',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        const [header, ...rows] = lines(r.stdout);
        expect(header).toBe('seq,time,subject,size,sha256,verified');
        // The demo's six alerts to nl-police (four reports and the two hit alerts of its
        // private holding) and the report ro-dicot published above.
        expect(rows).toHaveLength(7);
        for (const row of rows) expect(row).toMatch(/^\d+,[^,]+,mosaic\.alerts\.nl-police\./);
      },
    },
  ],
  [
    'npx mosaic audit verify --context .mosaic/contexts/operator.json',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ ok: true, reports: 7 });
      },
    },
  ],
  [
    'npx mosaic replay --context .mosaic/contexts/operator.json --stream audit --out audit.export --reason "annual audit"',
    {
      by: 'run',
      check: async (r) => {
        okStdout(r);
        expect(r.stderr).toMatch(/exported \d+ entries and \d+ checkpoints to audit\.export/);
        expect((await stat(inDir('audit.export'))).size).toBeGreaterThan(0);
      },
    },
  ],
  [
    'npx mosaic audit verify --export audit.export --jwks .mosaic/hub.jwks',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ ok: true });
      },
    },
  ],
  [
    'npx mosaic audit prove --context .mosaic/contexts/operator.json 1 > proof.json',
    {
      by: 'run',
      check: async (r) => {
        okStdout(r);
        expect(json(await readFile(inDir('proof.json'), 'utf8'))).toBeTypeOf('object');
      },
    },
  ],
  [
    'npx mosaic audit check-proof --jwks .mosaic/hub.jwks proof.json',
    {
      by: 'run',
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ ok: true, index: 0 });
      },
    },
  ],
  [
    'npx mosaic keys generate --agency de-bka --key-id 2026 --out keys',
    {
      by: 'run',
      offline: true,
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ kty: 'OKP', kid: 'de-bka/2026' });
      },
    },
  ],
  [
    'npx mosaic schema validate schemas/examples/valid/financial-flow.json',
    {
      by: 'run',
      offline: true,
      check: (r) => {
        okStdout(r);
        expect(json(r.stdout)).toMatchObject({ valid: true, issuer: 'de-bka' });
      },
    },
  ],
  [
    'npx mosaic sign --key keys/de-bka.2026.private.jwk schemas/examples/valid/financial-flow.json > report.jws',
    {
      by: 'run',
      offline: true,
      check: async (r) => {
        okStdout(r);
        const jws = (await readFile(inDir('report.jws'), 'utf8')).trim();
        expect(jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      },
    },
  ],
  [
    'npx mosaic verify --jwks keys/de-bka.2026.public.jwk report.jws',
    {
      by: 'run',
      offline: true,
      check: async (r) => {
        okStdout(r);
        const example = json(
          await readFile(inDir('schemas/examples/valid/financial-flow.json'), 'utf8'),
        );
        expect(json(r.stdout)).toEqual(example);
      },
    },
  ],
  ['GW=http://127.0.0.1:<port>', toolsSession],
  [
    'TOKEN=$(npx mosaic agency token issue --context .mosaic/contexts/operator.json --agency de-bka --reason "de-bka\'s OpenCTI" | node -pe \'JSON.parse(require("fs").readFileSync(0)).token\')',
    toolsSession,
  ],
  [
    'curl -s -H "Authorization: Bearer $TOKEN" -H \'Accept: application/taxii+json;version=2.1\' "$GW/taxii2/mosaic/collections/"',
    toolsSession,
  ],
  [
    'curl -s -H "Authorization: Bearer $TOKEN" -H \'Accept: application/taxii+json;version=2.1\' "$GW/taxii2/mosaic/collections/<id>/objects/?limit=100"',
    toolsSession,
  ],
  [
    'node -p \'JSON.stringify({ ...require("./.mosaic/examples/financial-flow.json"), reportId: crypto.randomUUID() })\' > de-report.json',
    toolsSession,
  ],
  ['JWS=$(npx mosaic sign --key .mosaic/keys/de-bka.jwk de-report.json)', toolsSession],
  [
    'curl -s -H "Authorization: Bearer $TOKEN" -H \'Content-Type: application/jose\' --data-binary "$JWS" "$GW/v1/reports"',
    toolsSession,
  ],
  ['curl -s -H "Authorization: Bearer $TOKEN" "$GW/v1/alerts?limit=100"', toolsSession],
  ['curl -s "$GW/v1/openapi.json"', toolsSession],
  [
    'npx mosaic export stix --context .mosaic/contexts/de-bka.json --out alerts.stix.json',
    toolsSession,
  ],
  [
    'npx mosaic export stix --context .mosaic/contexts/operator.json --agency de-bka --reason "de-bka\'s own reports" --out de-bka.stix.json',
    toolsSession,
  ],
  [
    'npx mosaic import stix de-bka.stix.json --context .mosaic/contexts/de-bka.json --key .mosaic/keys/de-bka.jwk',
    toolsSession,
  ],
  [
    'npx mosaic export misp-feed --context .mosaic/contexts/operator.json --agency de-bka --out de-bka.misp --reason "MISP feed for de-bka"',
    toolsSession,
  ],
  ['npm run typecheck', { by: 'ci' }],
  ['npm run lint', { by: 'ci' }],
  [
    'npm run format',
    {
      by: 'elsewhere',
      why: 'rewrites the working tree; CI runs its check, npm run lint, on every change',
    },
  ],
  [
    'npm run schemas',
    {
      by: 'elsewhere',
      why: 'rewrites schemas/ in the repository; each package json-schema test checks that the committed schema is what it generates',
    },
  ],
  [
    'npm run docs',
    {
      by: 'elsewhere',
      why: 'rewrites docs/architecture.md in the repository; test/dependency-graph.test.ts checks that the committed table is what it generates',
    },
  ],
  [
    'npm run compile',
    {
      by: 'elsewhere',
      why: 'rewrites packages/cli/dist in the repository, as npm ci and npm test do before they run; packages/cli/test/bin.test.ts checks the compiled command and what the bin runs',
    },
  ],
  [
    'npm run bench',
    {
      by: 'elsewhere',
      why: 'a benchmark of several minutes; test/bench.test.ts covers its harness',
    },
  ],
  [
    'npm run faults',
    {
      by: 'elsewhere',
      why: 'fault injection of about fifteen minutes; packages/faults/test/smoke.test.ts runs each fault once',
    },
  ],
]);

interface Running {
  child: ReturnType<typeof spawn>;
  done: Promise<Result>;
  /** Resolves once stdout satisfies `until` (or the command ended first). */
  reached: Promise<void>;
  /** What it wrote so far. */
  output(): { stdout: string; stderr: string };
}

/** `bash -c <text>` in the temp dir, in its own process group (so Ctrl-C reaches all of it). */
function start(text: string, until?: (stdout: string) => boolean): Running {
  const child = spawn('bash', ['-c', text], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let reachedResolve: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    reachedResolve = resolve;
  });
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    if (until?.(stdout) === true) reachedResolve();
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<Result>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      reachedResolve();
      const status = code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
      resolve({ status, stdout, stderr });
    });
  });
  return { child, done, reached, output: () => ({ stdout, stderr }) };
}

function signalGroup(running: Running, signal: NodeJS.Signals): void {
  const pid = running.child.pid;
  if (pid === undefined || running.child.exitCode !== null || running.child.signalCode !== null)
    return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * How long one README command may take before it counts as hung: a few seconds on a quiet
 * machine, but a CLI process that starts through npx and tsx while fault runs load both cores
 * has taken over 30 s. The bound catches a hang, not slowness.
 */
const COMMAND_BOUND_MS = 120_000;

/** Waits at most `ms` for `promise`; on timeout kills the command's group and fails. */
async function bounded<T>(running: Running, promise: Promise<T>, ms: number, what: string) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      signalGroup(running, 'SIGKILL');
      reject(new Error(`${what}: no end within ${String(ms / 1000)} s`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The hub's nats-server, from the ports file it writes into the data dir; 0 if none. */
async function natsServerPid(): Promise<number> {
  const files = await readdir(inDir('.mosaic'));
  const ports = files.find((f) => /^nats-server_\d+\.ports$/.test(f));
  return Number(/_(\d+)\.ports$/.exec(ports ?? '')?.[1] ?? 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
const commands = readmeCommands(readme);

/** Each sh block's commands this test runs, in README order. */
const runnableBlocks = [...new Set(commands.map((c) => c.block))]
  .map((block) =>
    commands.filter((c) => {
      const by = steps.get(c.key)?.by;
      return c.block === block && (by === 'run' || by === 'follow');
    }),
  )
  .filter((block) => block.length > 0);

/** A block that needs no hub: it runs while npm start starts. */
function isOffline(block: readonly ReadmeCommand[]): boolean {
  return block.every((c) => {
    const step = steps.get(c.key);
    return step?.by === 'run' && step.offline === true;
  });
}

/**
 * Runs a block's commands in order, each bounded; a long-running one is started, and after
 * the block's last command it gets Ctrl-C once its stdout shows what it should.
 */
async function runBlock(block: readonly ReadmeCommand[]): Promise<void> {
  const followers: {
    command: ReadmeCommand;
    running: Running;
    check: (r: Result) => Promise<void>;
  }[] = [];
  for (const command of block) {
    const step = steps.get(command.key);
    if (step?.by === 'follow') {
      followers.push({ command, running: start(command.text, step.until), check: step.check });
    } else if (step?.by === 'run') {
      const running = start(command.text);
      await step.check(await bounded(running, running.done, COMMAND_BOUND_MS, command.text));
      if (step.again !== undefined) {
        const second = start(command.text);
        await step.again(await bounded(second, second.done, COMMAND_BOUND_MS, command.text));
      }
    }
  }
  for (const { command, running, check } of followers) {
    await bounded(running, running.reached, COMMAND_BOUND_MS, command.text);
    signalGroup(running, CtrlC);
    await check(await bounded(running, running.done, COMMAND_BOUND_MS, command.text));
  }
}

describe('readmeCommands', () => {
  it('joins continuation lines, drops comments and splits && chains', () => {
    const md = [
      'text',
      '```sh',
      '# a comment line',
      'a --x "b # c" \\',
      "    'd'   # trailing",
      'npm ci && npm start     # two',
      '```',
      '```ts',
      'not.a.command();',
      '```',
      '```sh',
      'e',
      '```',
    ].join('\n');
    expect(readmeCommands(md)).toEqual([
      { block: 0, text: `a --x "b # c" \\\n    'd'`, key: `a --x "b # c" 'd'` },
      { block: 0, text: 'npm ci', key: 'npm ci' },
      { block: 0, text: 'npm start', key: 'npm start' },
      { block: 1, text: 'e', key: 'e' },
    ]);
  });
});

describe('README.md', () => {
  it('has a step in this test for every command, and none for a command it lacks', () => {
    const inReadme = new Set(commands.map((c) => c.key));
    expect(
      [...inReadme].filter((k) => !steps.has(k)),
      'README commands this test does not run',
    ).toEqual([]);
    expect(
      [...steps.keys()].filter((k) => !inReadme.has(k)),
      'steps for commands the README lacks',
    ).toEqual([]);
    expect(commands.filter((c) => steps.get(c.key)?.by === 'hub').map((c) => c.key)).toEqual([
      'npm start',
    ]);
  });
});

describe('README.md commands, as written, against npm start', () => {
  let hub: Running | undefined;
  /** Each offline block's run, started before npm start. */
  const offlineRun = new Map<ReadmeCommand[], Promise<void>>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-readme-'));
    for (const name of ['node_modules', 'package.json', 'schemas', 'deploy'])
      await symlink(join(repoRoot, name), join(dir, name));
    const npmStart = commands.find((c) => steps.get(c.key)?.by === 'hub');
    if (npmStart === undefined) throw new Error('README.md has no npm start');
    for (const block of runnableBlocks.filter(isOffline)) {
      const run = runBlock(block);
      // Awaited (and so reported) by the block's test; handled here so it is never unhandled.
      run.catch(() => undefined);
      offlineRun.set(block, run);
    }
    hub = start(npmStart.text, (out) => out.includes('mosaic demo: done'));
    await bounded(hub, hub.reached, 90_000, npmStart.text);
  }, 100_000);

  afterAll(async () => {
    // Only when a test failed before Ctrl-C stopped it: nats-server has a group of its own.
    if (hub !== undefined && hub.child.exitCode === null && hub.child.signalCode === null) {
      const serverPid = await natsServerPid();
      signalGroup(hub, 'SIGKILL');
      if (serverPid > 0 && alive(serverPid)) process.kill(serverPid, 'SIGKILL');
    }
    await hub?.done;
    await Promise.allSettled(offlineRun.values());
    await rm(dir, { recursive: true, force: true });
  }, 40_000);

  it('npm start: the hub is ready, and the demo shows accepted, duplicate and rejected reports', () => {
    const { stdout } = hub?.output() ?? { stdout: '' };
    expect(hub?.child.exitCode, 'npm start keeps running').toBeNull();
    expect(stdout).toMatch(/^mosaic: hub ready nats:\/\/127\.0\.0\.1:\d+$/m);
    expect(stdout).toMatch(/accepted {2}seq \d+/);
    expect(stdout).toContain('"duplicate":true');
    expect(stdout).toContain('ERR_JURISDICTION_NOT_ALLOWED');
    expect(stdout).toContain('ERR_SIGNER_NOT_CONNECTED');
    expect(stdout).toMatch(/who received nothing/);
  });

  for (const block of runnableBlocks) {
    const first = block[0]?.key ?? '';
    if (isOffline(block)) {
      it(`${first} … (run while npm start started)`, async () => {
        await offlineRun.get(block);
      }, 900_000);
    } else {
      // A block runs up to a dozen CLI processes one after another: a few seconds each on a
      // quiet machine, ten and more on a loaded one; each has its own bound.
      it(`${first} …`, () => runBlock(block), 900_000);
    }
  }

  it('npm start: Ctrl-C stops the hub cleanly, nats-server included', async () => {
    if (hub === undefined) throw new Error('npm start did not run');
    const serverPid = await natsServerPid();
    expect(serverPid, 'the nats-server ports file in .mosaic').toBeGreaterThan(0);
    signalGroup(hub, CtrlC);
    const result = await bounded(hub, hub.done, 30_000, 'npm start after Ctrl-C');
    expect(result.status, result.stderr).toBe(interruptedExit);
    const records = lines(result.stderr)
      .filter((l) => l.startsWith('{'))
      .map(json);
    expect(records.map((r) => r['msg'])).toContain('shutting down');
    // Services stop before nats-server: nothing fails on the way, the last checkpoint included.
    expect(records.filter((r) => Number(r['level']) >= 50)).toEqual([]);
    expect(alive(serverPid), 'nats-server is gone').toBe(false);
  }, 40_000);
});
