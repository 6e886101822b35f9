/**
 * What a failure says about whose move it is, declared once per code; exit codes, retries
 * and HTTP statuses are derived from it (`./classify.ts`), never listed by hand.
 * - `input`: the caller's input was examined and refused; the same input fails again.
 * - `usage`: the call itself was wrong (missing or invalid arguments or options).
 * - `environment`: a file, key file, server or network failed, not the input.
 * - `internal`: a bug in Mosaic.
 */
export const ErrorClass = {
  Input: 'input',
  Usage: 'usage',
  Environment: 'environment',
  Internal: 'internal',
} as const;

export type ErrorClass = (typeof ErrorClass)[keyof typeof ErrorClass];

/** One entry of the catalogue. */
export interface ErrorSpec {
  readonly code: `ERR_${string}`;
  readonly class: ErrorClass;
  /** Sending the same request again, unchanged, may succeed: callers retry it by themselves. */
  readonly retryable: boolean;
  /** HTTP status where the class's default (see `httpStatus`) is less precise. */
  readonly status?: number;
}

/**
 * The stable error codes with their class. A code never changes meaning once released and
 * is never reused; every code is documented in docs/errors.md with its class and whether it
 * is retryable (a test enforces all three).
 */
export const errorCatalogue = {
  /** Input is larger than the configured byte limit. */
  PayloadTooLarge: { code: 'ERR_PAYLOAD_TOO_LARGE', class: 'input', retryable: false, status: 413 },
  /** Input is not well-formed JSON (or not UTF-8). */
  JsonSyntax: { code: 'ERR_JSON_SYNTAX', class: 'input', retryable: false, status: 400 },
  /** JSON nests deeper than the configured limit. */
  JsonDepth: { code: 'ERR_JSON_DEPTH', class: 'input', retryable: false, status: 400 },
  /** A JSON object repeats a key. */
  JsonDuplicateKey: {
    code: 'ERR_JSON_DUPLICATE_KEY',
    class: 'input',
    retryable: false,
    status: 400,
  },
  /** A JSON number's text is not exactly the decimal its double prints as (rounded, or underflowed to 0). */
  JsonNumber: { code: 'ERR_JSON_NUMBER', class: 'input', retryable: false, status: 400 },
  /** A JSON object uses `__proto__`, `constructor` or `prototype` as a key. */
  JsonForbiddenKey: {
    code: 'ERR_JSON_FORBIDDEN_KEY',
    class: 'input',
    retryable: false,
    status: 400,
  },
  /** An identifier holds control, bidi or other invisible formatting characters. */
  UnsafeCharacters: { code: 'ERR_UNSAFE_CHARACTERS', class: 'input', retryable: false },
  /** A value used as a NATS subject token is empty or holds `.`, `*`, `>` or white space. */
  SubjectToken: { code: 'ERR_SUBJECT_TOKEN', class: 'input', retryable: false },
  /** The report does not match the strict schema. */
  Schema: { code: 'ERR_SCHEMA', class: 'input', retryable: false },
  /** The JWS is not a well-formed compact serialisation. */
  JwsMalformed: { code: 'ERR_JWS_MALFORMED', class: 'input', retryable: false, status: 400 },
  /** The JWS algorithm is not on the allow-list (e.g. `none`, HMAC). */
  JwsAlgorithm: { code: 'ERR_JWS_ALG', class: 'input', retryable: false },
  /** The JWS protected header carries a forbidden or unsupported parameter. */
  JwsHeader: { code: 'ERR_JWS_HEADER', class: 'input', retryable: false },
  /** The JWS marks as critical an extension Mosaic does not understand. */
  JwsCrit: { code: 'ERR_JWS_CRIT', class: 'input', retryable: false },
  /** The JWS `typ` is not the Mosaic report media type. */
  JwsType: { code: 'ERR_JWS_TYP', class: 'input', retryable: false },
  /** The `kid` is malformed or does not resolve to a registered key. */
  KeyUnknown: { code: 'ERR_KEY_UNKNOWN', class: 'input', retryable: false },
  /** The key was not valid at the time the report was issued. */
  KeyExpired: { code: 'ERR_KEY_NOT_VALID', class: 'input', retryable: false },
  /** The key has been revoked. */
  KeyRevoked: { code: 'ERR_KEY_REVOKED', class: 'input', retryable: false },
  /** The signature does not verify with the resolved key. */
  SignatureInvalid: { code: 'ERR_SIG_INVALID', class: 'input', retryable: false },
  /** The signed report names an issuer other than the agency that owns the key. */
  IssuerMismatch: { code: 'ERR_ISSUER_MISMATCH', class: 'input', retryable: false },
  /** An alert's routing metadata (recipient, issuer, report id, kind, reason) does not match the alert or the verified report inside it. */
  AlertInvalid: { code: 'ERR_ALERT_INVALID', class: 'input', retryable: false },
  /** A key file is unreadable or not a usable Ed25519 JWK. */
  KeyFile: { code: 'ERR_KEY_FILE', class: 'environment', retryable: false },
  /** A signed checkpoint (C2SP signed note) is malformed or has no valid signature by a known hub key. */
  Checkpoint: { code: 'ERR_CHECKPOINT', class: 'input', retryable: false },
  /** Bytes or a value are not a canonical audit entry (`@mosaic/audit-log` entry schema). */
  AuditEntry: { code: 'ERR_AUDIT_ENTRY', class: 'input', retryable: false },
  /** A Merkle proof was asked for outside the log, or a proof input is malformed. */
  AuditProof: { code: 'ERR_AUDIT_PROOF', class: 'input', retryable: false },
  /** An audit export file (NDJSON) is unreadable or holds a malformed line. */
  AuditExport: { code: 'ERR_AUDIT_EXPORT', class: 'input', retryable: false },
  /** A file or stream could not be read or written. */
  Io: { code: 'ERR_IO', class: 'environment', retryable: false },
  /** A command was called with missing or invalid arguments. */
  Usage: { code: 'ERR_USAGE', class: 'usage', retryable: false },
  /** The reader of a command's standard output went away (EPIPE, e.g. `| head -1`): the command stopped writing. */
  OutputClosed: { code: 'ERR_OUTPUT_CLOSED', class: 'environment', retryable: false },
  /** No usable nats-server (>= 2.12) could be found or fetched. */
  NatsServerUnavailable: {
    code: 'ERR_NATS_SERVER_UNAVAILABLE',
    class: 'environment',
    retryable: false,
  },
  /** A nats-server process did not start or did not become ready in time. */
  NatsServerStart: { code: 'ERR_NATS_SERVER_START', class: 'environment', retryable: false },
  /** A Debian Python package the tests need is neither importable by the system python3 nor fetchable. */
  PythonPackageUnavailable: {
    code: 'ERR_PYTHON_PACKAGE_UNAVAILABLE',
    class: 'environment',
    retryable: false,
  },
  /** The requested operation is not supported by the current test-server mode. */
  /** A tool from a Debian package (faketime, ip, promtool, …) is neither given, on PATH, cached nor fetchable. */
  DebianToolUnavailable: {
    code: 'ERR_DEBIAN_TOOL_UNAVAILABLE',
    class: 'environment',
    retryable: false,
  },
  /** The fault suite could not create or change a network namespace, veth pair or bridge (not root, `ip` failed). */
  NetworkNamespace: { code: 'ERR_NETWORK_NAMESPACE', class: 'environment', retryable: false },
  TestkitMode: { code: 'ERR_TESTKIT_MODE', class: 'internal', retryable: false },
  /** A child process a test started exited, or did not print its ready line in time. */
  TestChild: { code: 'ERR_TEST_CHILD', class: 'environment', retryable: false },
  /** The federation file is unreadable as YAML, does not match its schema, or is inconsistent. */
  Federation: { code: 'ERR_FEDERATION', class: 'input', retryable: false },
  /** The JetStream KV registry is missing, unreadable or holds an invalid entry. */
  Registry: { code: 'ERR_REGISTRY', class: 'environment', retryable: true },
  /** A NATS context file (server URL and credentials) is unreadable or invalid. */
  ContextFile: { code: 'ERR_CONTEXT_FILE', class: 'environment', retryable: false },
  /** The report is signed by an agency other than the one whose connection submitted it. */
  SignerNotConnected: {
    code: 'ERR_SIGNER_NOT_CONNECTED',
    class: 'input',
    retryable: false,
    status: 403,
  },
  /** The report's origin is not a jurisdiction its agency may report for. */
  JurisdictionNotAllowed: {
    code: 'ERR_JURISDICTION_NOT_ALLOWED',
    class: 'input',
    retryable: false,
    status: 403,
  },
  /** A jurisdiction is neither an ISO 3166-1 alpha-2 code nor a group of the federation. */
  JurisdictionUnknown: { code: 'ERR_JURISDICTION_UNKNOWN', class: 'input', retryable: false },
  /** An agency named in the report is not an agency of the federation. */
  AgencyUnknown: { code: 'ERR_AGENCY_UNKNOWN', class: 'input', retryable: false },
  /** The report's `issuedAt` lies further in the future than the allowed clock skew. */
  IssuedInFuture: { code: 'ERR_ISSUED_IN_FUTURE', class: 'input', retryable: false },
  /** The report's `issuedAt` is older than the hub's maximum report age. */
  IssuedTooOld: { code: 'ERR_ISSUED_TOO_OLD', class: 'input', retryable: false },
  /** The report's validity window has already ended, or ends before the report was issued. */
  ValidityWindow: { code: 'ERR_VALIDITY_WINDOW', class: 'input', retryable: false },
  /** A retraction or supersede names a report of the same issuer that the hub does not hold. */
  LineageUnknown: { code: 'ERR_LINEAGE_UNKNOWN', class: 'input', retryable: false },
  /** A report with the same issuer and id is stored with different signed bytes. */
  ReportConflict: { code: 'ERR_REPORT_CONFLICT', class: 'input', retryable: false, status: 409 },
  /** A submission has no reply subject, or one outside the submitting agency's inbox. */
  ReplySubject: { code: 'ERR_REPLY_SUBJECT', class: 'input', retryable: false, status: 400 },
  /** A message on an agency's ingest subject is not attested by the broker as sent from that agency's account. */
  SenderNotAttested: {
    code: 'ERR_SENDER_NOT_ATTESTED',
    class: 'input',
    retryable: false,
    status: 401,
  },
  /** The hub or its storage is unavailable right now; retry the same bytes later. */
  Unavailable: { code: 'ERR_UNAVAILABLE', class: 'environment', retryable: true },
  /** An unexpected failure inside Mosaic (a bug); the logs hold the details. */
  Internal: { code: 'ERR_INTERNAL', class: 'internal', retryable: false },
  /** The broker refused an operation to the connected identity (e.g. an agency context used for an operator command). */
  PermissionDenied: {
    code: 'ERR_PERMISSION_DENIED',
    class: 'environment',
    retryable: false,
    status: 403,
  },
  /** A registry change lost the race with concurrent changes too many times. */
  RegistryConflict: {
    code: 'ERR_REGISTRY_CONFLICT',
    class: 'environment',
    retryable: true,
    status: 409,
  },
  /** A file of the hub's data directory (identities, keys) is unreadable or inconsistent. */
  HubDataDir: { code: 'ERR_HUB_DATA_DIR', class: 'environment', retryable: false },
  /** A hub configuration (`hub.yaml`) is unreadable or not valid. */
  HubConfig: { code: 'ERR_HUB_CONFIG', class: 'input', retryable: false },
  /** Another running hub holds the data directory's lock. */
  HubLocked: { code: 'ERR_HUB_LOCKED', class: 'environment', retryable: false, status: 409 },
  /** A hub service process (`mosaic serve`) started by `mosaic dev --cluster` exited or did not become ready. */
  HubServiceStart: { code: 'ERR_HUB_SERVICE_START', class: 'environment', retryable: false },
  /** The audit log is not intact: an entry was removed, altered, reordered or truncated, a checkpoint does not verify, or a stored report or alert has no audit entry. */
  AuditInvalid: { code: 'ERR_AUDIT_INVALID', class: 'input', retryable: false },
  /** An inclusion proof (or its signed checkpoint) does not verify. */
  ProofInvalid: { code: 'ERR_PROOF_INVALID', class: 'input', retryable: false },
  /** A value is not a usable selector of its kind (not a phone number, IBAN, document number…). */
  SelectorInvalid: { code: 'ERR_SELECTOR_INVALID', class: 'input', retryable: false },
  /** An OPRF element or batch is malformed: not a canonical non-identity ristretto255 encoding, or an empty or oversized batch. */
  OprfElement: { code: 'ERR_OPRF_ELEMENT', class: 'input', retryable: false, status: 400 },
  /** The key service's OPRF evaluation does not verify against its public key (DLEQ proof or evaluated elements). */
  OprfProof: { code: 'ERR_OPRF_PROOF', class: 'environment', retryable: false, status: 502 },
  /** An agency's selector evaluations would exceed its quota for the day. */
  QuotaExceeded: { code: 'ERR_QUOTA_EXCEEDED', class: 'input', retryable: false, status: 429 },
  /** A selector evaluation names a key epoch other than the key service's current one: fetch its public key again. */
  SelectorKeyEpoch: {
    code: 'ERR_SELECTOR_KEY_EPOCH',
    class: 'input',
    retryable: false,
    status: 409,
  },
  /** A STIX bundle or object is malformed: not a bundle, a bad id, spec_version or timestamp, or a property the mapping does not know. */
  StixInvalid: { code: 'ERR_STIX_INVALID', class: 'input', retryable: false, status: 400 },
  /** A well-formed STIX object cannot be mapped to or from a Mosaic report (unknown type, missing object or extension, inconsistent properties). */
  StixUnmappable: { code: 'ERR_STIX_UNMAPPABLE', class: 'input', retryable: false },
  /** A STIX marking (TLP or handling restriction) cannot be mapped, so importing would drop a restriction. */
  StixHandling: { code: 'ERR_STIX_HANDLING', class: 'input', retryable: false },
  /** A supersede or retraction cannot be written as a new version of the earlier report's STIX object. */
  StixLineage: { code: 'ERR_STIX_LINEAGE', class: 'input', retryable: false },
  /** The originator JWS carried as provenance is malformed or signs another report. */
  StixProvenance: { code: 'ERR_STIX_PROVENANCE', class: 'input', retryable: false },
  /** `mosaic import stix` met a report issued by another agency than the importing one: re-signing it would re-release it under the importer's rules. */
  StixIssuer: { code: 'ERR_STIX_ISSUER', class: 'input', retryable: false, status: 403 },
  /** A report's handling cannot be written into a MISP event, so a MISP feed would drop a restriction. */
  MispUnmappable: { code: 'ERR_MISP_UNMAPPABLE', class: 'input', retryable: false },
  /** No gateway token with that id belongs to that agency (`mosaic agency token revoke`). */
  TokenUnknown: { code: 'ERR_TOKEN_UNKNOWN', class: 'input', retryable: false, status: 404 },
  /** The HTTP gateway could not authenticate the request: no credential, or one that is unknown, revoked, expired or does not match. */
  Unauthenticated: {
    code: 'ERR_UNAUTHENTICATED',
    class: 'input',
    retryable: false,
    status: 401,
  },
  /** The HTTP gateway does not take or give this media type (`Content-Type` or `Accept`). */
  /** The gateway does not take this method here: TAXII is read-only (import goes through `mosaic import stix`). */
  MethodNotAllowed: {
    code: 'ERR_METHOD_NOT_ALLOWED',
    class: 'input',
    retryable: false,
    status: 405,
  },
  MediaType: { code: 'ERR_MEDIA_TYPE', class: 'input', retryable: false, status: 415 },
  /** The HTTP gateway has no such resource for the authenticated agency. */
  NotFound: { code: 'ERR_NOT_FOUND', class: 'input', retryable: false, status: 404 },
  /** A paging cursor or query parameter of the HTTP gateway is malformed. */
  QueryInvalid: { code: 'ERR_QUERY_INVALID', class: 'input', retryable: false, status: 400 },
  /** The agency sent more HTTP requests than its rate allows; retry after `Retry-After`. */
  RateLimited: { code: 'ERR_RATE_LIMITED', class: 'environment', retryable: true, status: 429 },
} as const satisfies Record<string, ErrorSpec>;

type Catalogue = typeof errorCatalogue;

/** Every code by name: `ErrorCode.Schema` is `'ERR_SCHEMA'`. */
export const ErrorCode = Object.fromEntries(
  Object.entries(errorCatalogue).map(([name, spec]) => [name, spec.code]),
) as { readonly [Name in keyof Catalogue]: Catalogue[Name]['code'] };

export type ErrorCode = Catalogue[keyof Catalogue]['code'];
