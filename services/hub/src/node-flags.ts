/**
 * The V8 settings of every `mosaic` process: the command's shebang passes them to node, so
 * every command run as a program (`npx mosaic …`) gets them.
 *
 * `--heap-growing-percent=50`: after each full collection, V8 lets the old generation grow
 * to 1.5× what survived before it collects again, instead of up to several times that for a
 * process that allocates fast, as the hub does under load. It is not a limit: a heap whose
 * live data grows still grows (unlike `--max-old-space-size`, which stops the process).
 * Under the bench's load it cut the one-process hub's peak RSS from ~310 MB to ~230 MB (then
 * run through tsx) at no CPU cost the runs could see (docs/performance.md).
 */
export const MOSAIC_NODE_FLAGS = ['--heap-growing-percent=50'] as const;

/**
 * The V8 settings of a hub process (`mosaic dev`, `mosaic serve`): those of every `mosaic`
 * process and a young generation of two 4 MB semi-spaces instead of up to two 16 MB ones
 * (`--max-semi-space-size=4`). `npm start` and the systemd units start node with them, and
 * so does code that starts a hub with `process.execPath` (`mosaic dev --cluster`, the fault
 * suite's cluster, the bench's hubs). Under the bench's load it cut the one-process hub's
 * peak RSS from 163–175 MB to 138–144 MB and its RSS once ready from 120–134 MB to
 * 95–98 MB, for 5–20 % more hub CPU per report (and, with the default fsync, a lower p99
 * publish→alert). A hub started without these (`npx mosaic dev`) runs with V8's default
 * young generation. Not for every command: `mosaic replay --verify`, whose main thread
 * holds its batches in flight, ran ~25 % slower with it (docs/performance.md).
 */
export const HUB_NODE_FLAGS = [...MOSAIC_NODE_FLAGS, '--max-semi-space-size=4'] as const;
