import { classAreaLegendHtml, classLegendHtml, escapeHtml, LegendCss } from "../report/html.parts.ts";
import { TileStateColours, type ViewerConfig } from "./page/viewer.config.ts";
import type { RunEntry } from "./run.catalogue.ts";

const Css = `body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}td.n{text-align:right}.note{color:#555}${LegendCss}`;

function page(title: string, body: string, head = ""): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${Css}</style>${head}</head>
<body>${body}</body></html>
`;
}

const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? "" : `${(v * 100).toFixed(1)} %`;
const runLink = (runId: string) => `/runs/${encodeURIComponent(runId)}`;

function progress(run: RunEntry): string {
  const { done, failed, running, total } = run.progress;
  return `${done} done, ${failed} failed${running ? `, ${running} running` : ""} of ${total}`;
}

/** The runs in the outputs bucket, newest first, with Temporal's live state where it answers. */
export function runsPage(runs: RunEntry[], temporal: { address: string; reachable: boolean }): string {
  const rows = [...runs]
    .reverse()
    .map(
      (
        r,
      ) => `<tr data-run="${escapeHtml(r.runId)}"><td><a href="${runLink(r.runId)}">${escapeHtml(r.runId)}</a></td>
<td>${escapeHtml(r.region)}</td><td>${r.year}</td><td>${escapeHtml(r.model)}</td>
<td>${escapeHtml(r.workflowStatus.toLowerCase())}</td><td class="progress">${progress(r)}</td>
<td class="n aacc">${pct(r.accuracy?.aAcc)}</td><td class="n coverage">${pct(r.accuracy?.coverage)}</td>
<td>${r.hasReport ? `<a href="${runLink(r.runId)}/files/report.html">report.html</a>` : ""}</td></tr>`,
    )
    .join("\n");
  const live = temporal.reachable
    ? `Live state from Temporal at ${escapeHtml(temporal.address)}.`
    : `Temporal at ${escapeHtml(temporal.address)} does not answer: states are what each run's files say.`;
  // Reload while something runs, so progress moves without a click.
  const refresh = runs.some((r) => r.workflowStatus === "RUNNING")
    ? `<meta http-equiv="refresh" content="10">`
    : "";
  return page(
    "crop-map runs",
    `<h1>crop-map runs</h1><p class="note" id="temporal">${live}</p>
${
  runs.length
    ? `<table id="runs"><thead><tr><th>Run</th><th>Region</th><th>Year</th><th>Model</th><th>Workflow</th>
<th>Tiles</th><th>aAcc</th><th>Coverage</th><th>Report</th></tr></thead><tbody>
${rows}</tbody></table>`
    : `<p id="runs">No runs in the outputs location yet.</p>`
}`,
    refresh,
  );
}

/** A run's map: the page script draws it from the config embedded here. */
export function mapPage(run: RunEntry, config: ViewerConfig): string {
  const tileRows = run.tiles
    .map(
      (t) =>
        `<li><b style="color:${TileStateColours[t.state] ?? "#6e7781"}">${escapeHtml(t.tileId)}</b> ${escapeHtml(t.state)}${
          t.reason ? `: ${escapeHtml(t.reason)}` : ""
        }</li>`,
    )
    .join("");
  const toggle = (id: string, label: string) =>
    `<label><input type="checkbox" id="layer-${id}"> ${escapeHtml(label)}</label><br>`;
  const body = `<div class="side"><p><a href="/">all runs</a></p>
<h1>${escapeHtml(run.region)} ${run.year}</h1>
<p class="note">Run <code>${escapeHtml(run.runId)}</code>, model ${escapeHtml(run.model)}, workflow ${escapeHtml(
    run.workflowStatus.toLowerCase(),
  )}; tiles: ${progress(run)}${run.accuracy ? `; aAcc ${pct(run.accuracy.aAcc)}, coverage ${pct(run.accuracy.coverage)}` : ""}.
${run.hasReport ? `<a href="/runs/${encodeURIComponent(run.runId)}/files/report.html">report</a>` : ""}</p>
${config.map ? "" : `<p class="note" id="no-map">No map yet: the run writes it at its end.</p>`}
<h2>Layers</h2>${toggle("map", config.map?.overview ? "Map (regional overview; a click reads the full-resolution part maps)" : "Map (map.tif)")}${toggle("labels", "CDL labels")}${toggle(
    "disagreement",
    "Disagreement with the CDL (red; grey agrees)",
  )}${toggle("region", `Region outline (${run.region})`)}${toggle("tiles", "Tile outlines (cut to the map)")}
<h2>Pixel</h2><p id="pixel" class="note">Click the map.</p>
<h2>Classes</h2><div id="legend">${
    config.areas ? classAreaLegendHtml(config.areas.classes, config.areas.pixelSize) : classLegendHtml()
  }</div>
<h2>Tiles</h2><ul id="tiles">${tileRows}</ul></div><div id="map"></div>
<script type="application/json" id="viewer-config">${JSON.stringify(config).replaceAll("<", "\\u003c")}</script>
<script type="module" src="/assets/viewer.js"></script>`;
  const head = `<link rel="stylesheet" href="/assets/viewer.css"><style>
body{margin:0;display:flex;height:100vh}.side{width:22rem;padding:0 1rem;overflow:auto}
#map{flex:1;background:#fff}h1{font-size:1.3rem}h2{font-size:1rem;margin:1rem 0 .3rem}ul{padding-left:1.2rem}
.areas{font-size:.8rem;margin:.3rem 0}.areas td,.areas th{padding:.1rem .3rem}.areas .key{margin:0;white-space:nowrap}
</style>`;
  return page(`${run.region} ${run.year}: ${run.runId}`, body, head);
}

/** The answer for a run id with no folder in the outputs location. */
export function notFoundPage(runId: string): string {
  return page(
    "no such run",
    `<h1>No such run</h1><p id="not-found">There is no run '<code>${escapeHtml(runId)}</code>' in the outputs location.</p>
<p><a href="/">all runs</a></p>`,
  );
}
