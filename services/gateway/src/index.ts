export { startGateway } from './gateway.ts';
export type { Gateway, GatewayOptions } from './gateway.ts';
