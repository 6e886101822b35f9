import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { DEFAULT_JSON_LIMITS, parseJson, parseReport } from '@mosaic/contract';
import type { Report } from '@mosaic/contract';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { decodeBase64url, decodeCheckedBase64url, isCanonicalBase64url } from './base64url.ts';
import { REPORT_MEDIA_TYPE } from './header.ts';
import type { ProtectedHeader, SignatureAlgorithm } from './header.ts';
import type { KeyLookup, KeyRecord } from './key-lookup.ts';
import { parseKid } from './kid.ts';

/**
 * The default limit on a compact JWS: a report at the contract's size limit grows by a third in base64url, plus
 * room for the header and signature, so any report the contract accepts also fits here.
 */
export const DEFAULT_MAX_JWS_BYTES = Math.ceil(DEFAULT_JSON_LIMITS.maxBytes / 3) * 4 + 2048;

const MAX_HEADER_BYTES = 8 * 1024;
const COMPACT_CHARACTERS = /^[A-Za-z0-9_.-]*$/;
const FORBIDDEN_PARAMETERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const;
const KNOWN_PARAMETERS = new Set(['alg', 'kid', 'typ', 'b64']);
const EDDSA_ONLY: readonly SignatureAlgorithm[] = ['EdDSA'];
const WITH_ES256: readonly SignatureAlgorithm[] = ['EdDSA', 'ES256'];

/** Options of `verifyReport`. */
export interface VerifyOptions {
  /** Largest accepted JWS in bytes; default `DEFAULT_MAX_JWS_BYTES`. */
  maxBytes?: number;
  /** The current time, for revocation when `receivedAt` is not given; default `new Date()`. */
  now?: Date;
  /**
   * The verifier's own, trusted time of receipt (at the hub: when ingest received the
   * submission). When given, the key must be valid at this time — `notBefore` ≤ `receivedAt` <
   * `notAfter`, not revoked — besides `issuedAt` lying in the key's window. Verifiers of fresh
   * submissions must pass it: `issuedAt` is written by the signer, so without it the holder of a
   * retired key could backdate a report into the key's window.
   */
  receivedAt?: Date;
  /** Also accept ES256 (ECDSA P-256) for keys registered as EC P-256; default false. */
  allowES256?: boolean;
  /**
   * Audit replay of archived reports: a trusted time (e.g. the JetStream stored timestamp) at
   * which this report is known to have existed. A revoked key is then still accepted when both
   * this time and the report's `issuedAt` precede `revokedAt`. `issuedAt` alone never suffices:
   * it is written by the signer, so a thief of a revoked key could backdate it.
   */
  acceptRevokedBefore?: Date;
}

/** A report whose signature, header, key and content all passed. */
export interface VerifiedReport {
  /** Parsed from `payload`; never re-serialised. */
  report: Report;
  /** The exact signed bytes: store and forward these. */
  payload: Uint8Array;
  header: ProtectedHeader;
  kid: string;
  agency: string;
  keyId: string;
}

function fail(code: ErrorCode, message: string, details?: unknown): MosaicError {
  return new MosaicError(code, message, details === undefined ? {} : { details });
}

function compactText(jws: string | Uint8Array, maxBytes: number): string {
  const size =
    typeof jws === 'string'
      ? jws.length > maxBytes
        ? jws.length
        : Buffer.byteLength(jws, 'utf8')
      : jws.byteLength;
  if (size > maxBytes)
    throw fail(ErrorCode.PayloadTooLarge, `JWS of ${size} bytes exceeds the limit of ${maxBytes}`, {
      limit: maxBytes,
      size,
    });
  // latin1 maps each byte to one character, so any non-ASCII byte fails the character check below.
  const text =
    typeof jws === 'string'
      ? jws
      : Buffer.from(jws.buffer, jws.byteOffset, jws.byteLength).toString('latin1');
  if (!COMPACT_CHARACTERS.test(text))
    throw fail(
      ErrorCode.JwsMalformed,
      'JWS holds characters outside the base64url alphabet and "."',
      { reason: 'alphabet' },
    );
  return text;
}

function notCanonical(name: string): MosaicError {
  return fail(ErrorCode.JwsMalformed, `JWS ${name} is not canonical base64url`, {
    reason: 'base64url',
    part: name,
  });
}

function empty(name: string): MosaicError {
  return fail(ErrorCode.JwsMalformed, `JWS ${name} is empty`, { reason: 'empty', part: name });
}

function decodePart(part: string, name: string): Uint8Array {
  const bytes = decodeBase64url(part);
  if (bytes === undefined) throw notCanonical(name);
  if (bytes.length === 0) throw empty(name);
  return bytes;
}

/** The checks of `decodePart` for a part decoded only once its turn comes: canonical, and (unless allowed) not empty. */
function checkPart(part: string, name: string, allowEmpty: boolean): void {
  if (!isCanonicalBase64url(part)) throw notCanonical(name);
  if (part.length === 0 && !allowEmpty) throw empty(name);
}

function signatureInvalid(kid: string, cause?: unknown): MosaicError {
  return new MosaicError(
    ErrorCode.SignatureInvalid,
    `signature does not verify with key "${kid}"`,
    {
      details: { kid },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

function parseHeader(bytes: Uint8Array): Record<string, unknown> {
  let header: unknown;
  try {
    header = parseJson(bytes, { maxBytes: MAX_HEADER_BYTES });
  } catch (err) {
    if (!isMosaicError(err)) throw err;
    throw new MosaicError(
      ErrorCode.JwsMalformed,
      `JWS protected header is not acceptable JSON (${err.code})`,
      {
        details: { reason: err.code, part: 'header' },
        cause: err,
      },
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw fail(ErrorCode.JwsMalformed, 'JWS protected header is not a JSON object', {
      reason: 'header',
      part: 'header',
    });
  return header as Record<string, unknown>;
}

function checkHeader(header: Record<string, unknown>, options: VerifyOptions): ProtectedHeader {
  const { alg, kid, typ } = header;
  const allowed = options.allowES256 === true ? WITH_ES256 : EDDSA_ONLY;
  if (typeof alg !== 'string' || !(allowed as readonly string[]).includes(alg))
    throw fail(
      ErrorCode.JwsAlgorithm,
      `JWS algorithm ${JSON.stringify(alg)} is not allowed (allowed: ${allowed.join(', ')})`,
      { alg },
    );
  for (const name of FORBIDDEN_PARAMETERS)
    if (Object.hasOwn(header, name))
      // Keys come from the federation registry only, never from the token itself.
      throw fail(ErrorCode.JwsHeader, `JWS header parameter "${name}" is not allowed`, {
        parameter: name,
      });
  if (Object.hasOwn(header, 'b64') && header.b64 !== true)
    throw fail(ErrorCode.JwsHeader, 'JWS header parameter "b64" other than true is not allowed', {
      parameter: 'b64',
    });
  if (typeof kid !== 'string')
    throw fail(ErrorCode.JwsHeader, 'JWS header has no string "kid"', { parameter: 'kid' });
  if (Object.hasOwn(header, 'crit'))
    throw fail(
      ErrorCode.JwsCrit,
      'JWS header marks extensions as critical; Mosaic understands none',
      { crit: header.crit },
    );
  for (const name of Object.keys(header))
    if (!KNOWN_PARAMETERS.has(name))
      throw fail(ErrorCode.JwsHeader, `JWS header parameter "${name}" is not supported`, {
        parameter: name,
      });
  if (typ !== REPORT_MEDIA_TYPE)
    throw fail(
      ErrorCode.JwsType,
      `JWS "typ" is ${JSON.stringify(typ)}, expected "${REPORT_MEDIA_TYPE}"`,
      { typ },
    );
  return { alg: alg as SignatureAlgorithm, kid, typ: REPORT_MEDIA_TYPE };
}

function keyAlgorithm(jwk: JWK): SignatureAlgorithm | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return undefined;
}

/** The members of a public key `createPublicKey` imports (kty, crv, x and, for EC, y), the absent ones left out. */
function publicMembers(jwk: JWK): JWK {
  const out: JWK = {};
  for (const member of jwk.kty === 'EC'
    ? (['kty', 'crv', 'x', 'y'] as const)
    : (['kty', 'crv', 'x'] as const)) {
    const value = jwk[member];
    if (value !== undefined) out[member] = value;
  }
  return out;
}

/** What `createPublicKey` makes of a key of each algorithm: Ed25519, or EC on P-256. */
function keyObjectFits(key: KeyObject, alg: SignatureAlgorithm): boolean {
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519';
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

// Importing a key costs about as much as a verification; registry records are long-lived objects.
const importedKeys = new WeakMap<JWK, KeyObject>();

function verificationKey(record: KeyRecord, alg: SignatureAlgorithm): KeyObject {
  let key = importedKeys.get(record.publicJwk);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: publicMembers(record.publicJwk), format: 'jwk' });
    } catch (err) {
      throw unusableKey(record, err);
    }
    importedKeys.set(record.publicJwk, key);
  }
  // `resolveKey` matched kty and crv to the algorithm; the imported key must agree exactly.
  if (!keyObjectFits(key, alg)) throw unusableKey(record);
  return key;
}

function unusableKey(record: KeyRecord, cause?: unknown): MosaicError {
  return new MosaicError(
    ErrorCode.KeyUnknown,
    `the registered key "${record.kid}" is not a usable public key`,
    { details: { kid: record.kid }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** An ES256 signature is R and S, 32 bytes each (RFC 7518 §3.4); any other length fails. */
const ES256_SIGNATURE_BYTES = 64;

/**
 * The signature check of RFC 7515 §5.2 over the signing input exactly as received (the ASCII
 * bytes of `header.payload`): Ed25519, or ECDSA P-256 with SHA-256 and R‖S, through
 * node:crypto with the cached key. False for any signature that does not verify.
 */
function signatureVerifies(
  alg: SignatureAlgorithm,
  key: KeyObject,
  signingInput: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (alg === 'EdDSA') return cryptoVerify(null, signingInput, key, signature);
  if (signature.byteLength !== ES256_SIGNATURE_BYTES) return false;
  return cryptoVerify('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

/** The ASCII bytes of `header.payload` of the compact JWS `text` (`jws` as given). */
function signingInputOf(jws: string | Uint8Array, text: string, length: number): Uint8Array {
  if (typeof jws !== 'string') return jws.subarray(0, length);
  return Buffer.from(text.slice(0, length), 'latin1');
}

async function resolveKey(keys: KeyLookup, header: ProtectedHeader): Promise<KeyRecord> {
  const parts = parseKid(header.kid);
  if (parts === undefined)
    throw fail(
      ErrorCode.KeyUnknown,
      `JWS "kid" ${JSON.stringify(header.kid)} is not of the form <agency>/<keyId>`,
      { kid: header.kid },
    );
  const record = await keys.resolve(header.kid);
  // A lookup answering with another key's record would let one agency's key speak for another.
  if (
    record === undefined ||
    record.kid !== header.kid ||
    record.agency !== parts.agency ||
    record.keyId !== parts.keyId
  )
    throw fail(ErrorCode.KeyUnknown, `no key "${header.kid}" is registered`, { kid: header.kid });
  const expected = keyAlgorithm(record.publicJwk);
  if (
    expected !== header.alg ||
    (record.publicJwk.alg !== undefined && record.publicJwk.alg !== header.alg)
  )
    throw fail(
      ErrorCode.JwsAlgorithm,
      `JWS algorithm ${header.alg} does not match key "${header.kid}"`,
      { alg: header.alg, kid: header.kid },
    );
  return record;
}

/** Milliseconds since the epoch, or NaN for a missing or unparseable time (which then fails closed). */
function timeOf(value: string | undefined): number {
  return value === undefined ? Number.NaN : Date.parse(value);
}

function checkKeyTime(record: KeyRecord, report: Report, options: VerifyOptions): void {
  const issued = timeOf(report.issuedAt);
  const notBefore = timeOf(record.notBefore);
  const notAfter = timeOf(record.notAfter);
  // NaN compares false, so an unparseable time or bound fails closed.
  const inWindow = (t: number): boolean =>
    (record.notBefore === undefined || t >= notBefore) &&
    (record.notAfter === undefined || t < notAfter);
  const window = { kid: record.kid, notBefore: record.notBefore, notAfter: record.notAfter };
  if (Number.isNaN(issued) || !inWindow(issued))
    throw fail(
      ErrorCode.KeyExpired,
      `key "${record.kid}" was not valid at the report's issuedAt ${report.issuedAt}`,
      { ...window, issuedAt: report.issuedAt },
    );
  const received = options.receivedAt;
  if (received !== undefined && !inWindow(received.getTime()))
    throw fail(
      ErrorCode.KeyExpired,
      `key "${record.kid}" was not valid when the report was received (${received.toISOString()})`,
      { ...window, issuedAt: report.issuedAt, receivedAt: received.toISOString() },
    );
  if (record.revokedAt === undefined) return;
  const revoked = timeOf(record.revokedAt);
  const now = (received ?? options.now ?? new Date()).getTime();
  if (revoked > now) return;
  const existedBefore = options.acceptRevokedBefore?.getTime();
  if (existedBefore !== undefined && existedBefore < revoked && issued < revoked) return;
  throw fail(ErrorCode.KeyRevoked, `key "${record.kid}" was revoked at ${record.revokedAt}`, {
    kid: record.kid,
    revokedAt: record.revokedAt,
  });
}

/**
 * Verifies a compact JWS report. Checks, in order, each with its own code: size
 * (ERR_PAYLOAD_TOO_LARGE); three canonical base64url parts (ERR_JWS_MALFORMED); the header
 * parsed by the hardened JSON parser (ERR_JWS_MALFORMED); `alg` EdDSA, or ES256 when allowed
 * (ERR_JWS_ALG); no `jwk`/`jku`/`x5u`/`x5c`/`x5t`/`x5t#S256`, no `b64: false`, a string `kid`,
 * no unknown parameter (ERR_JWS_HEADER); no `crit` (ERR_JWS_CRIT); `typ` (ERR_JWS_TYP); `kid`
 * resolving through `keys` (ERR_KEY_UNKNOWN); the signature (ERR_SIG_INVALID); the report
 * schema (`parseReport`'s codes); `issuer` = the key's agency (ERR_ISSUER_MISMATCH); key valid at
 * `issuedAt` and, when given, at `receivedAt` (ERR_KEY_NOT_VALID); not revoked at `receivedAt`
 * (or `now`), unless `acceptRevokedBefore` proves the report older (ERR_KEY_REVOKED).
 *
 * @example
 * ```ts
 * const keys = await readPublicKeyFile('./keys/nca-uk.20250101-1a2b3c4d.public.jwk');
 * const { report, payload } = await verifyReport(jws, keys);
 * // store `payload` (the exact signed bytes), route on `report`
 * ```
 */
export async function verifyReport(
  jws: string | Uint8Array,
  keys: KeyLookup,
  options: VerifyOptions = {},
): Promise<VerifiedReport> {
  const text = compactText(jws, options.maxBytes ?? DEFAULT_MAX_JWS_BYTES);
  const parts = text.split('.');
  const [headerPart, payloadPart, signaturePart] = parts;
  if (
    parts.length !== 3 ||
    headerPart === undefined ||
    payloadPart === undefined ||
    signaturePart === undefined
  )
    throw fail(ErrorCode.JwsMalformed, `JWS has ${parts.length} parts, a compact JWS has 3`, {
      reason: 'parts',
    });
  const headerBytes = decodePart(headerPart, 'header');
  // Detached payloads are not a Mosaic thing: the report travels inside its JWS.
  checkPart(payloadPart, 'payload', false);
  // An empty signature is let through to the algorithm check, which names `alg: none` for what it is.
  checkPart(signaturePart, 'signature', true);
  const header = checkHeader(parseHeader(headerBytes), options);
  const record = await resolveKey(keys, header);
  const key = verificationKey(record, header.alg);
  const signature = decodeCheckedBase64url(signaturePart);
  const signingInput = signingInputOf(jws, text, headerPart.length + 1 + payloadPart.length);
  let verified: boolean;
  try {
    verified = signatureVerifies(header.alg, key, signingInput, signature);
  } catch (err) {
    throw signatureInvalid(header.kid, err);
  }
  if (!verified) throw signatureInvalid(header.kid);
  const payload = decodeCheckedBase64url(payloadPart);
  const report = parseReport(payload);
  if (report.issuer !== record.agency)
    throw fail(
      ErrorCode.IssuerMismatch,
      `report issuer "${report.issuer}" is not the agency of key "${header.kid}"`,
      {
        issuer: report.issuer,
        kid: header.kid,
      },
    );
  checkKeyTime(record, report, options);
  return { report, payload, header, kid: record.kid, agency: record.agency, keyId: record.keyId };
}
