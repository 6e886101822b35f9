/**
 * The child-process side of `spawnReady`: prints `ready` on stdout, and on SIGTERM runs
 * `stop` (drain the service, close its connection) and exits 0.
 *
 * @example
 * ```ts
 * const service = await startIngest({ nc, … });
 * announceReady(async () => { await service.stop(); await nc.close(); });
 * ```
 */
export function announceReady(stop: () => Promise<void>): void {
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void stop().then(() => process.exit(0));
  });
}
