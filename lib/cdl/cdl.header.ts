import type { GeoTIFFImage } from "geotiff";
import { CdlEpsg, NationalCdlGrid } from "../grid/crs.ts";
import { describeOffset, isOnLattice, latticeOffset, type PixelGrid } from "../grid/lattice.ts";
import { imageGrid } from "../raster/cog.reader.ts";

/** A CDL raster a person handed in that cannot be imported as it is; the message says why. */
export class CdlInputError extends Error {}

/** What an import needs from a CDL GeoTIFF's header, checked. */
export interface CdlHeader {
  source: string;
  grid: PixelGrid;
  /** The file's colour table as [r, g, b] in 0..255, when it has one. */
  colorMap?: [number, number, number][];
}

const SampleFormatNames: Record<number, string> = { 1: "unsigned", 2: "signed", 3: "float" };

/**
 * Checks that a GeoTIFF is a CDL raster as USDA ships it: one band of uint8 codes, EPSG:5070 (its
 * code, or an Albers with its parameters: `imageGrid` refuses anything else naming the keys),
 * 30 m pixels on the national grid (edges at -2356095 + 30 k, 3172605 - 30 k). Nothing is read
 * beyond the header.
 */
export async function checkCdlHeader(image: GeoTIFFImage, source: string): Promise<CdlHeader> {
  const bands = image.getSamplesPerPixel();
  const bits = image.getBitsPerSample();
  const format = image.getSampleFormat() ?? 1;
  if (bands !== 1 || bits !== 8 || format !== 1)
    throw new CdlInputError(
      `${source}: ${bands} band(s) of ${bits}-bit ${SampleFormatNames[format] ?? `format ${format}`} ` +
        "values; a CDL raster is one band of uint8 codes",
    );
  const { epsg, width, height, origin, pixelSize } = imageGrid(image, source);
  if (epsg !== CdlEpsg)
    throw new CdlInputError(
      `${source} is EPSG:${epsg}; CDL rasters are EPSG:${CdlEpsg} (NAD83 / Conus Albers)`,
    );
  if (pixelSize !== NationalCdlGrid.pixelSize)
    throw new CdlInputError(`${source} has ${pixelSize} m pixels; the national CDL grid's are 30 m`);
  const offset = latticeOffset(origin, [NationalCdlGrid.originX, NationalCdlGrid.originY], pixelSize);
  if (!isOnLattice(offset))
    throw new CdlInputError(
      `${source}: origin ${origin.join(",")} is off the national CDL grid by ${describeOffset(offset)} ` +
        `(pixel edges at ${NationalCdlGrid.originX} + 30 k, ${NationalCdlGrid.originY} - 30 k)`,
    );
  const palette = (await image.fileDirectory.loadValue("ColorMap")) as ArrayLike<number> | undefined;
  return {
    source,
    // Snapped: the offset is below a millimetre, and every later step counts whole pixels.
    grid: {
      origin: [
        NationalCdlGrid.originX + Math.round((origin[0] - NationalCdlGrid.originX) / pixelSize) * pixelSize,
        NationalCdlGrid.originY + Math.round((origin[1] - NationalCdlGrid.originY) / pixelSize) * pixelSize,
      ],
      pixelSize,
      width,
      height,
    },
    ...(palette ? { colorMap: fromTiffPalette(palette) } : {}),
  };
}

/** TIFF colour tables hold 16-bit channels, all reds, then greens, then blues; GDAL writes v * 257. */
function fromTiffPalette(palette: ArrayLike<number>): [number, number, number][] {
  const n = palette.length / 3;
  return Array.from({ length: 256 }, (_, i) =>
    i < n
      ? ([0, 1, 2].map((c) => Math.round((palette[c * n + i] as number) / 257)) as [number, number, number])
      : [0, 0, 0],
  );
}
