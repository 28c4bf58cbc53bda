import { CropClasses } from "../cdl/classes.ts";

/** A class's area on the map and in the CDL, over the same pixels. */
export interface ClassArea {
  id: number;
  name: string;
  /** Pixels the map puts in the class, and its hectares. */
  mappedPixels: number;
  mappedHa: number;
  /** Pixels the CDL puts in the class, and its hectares. */
  cdlPixels: number;
  cdlHa: number;
}

/**
 * Each class's mapped area beside the CDL's, from a confusion matrix (matrix[label - 1][prediction
 * - 1]): both over the pixels the map and the CDL both cover, so the two columns sum to the same
 * total and differ only where the map moves area from one class to another. A pixel of
 * `pixelSize` metres is pixelSize² / 10,000 ha (30 m: 0.09 ha).
 */
export function classAreas(matrix: readonly (readonly number[])[], pixelSize: number): ClassArea[] {
  const ha = (pixelSize * pixelSize) / 10_000;
  return CropClasses.map((c, k) => {
    const cdlPixels = (matrix[k] ?? []).reduce((a, b) => a + b, 0);
    const mappedPixels = matrix.reduce((a, row) => a + (row[k] ?? 0), 0);
    return {
      id: c.id,
      name: c.name,
      mappedPixels,
      mappedHa: mappedPixels * ha,
      cdlPixels,
      cdlHa: cdlPixels * ha,
    };
  });
}
