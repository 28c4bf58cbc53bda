import type { ClassArea } from "../accuracy/class.areas.ts";
import { CropClasses } from "../cdl/classes.ts";

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);

/** The class legend as the report and the viewer show it: a swatch of each class colour and its name. */
export function classLegendHtml(): string {
  return CropClasses.map(
    (c) =>
      `<span class="key"><i style="background:rgb(${c.color.join(",")})"></i>${escapeHtml(c.name)}</span>`,
  ).join("");
}

/** The legend's CSS, shared so the report and the viewer draw the same swatches. */
export const LegendCss =
  ".key{display:inline-block;margin:.2rem .8rem .2rem 0}.key i{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:middle;border:1px solid #999}";

/** Hectares as a person reads them: whole hectares with separators, two decimals under 100 ha. */
export function formatHa(ha: number): string {
  return ha.toLocaleString("en-US", { maximumFractionDigits: ha < 100 ? 2 : 0 });
}

/** The map's area against the CDL's, as a share of the CDL's ("n/a" where the CDL has none). */
function areaDifference(a: ClassArea): string {
  if (a.cdlPixels === 0) return a.mappedPixels === 0 ? "" : "n/a";
  const d = ((a.mappedPixels - a.cdlPixels) / a.cdlPixels) * 100;
  return `${d >= 0 ? "+" : ""}${d.toFixed(1)}&nbsp;%`;
}

/**
 * The legend with each class's mapped area beside the CDL's over the same pixels, and their total
 * (the same in both columns: every pixel counted is in one class of each): what tells an analyst
 * where the map gains or loses area.
 */
export function classAreaLegendHtml(areas: ClassArea[], pixelSize: number): string {
  const mapped = areas.reduce((n, a) => n + a.mappedPixels, 0);
  const ha = (pixelSize * pixelSize) / 10_000;
  const rows = areas
    .map(
      (a) =>
        `<tr data-class="${a.id}"><td><span class="key"><i style="background:rgb(${CropClasses.find((c) => c.id === a.id)?.color.join(",")})"></i>${escapeHtml(a.name)}</span></td><td class="n mapped-ha">${formatHa(a.mappedHa)}</td><td class="n cdl-ha">${formatHa(a.cdlHa)}</td><td class="n">${areaDifference(a)}</td></tr>`,
    )
    .join("");
  return `<table class="areas"><thead><tr><th>Class</th><th>Mapped (ha)</th><th>CDL (ha)</th><th>Map vs CDL</th></tr></thead><tbody>${rows}</tbody>
<tfoot><tr class="total"><td>All classes</td><td class="n mapped-ha">${formatHa(mapped * ha)}</td><td class="n cdl-ha">${formatHa(mapped * ha)}</td><td></td></tr></tfoot></table>
<p class="note">Over the ${mapped.toLocaleString("en-US")} pixels that both the map and the CDL cover (${pixelSize} m pixels, ${formatHa(ha)} ha each).</p>`;
}
