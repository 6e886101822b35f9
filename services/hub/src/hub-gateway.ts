import {
  gatewayAgencyIdentity,
  gatewayServiceIdentity,
  type IdentitySet,
  type NatsIdentity,
} from '@mosaic/identities';
import { startGateway, type Gateway, type GatewayOptions } from '@mosaic/gateway';
import type { Logger } from '@mosaic/log';
import type { RegistryView } from '@mosaic/federation';
import type { NatsConnection } from '@nats-io/transport-node';

/** Where the gateway listens and how it limits: what `mosaic dev` options and `hub.yaml` set. */
export type HubGatewayListen = Pick<GatewayOptions, 'host' | 'port' | 'tls' | 'rateLimit'>;

/**
 * Starts the HTTP gateway on its own hub-account user and, per agency on first use, a
 * gateway user of that agency's account (kept until the gateway stops; made again when the
 * broker closed it). Both users are made from the account signing keys at every start and
 * never written to disk. `mosaic dev` and `mosaic serve --only gateway` both run it.
 */
export async function startHubGateway(
  o: {
    /** Connects as an identity (to the hub's server or every node of the cluster). */
    connectAs: (identity: NatsIdentity) => Promise<NatsConnection>;
    log: Logger;
    registry: RegistryView;
    /** The account keys in force now (agencies added later included). */
    accounts: () => IdentitySet['accounts'];
    /** Run in reverse at shutdown: the gateway's connections are closed there. */
    cleanup: (() => Promise<void>)[];
  } & HubGatewayListen,
): Promise<Gateway> {
  const { connectAs, log, registry, accounts, cleanup, ...listen } = o;
  const nc = await connectAs(await gatewayServiceIdentity(accounts()));
  cleanup.push(() => nc.close());
  const agencies = new Map<string, Promise<NatsConnection>>();
  cleanup.push(async () => {
    for (const c of agencies.values()) await (await c).close();
  });
  const agencyConnection = async (agency: string): Promise<NatsConnection> => {
    const cached = agencies.get(agency);
    if (cached !== undefined && !(await cached).isClosed()) return cached;
    const fresh = gatewayAgencyIdentity(accounts(), agency).then(connectAs);
    agencies.set(agency, fresh);
    fresh.catch(() => agencies.delete(agency));
    return fresh;
  };
  const gateway = await startGateway({
    nc,
    agencyConnection,
    isMember: (agency) => registry.agency(agency) !== undefined,
    log: log.child({ component: 'gateway' }),
    ...listen,
  });
  cleanup.push(() => gateway.stop());
  return gateway;
}
