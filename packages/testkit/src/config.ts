export interface ServerConfig {
  serverName: string;
  /** -1 for a random port on first start, then the concrete one. */
  port: number;
  httpPort: number;
  dir: string;
  jetstream: boolean;
  storeDir: string;
  syncAlways: boolean;
  debug: boolean;
  cluster?: { name: string; port: number; routes: readonly number[] };
  extra: string;
}

const q = (s: string): string => JSON.stringify(s);

/** Renders a nats-server configuration file. */
export function renderConfig(c: ServerConfig): string {
  const lines = [
    '# written by @mosaic/testkit',
    `server_name: ${q(c.serverName)}`,
    'host: "127.0.0.1"',
    `port: ${c.port}`,
    `http_port: ${c.httpPort}`,
    `ports_file_dir: ${q(c.dir)}`,
  ];
  if (c.jetstream)
    lines.push(
      `jetstream { store_dir: ${q(c.storeDir)}${c.syncAlways ? ', sync_interval: always' : ''} }`,
    );
  if (c.cluster !== undefined) {
    const routes = c.cluster.routes.map((p) => q(`nats-route://127.0.0.1:${p}`)).join(', ');
    lines.push(
      `cluster { name: ${q(c.cluster.name)}, listen: "127.0.0.1:${c.cluster.port}", routes: [${routes}] }`,
    );
  }
  if (c.debug) lines.push('debug: true');
  if (c.extra.trim() !== '') lines.push(c.extra);
  return `${lines.join('\n')}\n`;
}
