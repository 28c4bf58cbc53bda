import { readFileSync } from "node:fs";

/**
 * The 13 classes of the Prithvi crop model (mask values 1..13; 0 = no data). Colours start from the
 * CDL's own for each class's dominant code, moved just enough that every pair stays apart (CIEDE2000
 * >= 15 with normal vision, >= 9 with protanopia, deuteranopia or tritanopia; test/unit/palette.test.ts):
 * CDL's forest green was a twin of soybeans, its winter-wheat brown of cotton red to a deuteranope.
 */
export const CropClasses = [
  { id: 1, name: "Natural Vegetation", color: [232, 255, 191] },
  { id: 2, name: "Forest", color: [142, 211, 169] },
  { id: 3, name: "Corn", color: [255, 211, 0] },
  { id: 4, name: "Soybeans", color: [38, 112, 0] },
  { id: 5, name: "Wetlands", color: [121, 170, 174] },
  { id: 6, name: "Developed/Barren", color: [156, 154, 146] },
  { id: 7, name: "Open Water", color: [77, 112, 163] },
  { id: 8, name: "Winter Wheat", color: [118, 132, 3] },
  { id: 9, name: "Alfalfa", color: [255, 168, 227] },
  { id: 10, name: "Fallow/Idle Cropland", color: [193, 189, 118] },
  { id: 11, name: "Cotton", color: [255, 61, 70] },
  { id: 12, name: "Sorghum", color: [251, 149, 15] },
  { id: 13, name: "Other", color: [112, 0, 168] },
] as const;

export type ClassId = (typeof CropClasses)[number]["id"];
export const NoData = 0;

export const Class = {
  NaturalVegetation: 1,
  Forest: 2,
  Corn: 3,
  Soybeans: 4,
  Wetlands: 5,
  Developed: 6,
  Water: 7,
  WinterWheat: 8,
  Alfalfa: 9,
  Fallow: 10,
  Cotton: 11,
  Sorghum: 12,
  Other: 13,
} as const satisfies Record<string, ClassId>;

/** Palette for class-map COGs: index = class id, 0 black (no data). */
export const ClassPalette: [number, number, number][] = Array.from({ length: 256 }, (_, i) => {
  const c = CropClasses.find((k) => k.id === i);
  return c ? [...c.color] : [0, 0, 0];
});

export interface CdlCode {
  code: number;
  name: string;
  classId: ClassId;
}

let table: CdlCode[] | undefined;

/**
 * The CDL-code-to-class table (source: ClarkCGA multi-temporal-crop-classification-training-data,
 * data/cdl_total_dst.csv). A code not in it maps to 0 and is ignored in accuracy.
 */
export function cdlCodes(): CdlCode[] {
  if (table) return table;
  const text = readFileSync(new URL("./cdl_to_13_classes.csv", import.meta.url), "utf8");
  const [header, ...rows] = text.trim().split(/\r?\n/);
  if (header !== "cdl_code,cdl_name,class_id,class_name")
    throw new Error(`unexpected CDL table header '${header}'`);
  table = rows.map((row) => {
    const [code, name, classId] = row.split(",");
    return { code: Number(code), name: name ?? "", classId: Number(classId) as ClassId };
  });
  return table;
}

/** Lookup of all 256 CDL codes to class ids (0 for codes not in the table). */
export function cdlToClassLut(): Uint8Array {
  const lut = new Uint8Array(256);
  for (const { code, classId } of cdlCodes()) lut[code] = classId;
  return lut;
}
