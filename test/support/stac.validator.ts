import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { ensureTool } from "../../infra/dev/tools.ts";

/** Where each STAC core schema lives under schemas.stacspec.org (pystac-core keeps them in one folder). */
const SpecFolder: Record<string, string> = {
  "catalog.json": "catalog-spec",
  "collection.json": "collection-spec",
};

/**
 * Validators for STAC 1.1.0 Items and Collections from the official core JSON schemas, as the
 * PyPI package pystac-core ships them (installed once into the tool cache). Their `$id`s are set
 * from their file names, since one of pystac-core's copies carries a misspelt one.
 */
export async function stacValidators(): Promise<{ item: ValidateFunction; collection: ValidateFunction }> {
  const itemSchema = await ensureTool("stacSchemas");
  const stacDir = dirname(itemSchema);
  const geojsonDir = join(stacDir, "..", "..", "geojson");
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat("iri", true);
  ajv.addFormat("iri-reference", true);
  for (const file of await readdir(geojsonDir)) {
    const schema = JSON.parse(await readFile(join(geojsonDir, file), "utf8"));
    ajv.addSchema({ ...schema, $id: `https://geojson.org/schema/${file}` });
  }
  for (const file of await readdir(stacDir)) {
    if (!file.endsWith(".json")) continue;
    const schema = JSON.parse(await readFile(join(stacDir, file), "utf8"));
    const folder = SpecFolder[file] ?? "item-spec";
    ajv.addSchema({ ...schema, $id: `https://schemas.stacspec.org/v1.1.0/${folder}/json-schema/${file}` });
  }
  const get = (id: string) => ajv.getSchema(id) as ValidateFunction;
  return {
    item: get("https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json"),
    collection: get("https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json"),
  };
}
