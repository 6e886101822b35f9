export { startAuditor } from './auditor.ts';
export type { Auditor, AuditorOptions } from './auditor.ts';
