import { createHash, randomUUID } from 'node:crypto';

/** The namespace of STIX 2.1 deterministic SCO ids (STIX 2.1, 2.9). */
export const STIX_SCO_NAMESPACE = '00abedb4-aa42-52ef-85a0-e26aa8e2148b';

/** Mosaic's own namespace for ids derived from non-sensitive names (issuer, report id). */
const MOSAIC_NAMESPACE = '69cb7c26-61f6-4e6c-b410-2e57301949f7';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** RFC 9562 UUID version 5 (SHA-1) of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(uuidBytes(namespace))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  hash.writeUInt8((hash.readUInt8(6) & 0x0f) | 0x50, 6);
  hash.writeUInt8((hash.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = hash.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A STIX id `<type>--<uuid v5>` derived from a name in Mosaic's namespace. */
export function derivedId(type: string, name: string): string {
  return `${type}--${uuidV5(MOSAIC_NAMESPACE, `${type}:${name}`)}`;
}

/** A STIX id `<type>--<uuid v4>`. */
export function randomId(type: string): string {
  return `${type}--${randomUUID()}`;
}
