/**
 * How many subscriptions nats-server holds for the one open connection named `name`, read
 * from its monitoring endpoint (`/connz?subs=1`): what a client left behind, counted where
 * it costs. Throws unless exactly one open connection has that name.
 */
export async function connectionSubscriptions(monitorUrl: string, name: string): Promise<number> {
  const res = await fetch(`${monitorUrl}/connz?subs=1&limit=100000`);
  if (!res.ok) throw new Error(`${monitorUrl}/connz: HTTP ${String(res.status)}`);
  const { connections } = (await res.json()) as {
    connections: { name?: string; subscriptions: number }[];
  };
  const named = connections.filter((c) => c.name === name);
  if (named.length !== 1 || named[0] === undefined)
    throw new Error(`${String(named.length)} open connections named "${name}", not one`);
  return named[0].subscriptions;
}
