import { describe, expect, it } from 'vitest';
import { compareVersions, debianUpstreamVersion, parseNatsVersion } from '../src/index.ts';

describe('parseNatsVersion', () => {
  it.each([
    ['nats-server: v2.15.1', '2.15.1'],
    ['nats-server: v2.9.11\n', '2.9.11'],
    ['nats-server: v2.11.0-RC.2', '2.11.0-RC.2'],
    ['v2.10.27', '2.10.27'],
    ['2.10', '2.10.0'],
    ['  2.10.4  ', '2.10.4'],
  ])('reads %j as %s', (text, version) => {
    expect(parseNatsVersion(text)).toBe(version);
  });

  it.each(['', 'nats-server', 'nats-server: vX', 'version 2'])('finds none in %j', (text) => {
    expect(parseNatsVersion(text)).toBeUndefined();
  });
});

describe('compareVersions', () => {
  it.each([
    ['2.10.0', '2.10.0', 0],
    ['2.10', '2.10.0', 0],
    ['v2.10.0', '2.10.0', 0],
    ['2.9.11', '2.10.0', -1],
    ['2.10.0', '2.9.11', 1],
    ['2.9.10', '2.9.9', 1],
    ['2.15.1', '2.10.27', 1],
    ['3.0.0', '2.99.99', 1],
    ['1.99.99', '2.0.0', -1],
    ['2.10.1', '2.10.0', 1],
    ['2.11.0-RC.1', '2.11.0', -1],
    ['2.11.0', '2.11.0-RC.1', 1],
    ['2.11.0-RC.1', '2.11.0-RC.2', -1],
    ['2.11.0-RC.10', '2.11.0-RC.2', 1],
    ['2.11.0-beta', '2.11.0-RC', 1],
    ['2.11.0-1', '2.11.0-alpha', -1],
    ['2.11.0-alpha', '2.11.0-alpha.1', -1],
    ['2.11.0-RC.1', '2.10.9', 1],
  ] as const)('compares %s with %s as %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it('is a total order over a shuffled list', () => {
    const sorted = [
      '1.4.1',
      '2.9.10',
      '2.9.11',
      '2.10.0-RC.1',
      '2.10.0',
      '2.10.27',
      '2.11.0',
      '2.15.1',
    ];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareVersions)).toEqual(sorted);
  });

  it.each(['', 'x', '2', '2.x.1', '2.10.0.1'])('refuses %j with ERR_USAGE', (bad) => {
    expect(() => compareVersions(bad, '2.10.0')).toThrow(
      expect.objectContaining({ code: 'ERR_USAGE' }),
    );
  });
});

describe('debianUpstreamVersion', () => {
  it.each([
    ['2.15.1-1', '2.15.1'],
    ['2.9.10-1+b3', '2.9.10'],
    ['1:2.10.27-1+b2', '2.10.27'],
    ['2.11.0~rc1-1', '2.11.0-rc1'],
    ['2.10.27+ds-2', '2.10.27'],
    ['2.10.27', '2.10.27'],
  ])('reads %s as %s', (debian, upstream) => {
    expect(debianUpstreamVersion(debian)).toBe(upstream);
  });

  it.each(['(none)', '', 'abc-1'])('finds none in %j', (text) => {
    expect(debianUpstreamVersion(text)).toBeUndefined();
  });
});
