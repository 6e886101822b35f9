export { startSelectorKeys, DEFAULT_SELECTOR_QUOTA } from './selector-keys.ts';
export type { SelectorKeysOptions } from './selector-keys.ts';
export { loadOrCreateSelectorKey, readSelectorKey } from './key-file.ts';
export type { SelectorKey } from './key-file.ts';
