export { startHub } from './hub.ts';
export type { Hub, StartHubOptions } from './hub.ts';
export { DEMO_KEY_ID } from './demo-keys.ts';
