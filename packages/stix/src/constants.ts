import { Tlp } from '@mosaic/contract';

/** The OASIS TLP 2.0 extension the official TLP 2.0 marking definitions use. */
export const TLP_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** The Mosaic extension definition: new SCO types and property extensions (one definition). */
export const MOSAIC_EXTENSION_ID = 'extension-definition--2b02acd7-ca93-465f-938d-7a28d19aa443';

/** The identity that publishes the Mosaic extension definition. */
export const MOSAIC_IDENTITY_ID = 'identity--58ef39f9-7056-4949-ae6d-46e99fbb7cd2';

/** Address (a name, not necessarily retrievable) of the extension's JSON Schema. */
export const MOSAIC_EXTENSION_SCHEMA_URL =
  'https://mosaic.example/schemas/stix-extension-mosaic-1.0.schema.json';

/** `created`/`modified` of the fixed objects Mosaic publishes (extension, identities). */
export const FIXED_OBJECTS_TIME = '2026-01-01T00:00:00.000Z';

const TLP_CREATED = '2022-10-01T00:00:00.000Z';

/** The official TLP 2.0 marking-definition ids, by Mosaic TLP label. */
export const TLP_MARKING_IDS: Readonly<Record<Tlp, string>> = {
  [Tlp.Clear]: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  [Tlp.Green]: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  [Tlp.Amber]: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  [Tlp.AmberStrict]: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  [Tlp.Red]: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

/** The official TLP 2.0 marking-definition object of a TLP label, exactly as OASIS publishes it. */
export function tlpMarkingDefinition(tlp: Tlp) {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP_MARKING_IDS[tlp],
    created: TLP_CREATED,
    name: `TLP:${tlp}`,
    extensions: {
      [TLP_EXTENSION_ID]: {
        extension_type: 'property-extension',
        tlp_2_0: tlp.toLowerCase(),
      },
    },
  } as const;
}

/** The Mosaic TLP label of an official TLP 2.0 marking-definition id, if it is one. */
export function tlpOfMarking(id: string): Tlp | undefined {
  for (const [tlp, markingId] of Object.entries(TLP_MARKING_IDS))
    if (markingId === id) return tlp as Tlp;
  return undefined;
}

/**
 * Admiralty information credibility (1–6) → STIX confidence, per STIX 2.1 Appendix A
 * ("Admiralty Credibility"): 6, truth cannot be judged, has no confidence value.
 */
export const CREDIBILITY_TO_CONFIDENCE: Readonly<Record<number, number | undefined>> = {
  1: 90,
  2: 70,
  3: 50,
  4: 30,
  5: 10,
  6: undefined,
};

/** STIX confidence → Admiralty credibility by the appendix's ranges; absent → 6. */
export function credibilityOfConfidence(confidence: number | undefined): number {
  if (confidence === undefined) return 6;
  if (confidence >= 80) return 1;
  if (confidence >= 60) return 2;
  if (confidence >= 40) return 3;
  if (confidence >= 20) return 4;
  return 5;
}
