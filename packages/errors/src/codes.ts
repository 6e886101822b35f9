/**
 * The stable error codes. A code never changes meaning once released and is never
 * reused; every code is documented in docs/errors.md (a test enforces both).
 */
export const ErrorCode = {
  /** Input is larger than the configured byte limit. */
  PayloadTooLarge: 'ERR_PAYLOAD_TOO_LARGE',
  /** Input is not well-formed JSON (or not UTF-8). */
  JsonSyntax: 'ERR_JSON_SYNTAX',
  /** JSON nests deeper than the configured limit. */
  JsonDepth: 'ERR_JSON_DEPTH',
  /** A JSON object repeats a key. */
  JsonDuplicateKey: 'ERR_JSON_DUPLICATE_KEY',
  /** A JSON number's text is not exactly the decimal its double prints as (rounded, or underflowed to 0). */
  JsonNumber: 'ERR_JSON_NUMBER',
  /** A JSON object uses `__proto__`, `constructor` or `prototype` as a key. */
  JsonForbiddenKey: 'ERR_JSON_FORBIDDEN_KEY',
  /** An identifier holds control, bidi or other invisible formatting characters. */
  UnsafeCharacters: 'ERR_UNSAFE_CHARACTERS',
  /** A value used as a NATS subject token is empty or holds `.`, `*`, `>` or white space. */
  SubjectToken: 'ERR_SUBJECT_TOKEN',
  /** The report does not match the strict schema. */
  Schema: 'ERR_SCHEMA',
  /** The JWS is not a well-formed compact serialisation. */
  JwsMalformed: 'ERR_JWS_MALFORMED',
  /** The JWS algorithm is not on the allow-list (e.g. `none`, HMAC). */
  JwsAlgorithm: 'ERR_JWS_ALG',
  /** The JWS protected header carries a forbidden or unsupported parameter. */
  JwsHeader: 'ERR_JWS_HEADER',
  /** The JWS marks as critical an extension Mosaic does not understand. */
  JwsCrit: 'ERR_JWS_CRIT',
  /** The JWS `typ` is not the Mosaic report media type. */
  JwsType: 'ERR_JWS_TYP',
  /** The `kid` is malformed or does not resolve to a registered key. */
  KeyUnknown: 'ERR_KEY_UNKNOWN',
  /** The key was not valid at the time the report was issued. */
  KeyExpired: 'ERR_KEY_NOT_VALID',
  /** The key has been revoked. */
  KeyRevoked: 'ERR_KEY_REVOKED',
  /** The signature does not verify with the resolved key. */
  SignatureInvalid: 'ERR_SIG_INVALID',
  /** The signed report names an issuer other than the agency that owns the key. */
  IssuerMismatch: 'ERR_ISSUER_MISMATCH',
  /** An alert's routing metadata (recipient, issuer, report id, kind, reason) does not match the alert or the verified report inside it. */
  AlertInvalid: 'ERR_ALERT_INVALID',
  /** A key file is unreadable or not a usable Ed25519 JWK. */
  KeyFile: 'ERR_KEY_FILE',
  /** A signed checkpoint (C2SP signed note) is malformed or has no valid signature by a known hub key. */
  Checkpoint: 'ERR_CHECKPOINT',
  /** Bytes or a value are not a canonical audit entry (`@mosaic/audit-log` entry schema). */
  AuditEntry: 'ERR_AUDIT_ENTRY',
  /** A Merkle proof was asked for outside the log, or a proof input is malformed. */
  AuditProof: 'ERR_AUDIT_PROOF',
  /** An audit export file (NDJSON) is unreadable or holds a malformed line. */
  AuditExport: 'ERR_AUDIT_EXPORT',
  /** A file or stream could not be read or written. */
  Io: 'ERR_IO',
  /** A command was called with missing or invalid arguments. */
  Usage: 'ERR_USAGE',
  /** The reader of a command's standard output went away (EPIPE, e.g. `| head -1`): the command stopped writing. */
  OutputClosed: 'ERR_OUTPUT_CLOSED',
  /** No usable nats-server (>= 2.10) could be found or fetched. */
  NatsServerUnavailable: 'ERR_NATS_SERVER_UNAVAILABLE',
  /** A nats-server process did not start or did not become ready in time. */
  NatsServerStart: 'ERR_NATS_SERVER_START',
  /** A Debian Python package the tests need is neither importable by the system python3 nor fetchable. */
  PythonPackageUnavailable: 'ERR_PYTHON_PACKAGE_UNAVAILABLE',
  /** A tool from a Debian package (faketime, ip, promtool, …) is neither given, on PATH, cached nor fetchable. */
  DebianToolUnavailable: 'ERR_DEBIAN_TOOL_UNAVAILABLE',
  /** The requested operation is not supported by the current test-server mode. */
  TestkitMode: 'ERR_TESTKIT_MODE',
  /** The federation file is unreadable as YAML, does not match its schema, or is inconsistent. */
  Federation: 'ERR_FEDERATION',
  /** The JetStream KV registry is missing, unreadable or holds an invalid entry. */
  Registry: 'ERR_REGISTRY',
  /** A NATS context file (server URL and credentials) is unreadable or invalid. */
  ContextFile: 'ERR_CONTEXT_FILE',
  /** The report is signed by an agency other than the one whose connection submitted it. */
  SignerNotConnected: 'ERR_SIGNER_NOT_CONNECTED',
  /** The report's origin is not a jurisdiction its agency may report for. */
  JurisdictionNotAllowed: 'ERR_JURISDICTION_NOT_ALLOWED',
  /** A jurisdiction is neither an ISO 3166-1 alpha-2 code nor a group of the federation. */
  JurisdictionUnknown: 'ERR_JURISDICTION_UNKNOWN',
  /** An agency named in the report is not an agency of the federation. */
  AgencyUnknown: 'ERR_AGENCY_UNKNOWN',
  /** The report's `issuedAt` lies further in the future than the allowed clock skew. */
  IssuedInFuture: 'ERR_ISSUED_IN_FUTURE',
  /** The report's `issuedAt` is older than the hub's maximum report age. */
  IssuedTooOld: 'ERR_ISSUED_TOO_OLD',
  /** The report's validity window has already ended, or ends before the report was issued. */
  ValidityWindow: 'ERR_VALIDITY_WINDOW',
  /** A retraction or supersede names a report of the same issuer that the hub does not hold. */
  LineageUnknown: 'ERR_LINEAGE_UNKNOWN',
  /** A report with the same issuer and id is stored with different signed bytes. */
  ReportConflict: 'ERR_REPORT_CONFLICT',
  /** A submission has no reply subject, or one outside the submitting agency's inbox. */
  ReplySubject: 'ERR_REPLY_SUBJECT',
  /** A message on an agency's ingest subject is not attested by the broker as sent from that agency's account. */
  SenderNotAttested: 'ERR_SENDER_NOT_ATTESTED',
  /** The hub or its storage is unavailable right now; retry the same bytes later. */
  Unavailable: 'ERR_UNAVAILABLE',
  /** An unexpected failure inside Mosaic (a bug); the logs hold the details. */
  Internal: 'ERR_INTERNAL',
  /** The broker refused an operation to the connected identity (e.g. an agency context used for an operator command). */
  PermissionDenied: 'ERR_PERMISSION_DENIED',
  /** A registry change lost the race with concurrent changes too many times. */
  RegistryConflict: 'ERR_REGISTRY_CONFLICT',
  /** A file of the hub's data directory (identities, keys) is unreadable or inconsistent. */
  HubDataDir: 'ERR_HUB_DATA_DIR',
  /** Another running hub holds the data directory's lock. */
  HubLocked: 'ERR_HUB_LOCKED',
  /** The audit log is not intact: an entry was removed, altered, reordered or truncated, a checkpoint does not verify, or a stored report or alert has no audit entry. */
  AuditInvalid: 'ERR_AUDIT_INVALID',
  /** An inclusion proof (or its signed checkpoint) does not verify. */
  ProofInvalid: 'ERR_PROOF_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
