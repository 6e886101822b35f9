import { describe, expect, it } from 'vitest';
import { packagesToProvide, topLevelModules } from '../src/index.ts';

describe('topLevelModules', () => {
  it('names packages, modules and extension modules, not metadata', () => {
    expect(
      topLevelModules([
        'jwcrypto',
        'jwcrypto-1.1.egg-info',
        'Deprecated-1.2.13.dist-info',
        'typing_extensions.py',
        '_cffi_backend.cpython-311-x86_64-linux-gnu.so',
        '_rust.abi3.so',
        'distutils-precedence.pth',
        '__pycache__',
        'wrapt',
        'wrapt',
      ]),
    ).toEqual(['_cffi_backend', '_rust', 'jwcrypto', 'typing_extensions', 'wrapt']);
  });
});

describe('packagesToProvide', () => {
  const apt = [
    { name: 'python3-wrapt', modules: ['wrapt'] },
    { name: 'python3-deprecated', modules: ['deprecated'] },
    { name: 'python3-jwcrypto', modules: ['jwcrypto'] },
  ];

  it('provides every package with a module the interpreter cannot import', () => {
    expect(packagesToProvide(apt, new Set())).toEqual({
      provide: ['python3-wrapt', 'python3-deprecated', 'python3-jwcrypto'],
      unprovidable: [],
    });
  });

  it('leaves out packages whose modules the interpreter imports already (e.g. installed by pip)', () => {
    expect(packagesToProvide(apt, new Set(['wrapt', 'deprecated']))).toEqual({
      provide: ['python3-jwcrypto'],
      unprovidable: [],
    });
  });

  it('provides a package when only some of its modules import', () => {
    expect(
      packagesToProvide(
        [{ name: 'python3-cffi-backend', modules: ['_cffi_backend', 'cffi_extra'] }],
        new Set(['_cffi_backend']),
      ).provide,
    ).toEqual(['python3-cffi-backend']);
  });

  it('sets apart a package with no Python module: it cannot go on sys.path', () => {
    expect(
      packagesToProvide([...apt, { name: 'libssl3', modules: [] }], new Set(['wrapt'])),
    ).toEqual({ provide: ['python3-deprecated', 'python3-jwcrypto'], unprovidable: ['libssl3'] });
  });
});
