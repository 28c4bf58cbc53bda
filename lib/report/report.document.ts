import type { ClassArea } from "../accuracy/class.areas.ts";
import type { Metrics } from "../accuracy/confusion.ts";
import { SeedOverall, SeedPerClass } from "../accuracy/seed.metrics.ts";
import { CropClasses } from "../cdl/classes.ts";
import type { FamilyRun } from "./family.comparison.ts";
import { classAreaLegendHtml, escapeHtml, formatHa, LegendCss } from "./html.parts.ts";

export interface TileRow {
  tileId: string;
  aAcc: number;
  ownedPixels: number;
  /** Share of the tile's staged pixels the model mapped (valid in all three dates). */
  mappedShare: number;
  granules: string[];
  /** Granules left out for a missing or malformed catalogue record (manifests before this: 0). */
  skippedGranules: number;
  seconds: number;
}

export interface ReportData {
  runId: string;
  region: string;
  year: number;
  model: string;
  labels: string;
  metrics: Metrics;
  /** Each class's mapped area beside the CDL's over the same pixels (the legend), and the pixels' size in metres. */
  areas: ClassArea[];
  pixelSize: number;
  labelledPixels: number;
  mappedPixels: number;
  ignoredCdlPixels: number;
  tiles: TileRow[];
  /** Per state, where the region spans several (empty otherwise). */
  states: { state: string; aAcc: number; coverage: number; labelledPixels: number }[];
  outputs: Record<string, string>;
  buildSeconds: number;
  /** This run and runs of the other model family on the same region and year (none: no section). */
  families?: FamilyRun[];
}

const pct = (v: number) => (Number.isNaN(v) ? "n/a" : `${(v * 100).toFixed(2)}%`);
const num = (v: number) => (Number.isNaN(v) ? "n/a" : v.toFixed(4));

function classRows(data: ReportData): string[][] {
  return data.metrics.perClass.map((c) => {
    const name = CropClasses.find((k) => k.id === c.id)?.name ?? String(c.id);
    const seed = SeedPerClass[c.id];
    return [
      name,
      num(c.iou),
      pct(c.acc),
      String(c.pixels),
      seed ? num(seed.iou) : "",
      seed ? pct(seed.acc) : "",
    ];
  });
}

function tileRows(data: ReportData): string[][] {
  return data.tiles.map((t) => [
    t.tileId,
    pct(t.aAcc),
    String(t.ownedPixels),
    pct(t.mappedShare),
    t.granules.join(" "),
    String(t.skippedGranules),
    `${t.seconds.toFixed(1)} s`,
  ]);
}

const FamilyHeader = ["Model", "Family", "Run", "aAcc", "mIoU", "mAcc", "Coverage"];
const orNaN = (v: number | null) => v ?? Number.NaN;

function familyRows(runs: FamilyRun[]): string[][] {
  return runs.map((r) => [
    r.model,
    r.family,
    r.runId,
    pct(orNaN(r.aAcc)),
    num(orNaN(r.mIoU)),
    pct(orNaN(r.mAcc)),
    pct(orNaN(r.coverage)),
  ]);
}

/** Per-class IoU of each run, side by side. */
function familyClassRows(runs: FamilyRun[]): { header: string[]; rows: string[][] } {
  return {
    header: ["Class", ...runs.map((r) => `${r.model} IoU`)],
    rows: CropClasses.map((c) => [
      c.name,
      ...runs.map((r) => num(orNaN(r.perClass.find((p) => p.id === c.id)?.iou ?? null))),
    ]),
  };
}

const FamilyNote =
  "The same region and year mapped by the other model family (the latest run of each model under runs/).";

function familiesMarkdown(runs: FamilyRun[] | undefined): string {
  if (!runs || runs.length < 2) return "";
  const perClass = familyClassRows(runs);
  return `\n## Model families\n\n${FamilyNote}\n\n${markdownTable(FamilyHeader, familyRows(runs))}\n\n${markdownTable(perClass.header, perClass.rows)}\n`;
}

function familiesHtml(runs: FamilyRun[] | undefined): string {
  if (!runs || runs.length < 2) return "";
  const perClass = familyClassRows(runs);
  return `<h2>Model families</h2>\n<p>${escapeHtml(FamilyNote)}</p>\n${htmlTable(FamilyHeader, familyRows(runs))}\n${htmlTable(perClass.header, perClass.rows)}`;
}

function stateRows(data: ReportData): string[][] {
  return data.states.map((s) => [s.state, pct(s.aAcc), pct(s.coverage), String(s.labelledPixels)]);
}

const StateHeader = ["State", "aAcc", "Coverage", "Labelled pixels"];
const ClassHeader = ["Classes", "IoU", "Acc", "Pixels", "Seed IoU", "Seed Acc"];
const TileHeader = ["Tile", "aAcc", "Pixels (owned)", "Mapped share", "Granules", "Skipped records", "Time"];

function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** The report as Markdown, with the quicklooks as files beside it. */
export function reportMarkdown(data: ReportData): string {
  const m = data.metrics;
  return `# Crop map: ${data.region}, ${data.year}

Run \`${data.runId}\`, model \`${data.model}\`, labels ${data.labels}.

![map](map.png)

Where the map and the CDL disagree (red) and agree (grey):

![disagreement](disagreement.png)

## Area by class

Mapped beside the CDL over the pixels both cover (${data.pixelSize} m pixels, ${formatHa((data.pixelSize * data.pixelSize) / 10_000)} ha each).

${markdownTable(
  ["Class", "Mapped (ha)", "CDL (ha)"],
  data.areas.map((a) => [a.name, formatHa(a.mappedHa), formatHa(a.cdlHa)]),
)}

## Accuracy against the CDL

Over labelled pixels of the region that the run mapped (mmsegmentation definitions). Pixels the
run could not map (cloud, fill, no imagery) are coverage, not errors.

${markdownTable(["aAcc", "mIoU", "mAcc", "Coverage"], [[pct(m.aAcc), num(m.mIoU), pct(m.mAcc), pct(m.coverage)]])}

Seed model card (validation chips): aAcc ${pct(SeedOverall.aAcc)}, mIoU ${num(SeedOverall.mIoU)}, mAcc ${pct(SeedOverall.mAcc)}.

${markdownTable(ClassHeader, classRows(data))}

Labelled pixels ${data.labelledPixels}, mapped ${data.mappedPixels}; CDL pixels with codes outside the class table (ignored): ${data.ignoredCdlPixels}.
${data.states.length > 1 ? `\n## States\n\n${markdownTable(StateHeader, stateRows(data))}\n` : ""}${familiesMarkdown(data.families)}
## Tiles

${markdownTable(TileHeader, tileRows(data))}

## Files

${Object.entries(data.outputs)
  .map(([k, v]) => `- ${k}: ${v}`)
  .join("\n")}

Report built in ${data.buildSeconds.toFixed(1)} s.
`;
}

function htmlTable(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** The report as one HTML file that opens offline: images inline, no scripts, no links out. */
export function reportHtml(data: ReportData, images: { map: Buffer; disagreement: Buffer }): string {
  const m = data.metrics;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Crop map: ${escapeHtml(data.region)} ${data.year}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;background:#fafafa}.maps{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
${LegendCss}
</style></head><body>
<h1>Crop map: ${escapeHtml(data.region)}, ${data.year}</h1>
<p>Run <code>${escapeHtml(data.runId)}</code>, model <code>${escapeHtml(data.model)}</code>, labels ${escapeHtml(data.labels)}.</p>
<div class="maps"><figure><img alt="map" src="data:image/png;base64,${images.map.toString("base64")}"><figcaption>Map</figcaption></figure>
<figure><img alt="disagreement" src="data:image/png;base64,${images.disagreement.toString("base64")}"><figcaption>Disagreement with the CDL (red), agreement (grey)</figcaption></figure></div>
<h2>Area by class</h2>
${classAreaLegendHtml(data.areas, data.pixelSize)}
<h2>Accuracy against the CDL</h2>
${htmlTable(["aAcc", "mIoU", "mAcc", "Coverage"], [[pct(m.aAcc), num(m.mIoU), pct(m.mAcc), pct(m.coverage)]])}
<p>Seed model card (validation chips): aAcc ${pct(SeedOverall.aAcc)}, mIoU ${num(SeedOverall.mIoU)}, mAcc ${pct(SeedOverall.mAcc)}.
Pixels the run could not map are coverage, not errors. Labelled ${data.labelledPixels}, mapped ${data.mappedPixels}; CDL codes outside the class table: ${data.ignoredCdlPixels} pixels, ignored.</p>
${htmlTable(ClassHeader, classRows(data))}
${data.states.length > 1 ? `<h2>States</h2>\n${htmlTable(StateHeader, stateRows(data))}` : ""}
${familiesHtml(data.families)}
<h2>Tiles</h2>
${htmlTable(TileHeader, tileRows(data))}
<h2>Files</h2><ul>${Object.entries(data.outputs)
    .map(([k, v]) => `<li>${escapeHtml(k)}: <code>${escapeHtml(v)}</code></li>`)
    .join("")}</ul>
<p>Report built in ${data.buildSeconds.toFixed(1)} s.</p>
</body></html>
`;
}
