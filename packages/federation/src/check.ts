import { isIsoCountry } from '@mosaic/contract';
import { formatPath, type FederationProblem } from './problems.ts';
import { agreementRecipients, type Federation } from './schema.ts';

function duplicates<T>(
  items: readonly T[],
  key: (item: T) => string,
  path: (index: number) => PropertyKey[],
  what: string,
  problems: FederationProblem[],
): void {
  const first = new Map<string, number>();
  items.forEach((item, index) => {
    const k = key(item);
    const earlier = first.get(k);
    if (earlier === undefined) first.set(k, index);
    else
      problems.push({
        path: formatPath(path(index)),
        message: `${what} ${k} is already defined at ${formatPath(path(earlier))}`,
      });
  });
}

function instant(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Date.parse(value);
}

/**
 * The consistency checks a schema cannot express. Returns every problem found; an empty
 * list means the federation is consistent.
 */
export function checkFederation(federation: Federation): FederationProblem[] {
  const problems: FederationProblem[] = [];
  const groups = new Set(federation.groups.map((g) => g.id));
  const agencies = new Set(federation.agencies.map((a) => a.id));

  duplicates(
    federation.groups,
    (g) => g.id,
    (i) => ['groups', i, 'id'],
    'group',
    problems,
  );
  federation.groups.forEach((group, g) => {
    duplicates(
      group.members,
      (m) => m,
      (i) => ['groups', g, 'members', i],
      'member',
      problems,
    );
  });

  const jurisdiction = (value: string, path: PropertyKey[]): void => {
    if (!isIsoCountry(value) && !groups.has(value))
      problems.push({
        path: formatPath(path),
        message: `${value} is neither an ISO 3166-1 alpha-2 code nor a group defined in groups`,
      });
  };

  duplicates(
    federation.agencies,
    (a) => a.id,
    (i) => ['agencies', i, 'id'],
    'agency',
    problems,
  );
  const publicKeys = new Map<string, string>();
  federation.agencies.forEach((agency, a) => {
    const at = (...rest: PropertyKey[]): PropertyKey[] => ['agencies', a, ...rest];
    agency.jurisdictions.forEach((j, i) => {
      jurisdiction(j, at('jurisdictions', i));
    });
    duplicates(
      agency.jurisdictions,
      (j) => j,
      (i) => at('jurisdictions', i),
      'jurisdiction',
      problems,
    );

    duplicates(
      agency.keys,
      (k) => k.keyId,
      (i) => at('keys', i, 'keyId'),
      'key id',
      problems,
    );
    agency.keys.forEach((key, k) => {
      const kid = `${agency.id}/${key.keyId}`;
      if (key.publicJwk.kid !== undefined && key.publicJwk.kid !== kid)
        problems.push({
          path: formatPath(at('keys', k, 'publicJwk', 'kid')),
          message: `is ${key.publicJwk.kid}, but this key's kid is ${kid}`,
        });
      const notBefore = instant(key.notBefore);
      const notAfter = instant(key.notAfter);
      if (notBefore !== undefined && notAfter !== undefined && !(notAfter > notBefore))
        problems.push({
          path: formatPath(at('keys', k, 'notAfter')),
          message: `must be after notBefore (${String(key.notBefore)})`,
        });
      const owner = publicKeys.get(key.publicJwk.x);
      if (owner !== undefined)
        problems.push({
          path: formatPath(at('keys', k, 'publicJwk', 'x')),
          message: `is the same public key as ${owner}; every key belongs to exactly one kid`,
        });
      else publicKeys.set(key.publicJwk.x, kid);
    });

    agency.subscriptions.forEach((rule, r) => {
      rule.jurisdictions.forEach((j, i) => {
        jurisdiction(j, at('subscriptions', r, 'jurisdictions', i));
      });
      for (const field of ['jurisdictions', 'categories', 'indicatorTypes'] as const)
        duplicates(
          rule[field] ?? [],
          (v) => v,
          (i) => at('subscriptions', r, field, i),
          field === 'jurisdictions'
            ? 'jurisdiction'
            : field === 'categories'
              ? 'category'
              : 'indicator type',
          problems,
        );
    });
  });

  federation.agencies.forEach((agency, a) => {
    (agency.hitPolicy?.nameTo ?? []).forEach((named, j) => {
      const path = formatPath(['agencies', a, 'hitPolicy', 'nameTo', j]);
      if (!agencies.has(named)) problems.push({ path, message: `agency ${named} is not defined` });
      else if (named === agency.id)
        problems.push({ path, message: 'an agency is never told of its own holdings' });
    });
  });

  federation.agreements.forEach((agreement, i) => {
    const at = (...rest: PropertyKey[]): PropertyKey[] => ['agreements', i, ...rest];
    if (!agencies.has(agreement.from))
      problems.push({
        path: formatPath(at('from')),
        message: `agency ${agreement.from} is not defined`,
      });
    const to = agreementRecipients(agreement);
    const toPath = (j: number): PropertyKey[] =>
      typeof agreement.to === 'string' ? at('to') : at('to', j);
    to.forEach((recipient, j) => {
      if (!agencies.has(recipient))
        problems.push({
          path: formatPath(toPath(j)),
          message: `agency ${recipient} is not defined`,
        });
      else if (recipient === agreement.from)
        problems.push({
          path: formatPath(toPath(j)),
          message: 'an agency needs no agreement with itself',
        });
    });
    duplicates(to, (r) => r, toPath, 'recipient', problems);
    duplicates(
      agreement.categories ?? [],
      (c) => c,
      (j) => at('categories', j),
      'category',
      problems,
    );
  });
  return problems;
}
