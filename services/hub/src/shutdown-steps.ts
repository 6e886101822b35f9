import type { Logger } from '@mosaic/log';

/**
 * Steps to undo what a start-up did, run in reverse order of registration; a failing step
 * is logged and the others still run. `run()` empties the list, so it runs each step once.
 */
export function shutdownSteps(log: Logger): {
  cleanup: (() => Promise<void>)[];
  run: () => Promise<void>;
} {
  const cleanup: (() => Promise<void>)[] = [];
  const run = async (): Promise<void> => {
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        log.error({ err }, 'shutdown step failed');
      }
    }
  };
  return { cleanup, run };
}
