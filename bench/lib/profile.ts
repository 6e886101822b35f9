/** Summary of a V8 `.cpuprofile` (node --cpu-prof): self time per function and per package. */
import { SourceMap, type SourceMapPayload } from 'node:module';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber?: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idlePct: number;
  /** Self time per function, largest first. */
  top: { fn: string; where: string; selfMs: number; selfPct: number }[];
  /** Self time per package (or node internals, GC, program), largest first. */
  byPackage: { name: string; selfMs: number; selfPct: number }[];
}

/** `node_modules/@nats-io/jetstream/lib/x.js` → `@nats-io/jetstream`; repo sources → their package dir. */
export function packageOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (m !== null) return `${m[1]}/${m[2]}`;
  return url.replace(/^file:\/\//, '');
}

function shortWhere(url: string, line: number): string {
  const short = url
    .replace(/^file:\/\//, '')
    .replace(/^.*node_modules\//, '')
    .replace(/^.*\/(packages|services)\//, '$1/');
  return short === '' ? '' : `${short}:${line + 1}`;
}

/** Self time per function and package; idle is reported apart and left out of the rest. */
export function summariseProfile(p: CpuProfile, topN = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfById = new Map<number, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    selfById.set(id, (selfById.get(id) ?? 0) + dt);
  });
  const fns = new Map<string, { fn: string; where: string; selfMs: number }>();
  const pkgs = new Map<string, number>();
  let idle = 0;
  for (const [id, ms] of selfById) {
    const cf = byId.get(id)?.callFrame;
    if (cf === undefined) continue;
    if (cf.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const fn = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const where = shortWhere(cf.url, cf.lineNumber);
    const key = `${fn} ${where}`;
    const entry = fns.get(key) ?? { fn, where, selfMs: 0 };
    entry.selfMs += ms;
    fns.set(key, entry);
    const pkg = packageOf(cf.url, fn);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + ms);
  }
  const pct = (ms: number): number => (total > 0 ? (ms * 100) / total : 0);
  return {
    totalMs: total,
    idlePct: pct(idle),
    top: [...fns.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, topN)
      .map((f) => ({ ...f, selfPct: pct(f.selfMs) })),
    byPackage: [...pkgs.entries()]
      .map(([name, selfMs]) => ({ name, selfMs, selfPct: pct(selfMs) }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}

/**
 * `profile` with the frames of the compiled file `compiledUrl` put back where their source
 * map (`map`, whose `sources` are relative to `compiledUrl`) says they come from: a compiled
 * hub's own code is then counted package by package, as when it runs from source. Frames
 * the map does not cover are left as they are.
 */
export function withSourceMap(
  profile: CpuProfile,
  compiledUrl: string,
  map: SourceMapPayload,
): CpuProfile {
  const sourceMap = new SourceMap(map);
  const nodes = profile.nodes.map((node) => {
    const cf = node.callFrame;
    if (cf.url !== compiledUrl || cf.lineNumber < 0) return node;
    const entry = sourceMap.findEntry(cf.lineNumber, cf.columnNumber ?? 0);
    // Nothing mapped on the frame's own line (the module's first line, the build's name).
    if (!('originalSource' in entry) || entry.generatedLine !== cf.lineNumber) return node;
    return {
      ...node,
      callFrame: {
        ...cf,
        url: new URL(entry.originalSource, compiledUrl).href,
        lineNumber: entry.originalLine,
        columnNumber: entry.originalColumn,
      },
    };
  });
  return { ...profile, nodes };
}
