import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromArrayBuffer } from "geotiff";
import { describe, expect, it } from "vitest";
import { writeClassMaps } from "../../activities/class.maps.ts";
import { CropClasses } from "../../lib/cdl/classes.ts";
import { loadModelManifest, ModelsDir } from "../../lib/model/model.manifest.ts";
import { loadSeriesManifest } from "../../lib/series/series.manifest.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, ref } from "../../lib/storage/s3.objects.ts";
import { testConfig } from "../support/test.config.ts";

/** A copy of a bundled manifest with one class edited, in a folder of its own. */
async function editedManifest(name: string, edit: (classes: { id: number; name: string }[]) => unknown) {
  const dir = await mkdtemp(join(tmpdir(), "class-table-"));
  const json = JSON.parse(await readFile(join(ModelsDir, `${name}.json`), "utf8"));
  json.classes = edit(json.classes);
  await writeFile(join(dir, `${name}.json`), JSON.stringify(json));
  return dir;
}

describe("one table of classes", () => {
  it("gives every bundled manifest the table's classes, by id and name", async () => {
    for (const manifest of [
      await loadModelManifest("crop-tiny"),
      await loadModelManifest("prithvi-crop-100m"),
      ...(await Promise.all(
        ["prithvi-eo2-300m", "prithvi-eo2-300m-tl", "prithvi-eo2-600m", "prithvi-eo2-600m-tl"].map((m) =>
          loadModelManifest(m),
        ),
      )),
      await loadSeriesManifest("sits-tiny"),
      await loadSeriesManifest("sits-former"),
    ])
      expect(manifest.classes).toEqual(CropClasses.map(({ id, name }) => ({ id, name })));
  });

  it("refuses a manifest that renames a class, colours one, or names one the table lacks", async () => {
    const renamed = await editedManifest("crop-tiny", (c) =>
      c.map((k) => (k.id === 2 ? { ...k, name: "Trees" } : k)),
    );
    await expect(loadModelManifest("crop-tiny", renamed)).rejects.toThrow(
      "classes.1.name: 'Trees': class 2 is 'Forest' in the class table",
    );
    const coloured = await editedManifest("crop-tiny", (c) =>
      c.map((k) => (k.id === 2 ? { ...k, color: [56, 118, 29] } : k)),
    );
    await expect(loadModelManifest("crop-tiny", coloured)).rejects.toThrow("classes.1");
    const unknown = await editedManifest("crop-tiny", (c) => [...c, { id: 14, name: "Rice" }]);
    await expect(loadModelManifest("crop-tiny", unknown)).rejects.toThrow(
      "classes.13.id: 14 is not in the class table",
    );
  });

  it("writes a tile map's colour table from the class table", async () => {
    const config = testConfig("class-table");
    const s3 = createS3Client(config);
    const grid = { epsg: 5070, origin: [0, 60] as [number, number], pixelSize: 30, width: 2, height: 2 };
    const maps = await writeClassMaps(
      s3,
      config.storage.outputs,
      "class-table/",
      { name: "crop-tiny" },
      grid,
      Uint8Array.from([2, 4, 0, 13]),
      Uint8Array.from([90, 80, 255, 70]),
    );
    const key = maps.classes.slice(
      maps.classes.indexOf(config.storage.outputs.prefix) + config.storage.outputs.prefix.length,
    );
    const bytes = await getBytes(s3, ref(config.storage.outputs, key));
    const image = await (await fromArrayBuffer(bytes.slice().buffer)).getImage();
    const colorMap = (await image.fileDirectory.loadValue("ColorMap")) as ArrayLike<number>;
    for (const c of CropClasses)
      expect(
        [colorMap[c.id], colorMap[256 + c.id], colorMap[512 + c.id]].map((v) => Math.round((v ?? 0) / 257)),
      ).toEqual([...c.color]);
  });
});
