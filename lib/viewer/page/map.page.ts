/// <reference lib="dom" />
// The map page in the browser: the run's map.tif read straight from the COG (ranged GETs through
// the viewer server), the quicklook overlays, the region's outline, tile outlines by state, and the
// pixel under a click.
import "ol/ol.css";
import Feature from "ol/Feature.js";
import MultiLineString from "ol/geom/MultiLineString.js";
import Point from "ol/geom/Point.js";
import Polygon from "ol/geom/Polygon.js";
import ImageLayer from "ol/layer/Image.js";
import VectorLayer from "ol/layer/Vector.js";
import WebGLTileLayer from "ol/layer/WebGLTile.js";
import OlMap from "ol/Map.js";
import { register } from "ol/proj/proj4.js";
import { get as getProjection, toLonLat } from "ol/proj.js";
import GeoTIFF from "ol/source/GeoTIFF.js";
import ImageStatic from "ol/source/ImageStatic.js";
import VectorSource from "ol/source/Vector.js";
import { Fill, Stroke, Style, Text } from "ol/style.js";
import View from "ol/View.js";
import proj4 from "proj4";
import { type Extent, RegionColour, TileStateColours, type ViewerConfig } from "./viewer.config.ts";

const config = JSON.parse(document.getElementById("viewer-config")?.textContent ?? "{}") as ViewerConfig;
proj4.defs("EPSG:5070", config.albers);
register(proj4);
const albers = getProjection("EPSG:5070");
if (!albers) throw new Error("EPSG:5070 did not register");

// Class 0 (no data) is transparent; the rest take the report's palette.
const palette = config.palette.map(([r, g, b], i) => (i === 0 ? [0, 0, 0, 0] : [r, g, b, 1]));
const mapLayer = config.map
  ? new WebGLTileLayer({
      source: new GeoTIFF({
        sources: [{ url: new URL(config.map.url, location.href).href }],
        normalize: false,
        interpolate: false,
        projection: albers,
      }),
      style: { color: ["palette", ["band", 1], palette] },
    })
  : undefined;

const overlays = new Map(
  config.overlays.map((o) => [
    o.id,
    new ImageLayer({
      visible: false,
      opacity: 0.85,
      source: new ImageStatic({ url: o.url, imageExtent: o.extent, projection: albers, interpolate: false }),
    }),
  ]),
);

const outlines = new VectorLayer({
  source: new VectorSource({
    features: [
      ...config.tiles.map((t) => {
        const feature = new Feature({ geometry: new Polygon([[...t.ring, t.ring[0] as [number, number]]]) });
        const colour = TileStateColours[t.state] ?? "#6e7781";
        feature.setStyle(
          new Style({
            stroke: new Stroke({
              color: colour,
              width: 2,
              lineDash: t.state === "done" ? undefined : [6, 4],
            }),
          }),
        );
        return feature;
      }),
      // Labels are points of their own, at the centres of the tiles' drawn parts: always shown there.
      ...config.labels.map((l) => {
        const feature = new Feature({ geometry: new Point(l.at) });
        feature.setStyle(
          new Style({
            text: new Text({
              text: l.lines.join("\n"),
              font: "bold 13px sans-serif",
              fill: new Fill({ color: "#24292f" }),
              stroke: new Stroke({ color: "#ffffff", width: 3 }),
              overflow: true,
            }),
          }),
        );
        return feature;
      }),
    ],
  }),
});

const regionLayer = config.region
  ? new VectorLayer({
      source: new VectorSource({
        features: [new Feature({ geometry: new MultiLineString(config.region.rings) })],
      }),
      style: new Style({ stroke: new Stroke({ color: RegionColour, width: 2 }) }),
    })
  : undefined;

function tilesExtent(): Extent | undefined {
  const xs = config.tiles.flatMap((t) => t.ring.map((p) => p[0]));
  const ys = config.tiles.flatMap((t) => t.ring.map((p) => p[1]));
  return xs.length ? [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] : undefined;
}

const map = new OlMap({
  target: "map",
  layers: [
    ...(mapLayer ? [mapLayer] : []),
    ...overlays.values(),
    ...(regionLayer ? [regionLayer] : []),
    outlines,
  ],
  view: new View({ projection: albers }),
});
const extent = config.map?.extent ?? tilesExtent();
if (extent) map.getView().fit(extent, { padding: [20, 20, 20, 20] });

// Tests and a curious person at the console reach the map here.
Object.assign(window, { viewer: map });
// Counts renders with every tile drawn; one before map.tif's header is read shows no map yet.
map.on("rendercomplete", () => {
  if (mapLayer && mapLayer.getSource()?.getState() !== "ready") return;
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
});

function bindToggle(id: string, layer: { setVisible(v: boolean): void; getVisible(): boolean } | undefined) {
  const box = document.getElementById(id) as HTMLInputElement | null;
  if (!box) return;
  if (!layer) {
    box.disabled = true;
    return;
  }
  box.checked = layer.getVisible();
  box.addEventListener("change", () => layer.setVisible(box.checked));
}
bindToggle("layer-map", mapLayer);
bindToggle("layer-labels", overlays.get("labels"));
bindToggle("layer-disagreement", overlays.get("disagreement"));
bindToggle("layer-tiles", outlines);
bindToggle("layer-region", regionLayer);

const info = document.getElementById("pixel") as HTMLElement;
map.on("singleclick", async (event) => {
  const [x, y] = event.coordinate as [number, number];
  const [lon, lat] = toLonLat([x, y], albers);
  const where = `x ${x.toFixed(0)}, y ${y.toFixed(0)} (EPSG:5070), ${lat?.toFixed(5)}, ${lon?.toFixed(5)}`;
  info.textContent = `reading ${where} ...`;
  const response = await fetch(`${config.pixelUrl}?x=${x}&y=${y}`);
  const body = (await response.json()) as {
    file?: string;
    classId?: number;
    className?: string | null;
    confidence?: number | null;
    error?: string;
  };
  info.dataset.classId = String(body.classId ?? "");
  if (!response.ok) info.textContent = `${body.error ?? response.statusText} at ${where}`;
  else if (!body.className) info.textContent = `no class mapped at ${where}`;
  else
    info.textContent = `${body.className} (class ${body.classId}), confidence ${body.confidence ?? "n/a"} % at ${where} (${body.file})`;
});
