/**
 * NATS messages per report, per connection role, from nats-server's own counters
 * (`/connz`: `in_msgs` the client published, `out_msgs` the server delivered to it): what
 * the hub asks of nats-server for each report, which is most of nats-server's CPU beyond
 * the writes themselves.
 */

/** One connection as `/connz` lists it (the fields read here). */
export interface ConnzConnection {
  cid: number;
  name?: string;
  in_msgs: number;
  out_msgs: number;
}

/** Messages a role's connections published (`in`) and were delivered (`out`), per report. */
interface RoleTraffic {
  in: number;
  out: number;
}

export interface Traffic {
  /** Over every connection. */
  total: RoleTraffic;
  /** By role: the hub service a connection is named after, or `agencies`. */
  byRole: Record<string, RoleTraffic>;
}

/** The role of a connection from its name: `mosaic-router` → `router`, any agency → `agencies`. */
export function connectionRole(name: string | undefined): string {
  if (name === undefined || name === '') return 'unnamed';
  if (name.startsWith('mosaic-agency-')) return 'agencies';
  return name.startsWith('mosaic-') ? name.slice('mosaic-'.length) : name;
}

/**
 * Per report: each connection's messages between two `/connz` snapshots of the same servers
 * (keyed `<server>/<cid>`; a connection absent before counts from zero), summed by role.
 */
export function trafficPerReport(
  before: ReadonlyMap<string, ConnzConnection>,
  after: ReadonlyMap<string, ConnzConnection>,
  reports: number,
): Traffic {
  const total: RoleTraffic = { in: 0, out: 0 };
  const byRole: Record<string, RoleTraffic> = {};
  const n = Math.max(1, reports);
  for (const [key, c] of after) {
    const b = before.get(key);
    const dIn = (c.in_msgs - (b?.in_msgs ?? 0)) / n;
    const dOut = (c.out_msgs - (b?.out_msgs ?? 0)) / n;
    const role = (byRole[connectionRole(c.name)] ??= { in: 0, out: 0 });
    role.in += dIn;
    role.out += dOut;
    total.in += dIn;
    total.out += dOut;
  }
  return { total, byRole };
}

/** Every open connection of each server, keyed `<server index>/<cid>`. */
export async function connzSnapshot(
  monitorUrls: readonly string[],
): Promise<Map<string, ConnzConnection>> {
  const out = new Map<string, ConnzConnection>();
  for (const [i, url] of monitorUrls.entries()) {
    const res = await fetch(`${url}/connz?limit=100000`);
    if (!res.ok) throw new Error(`${url}/connz: HTTP ${String(res.status)}`);
    const body = (await res.json()) as { connections?: ConnzConnection[] };
    for (const c of body.connections ?? []) out.set(`${String(i)}/${String(c.cid)}`, c);
  }
  return out;
}

/** `router 9.3 / 20.8, auditor …`: in / out per report, largest first. */
export function formatTraffic(t: Traffic): string {
  return Object.entries(t.byRole)
    .sort((a, b) => b[1].in + b[1].out - (a[1].in + a[1].out))
    .filter(([, r]) => r.in + r.out >= 0.05)
    .map(([role, r]) => `${role} ${r.in.toFixed(1)} / ${r.out.toFixed(1)}`)
    .join(', ');
}
