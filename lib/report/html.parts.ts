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
