/**
 * The V8 settings of every `mosaic` process: the command's shebang passes them to node (so
 * `npm start`, `npx mosaic …` and the systemd units get them), and the hub processes other
 * code starts with `process.execPath` get them explicitly: `mosaic dev --cluster`'s
 * `mosaic serve` processes, the fault suite's and the bench's hubs.
 *
 * `--heap-growing-percent=50`: after each full collection, V8 lets the old generation grow
 * to 1.5× what survived before it collects again, instead of up to several times that for a
 * process that allocates fast, as the hub does under load. It is not a limit: a heap whose
 * live data grows still grows (unlike `--max-old-space-size`, which stops the process).
 * Under the bench's load it cuts the one-process hub's peak RSS from ~310 MB to ~230 MB at
 * no CPU cost the runs could see; a smaller young generation as well
 * (`--max-semi-space-size=8`) reached ~200 MB but cost the hub 12–23 % more CPU per report
 * (docs/performance.md).
 */
export const HUB_NODE_FLAGS = ['--heap-growing-percent=50'] as const;
