export { startGateway } from './gateway.ts';
export type { Gateway, GatewayOptions } from './gateway.ts';
export { generateOpenApi } from './openapi.ts';
export { collectionId } from './taxii.ts';
