export interface VrtSource {
  /** The COG's path relative to the VRT file. */
  href: string;
  grid: MosaicGrid;
}

const attr = (v: string) => v.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/**
 * A GDAL VRT (one Byte band) over COGs on one lattice: each source placed by its grid's offset in
 * `grid`, its nodata transparent, so sources whose boxes overlap (neighbouring states) show each
 * other's pixels. GDAL opens it where it lies (sources relative to the VRT); nothing is resampled.
 */
export function vrtXml(input: {
  grid: MosaicGrid;
  sources: VrtSource[];
  nodata: number;
  description: string;
  palette?: readonly (readonly [number, number, number])[];
}): string {
  const { grid, nodata } = input;
  const p = grid.pixelSize;
  const sources = input.sources.map(({ href, grid: g }) => {
    const col = Math.round((g.origin[0] - grid.origin[0]) / p);
    const row = Math.round((grid.origin[1] - g.origin[1]) / p);
    return [
      "    <ComplexSource>",
      `      <SourceFilename relativeToVRT="1">${attr(href)}</SourceFilename>`,
      "      <SourceBand>1</SourceBand>",
      `      <SourceProperties RasterXSize="${g.width}" RasterYSize="${g.height}" DataType="Byte" BlockXSize="512" BlockYSize="512"/>`,
      `      <SrcRect xOff="0" yOff="0" xSize="${g.width}" ySize="${g.height}"/>`,
      `      <DstRect xOff="${col}" yOff="${row}" xSize="${g.width}" ySize="${g.height}"/>`,
      `      <NODATA>${nodata}</NODATA>`,
      "    </ComplexSource>",
    ].join("\n");
  });
  const palette = input.palette
    ? [
        "    <ColorInterp>Palette</ColorInterp>",
        "    <ColorTable>",
        ...input.palette.map(
          ([r, g, b], i) => `      <Entry c1="${r}" c2="${g}" c3="${b}" c4="${i === nodata ? 0 : 255}"/>`,
        ),
        "    </ColorTable>",
      ]
    : ["    <ColorInterp>Gray</ColorInterp>"];
  return [
    `<VRTDataset rasterXSize="${grid.width}" rasterYSize="${grid.height}">`,
    `  <SRS dataAxisToSRSAxisMapping="1,2">EPSG:${grid.epsg}</SRS>`,
    `  <GeoTransform>${grid.origin[0]}, ${p}, 0, ${grid.origin[1]}, 0, ${-p}</GeoTransform>`,
    '  <VRTRasterBand dataType="Byte" band="1">',
    `    <Description>${attr(input.description)}</Description>`,
    `    <NoDataValue>${nodata}</NoDataValue>`,
    ...palette,
    ...sources,
    "  </VRTRasterBand>",
    "</VRTDataset>",
    "",
  ].join("\n");
}

import type { MosaicGrid } from "../contracts/grid.contract.ts";
