import type { DebianToolRequest } from './tool.ts';

/**
 * The programs Mosaic's tests and checks take from Debian, by the name `bin/setup.ts`
 * accepts: fault injection (`faketime`, `ip`, `tc`), browser tests (`chromium`), metric
 * names (`promtool`).
 */
export const debianTools = {
  faketime: { package: 'faketime', binary: 'faketime', probe: ['--version'] },
  ip: { package: 'iproute2', binary: 'ip', probe: ['-V'] },
  tc: { package: 'iproute2', binary: 'tc', probe: ['-V'] },
  chromium: { package: 'chromium', binary: 'chromium', probe: ['--version'] },
  promtool: { package: 'prometheus', binary: 'promtool', probe: ['--version'] },
} as const satisfies Record<string, DebianToolRequest>;

/**
 * A tool named on the command line: a key of `debianTools`, or `<package>:<binary>` for any
 * other (`iproute2:ss`), or a package whose program has its name (`jq`).
 */
export function parseToolArg(arg: string): DebianToolRequest {
  if (Object.hasOwn(debianTools, arg)) return debianTools[arg as keyof typeof debianTools];
  const colon = arg.indexOf(':');
  return colon < 0
    ? { package: arg, binary: arg }
    : { package: arg.slice(0, colon), binary: arg.slice(colon + 1) };
}
