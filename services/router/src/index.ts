export {
  startRouter,
  DEFAULT_ROUTER_CONCURRENCY,
  DEFAULT_ROUTER_ACK_WAIT_MS,
  DEFAULT_ROUTER_MAX_ACK_PENDING,
} from './router.ts';
export type { RouterHealth, RouterObserver, RouterOptions, RouterService } from './router.ts';
