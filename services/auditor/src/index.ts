export { startAuditor } from './auditor.ts';
export type { Auditor, AuditorObserver, AuditorOptions } from './auditor.ts';
