import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { parseGranuleId } from "../contracts/granule.id.ts";
import type { GridGeo } from "../contracts/grid.contract.ts";
import { formatS3Url, type S3Location } from "../core/s3.url.ts";
import { cmrXmlKey } from "../hls/lpdaac.keys.ts";
import { putJson, ref } from "../storage/s3.objects.ts";
import { mosaicItem, runCollection, type StacFile, type StacRunFacts, tileItem } from "./stac.catalogue.ts";

async function digest(stream: AsyncIterable<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

export function fileDigest(path: string): Promise<{ sha256: string; bytes: number }> {
  return digest(createReadStream(path));
}

async function objectDigest(s3: S3Client, location: S3Location, key: string) {
  const object = ref(location, key);
  const response = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
  return digest(response.Body as AsyncIterable<Uint8Array>);
}

type Digest = { sha256: string; bytes: number };

/** What the catalogue needs of a finished tile (its manifest holds more). */
export interface StacTile {
  tileId: string;
  grid: GridGeo & { width: number; height: number };
  granules: { id: string }[];
  /** Checksums recorded when the maps were written; absent in older manifests. */
  files?: { classes: Digest; confidence: Digest };
}

export interface RunCatalogueInput {
  outputs: S3Location;
  hls: S3Location;
  /** The run's folder under outputs, ending in "/". */
  prefix: string;
  run: StacRunFacts;
  manifests: StacTile[];
  tileAAcc: (number | null)[];
  /** The run's map: its single COG, or (by state) the coarse overview and the VRTs. */
  mosaic: CatalogueMosaic & { vrt?: { classes: string; confidence: string } };
  /**
   * One per part of a run mosaicked by state (each state, and each cell outside every state);
   * empty otherwise. `item` is where its Item goes under `stac/`, without `.json`.
   */
  parts: (CatalogueMosaic & { id: string; name: string; item: string })[];
}

/** A mosaic's grid, accuracy and files (keys under outputs, with their SHA-256 and size). */
interface CatalogueMosaic {
  grid: GridGeo & { width: number; height: number };
  accuracy: { aAcc: number | null; mIoU: number | null; coverage: number | null };
  classes: { key: string; sha256: string; bytes: number };
  confidence: { key: string; sha256: string; bytes: number };
}

/**
 * Writes the run's STAC catalogue under `<prefix>stac/`: collection.json, map.json (the mosaic),
 * states/<postal>.json and outside/<row>-<col>.json (the parts of a run mosaicked by state) and
 * items/<tile>.json, every href relative. Tile
 * maps' checksums come from their manifests (recorded as they were written); older manifests without
 * them have their maps streamed back and hashed. Mosaics' come from the files they were uploaded from.
 */
export async function writeRunCatalogue(s3: S3Client, input: RunCatalogueInput): Promise<string> {
  const { outputs, prefix, run } = input;
  const stac = `${prefix}stac/`;
  const items: string[] = [];
  const boxes: number[][] = [];
  const queue = input.manifests.map((m, i) => ({ m, aAcc: input.tileAAcc[i] ?? null }));
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { m, aAcc } = next;
      const tile = `${prefix}tiles/${m.tileId}/`;
      const [classes, confidence] = m.files
        ? [m.files.classes, m.files.confidence]
        : await Promise.all(
            ["classes.tif", "confidence.tif"].map((name) => objectDigest(s3, outputs, `${tile}${name}`)),
          );
      const file = (name: string, d: { sha256: string; bytes: number }): StacFile => ({
        href: `../../tiles/${m.tileId}/${name}`,
        ...d,
      });
      const item = tileItem(
        run,
        {
          tileId: m.tileId,
          grid: m.grid,
          aAcc,
          granules: m.granules.map((g) => ({
            id: g.id,
            href: formatS3Url(input.hls, cmrXmlKey(parseGranuleId(g.id))),
          })),
        },
        {
          classes: file("classes.tif", classes as { sha256: string; bytes: number }),
          confidence: file("confidence.tif", confidence as { sha256: string; bytes: number }),
        },
        { collection: "../collection.json", self: `./${m.tileId}.json` },
      );
      boxes.push(item.bbox);
      await putJson(s3, ref(outputs, `${stac}items/${m.tileId}.json`), item);
      items.push(`./items/${m.tileId}.json`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
  // Hrefs from an Item `depth` folders below the run's folder.
  const href = (key: string, depth: number) => `${"../".repeat(depth)}${key.slice(prefix.length)}`;
  const asset = (f: { key: string; sha256: string; bytes: number }, depth: number): StacFile => ({
    href: href(f.key, depth),
    sha256: f.sha256,
    bytes: f.bytes,
  });
  const { mosaic } = input;
  const map = mosaicItem(
    run,
    { id: "map", title: `${run.region} ${run.year}`, grid: mosaic.grid, accuracy: mosaic.accuracy },
    {
      classes: asset(mosaic.classes, 1),
      confidence: asset(mosaic.confidence, 1),
      ...(mosaic.vrt
        ? { vrt: { classes: href(mosaic.vrt.classes, 1), confidence: href(mosaic.vrt.confidence, 1) } }
        : {}),
      report: "../report.html",
      accuracy: "../accuracy.json",
    },
    { collection: "./collection.json", self: "./map.json" },
  );
  await putJson(s3, ref(outputs, `${stac}map.json`), map);
  for (const part of input.parts) {
    const self = `./${part.item.slice(part.item.lastIndexOf("/") + 1)}.json`;
    const item = mosaicItem(
      run,
      { id: part.id, title: `${part.name} ${run.year}`, grid: part.grid, accuracy: part.accuracy },
      { classes: asset(part.classes, 2), confidence: asset(part.confidence, 2) },
      { collection: "../collection.json", self },
    );
    await putJson(s3, ref(outputs, `${stac}${part.item}.json`), item);
    items.push(`./${part.item}.json`);
  }
  const bbox = [map.bbox, ...boxes].reduce((a, b) => [
    Math.min(a[0] as number, b[0] as number),
    Math.min(a[1] as number, b[1] as number),
    Math.max(a[2] as number, b[2] as number),
    Math.max(a[3] as number, b[3] as number),
  ]);
  const collection = runCollection(run, bbox, ["./map.json", ...items.sort()], "./collection.json");
  await putJson(s3, ref(outputs, `${stac}collection.json`), collection);
  return formatS3Url(outputs, `${stac}collection.json`);
}
