/**
 * The V8 settings of every hub process: the `mosaic` command's shebang passes them to node
 * (so `npm start`, `npx mosaic serve` and the systemd units get them), `mosaic dev --cluster`
 * passes them to each `mosaic serve` it starts, and the bench's hub child runs with them.
 *
 * - `--max-semi-space-size=8`: a young generation of at most 2 × 8 MB instead of 2 × 16 MB.
 * - `--heap-growing-percent=50`: after each full collection, V8 lets the old generation grow
 *   to 1.5× what survived before it collects again, instead of up to several times that for
 *   a process that allocates fast.
 *
 * Neither is a limit: a heap whose live data grows still grows (unlike
 * `--max-old-space-size`, which stops the process). Under the bench's load they cut the
 * one-process hub's peak RSS from ~310 MB to ~200 MB at a CPU cost the runs could not tell
 * from their noise (docs/performance.md).
 */
export const HUB_NODE_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=50'] as const;
