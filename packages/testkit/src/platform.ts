/**
 * True when this node runs on Linux with glibc (not musl): where the hub gives freed memory
 * back with glibc's `malloc_trim`, so its tests expect it to.
 */
export const onGlibc =
  process.platform === 'linux' &&
  typeof (process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } }).header
    ?.glibcVersionRuntime === 'string';
