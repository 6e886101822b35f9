/** The JWS `typ` of every Mosaic report: verifiers refuse any other, so a JWS signed for another purpose cannot pass as a report. */
export const REPORT_MEDIA_TYPE = 'application/mosaic-report+jws';

/** The algorithms Mosaic can verify: Ed25519 always, ECDSA P-256 only when a verifier opts in. */
export type SignatureAlgorithm = 'EdDSA' | 'ES256';

/** The protected header of a Mosaic report JWS; it holds exactly these three members. */
// A type alias, not an interface, so it is assignable to jose's index-signature header type.
export type ProtectedHeader = {
  alg: SignatureAlgorithm;
  kid: string;
  typ: typeof REPORT_MEDIA_TYPE;
};
