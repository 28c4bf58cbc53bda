/** TIFF and GeoTIFF tag numbers and field types the COG writer and the directory check use (TIFF 6.0, GeoTIFF 1.1, GDAL). */
export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  Predictor: 317,
  ColorMap: 320,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  SampleFormat: 339,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  GeoKeyDirectory: 34735,
  GdalMetadata: 42112,
  GdalNodata: 42113,
} as const;

export const FieldType = { ASCII: 2, SHORT: 3, LONG: 4, DOUBLE: 12 } as const;
export type FieldTypeCode = (typeof FieldType)[keyof typeof FieldType];

export const FieldSize: Record<FieldTypeCode, number> = { 2: 1, 3: 2, 4: 4, 12: 8 };

export const Compression = { None: 1, Deflate: 8 } as const;
export const Photometric = { MinIsBlack: 1, Palette: 3 } as const;
export const SampleFormat = { Uint: 1, Int: 2, Float: 3 } as const;

export const GeoKey = {
  GTModelType: 1024,
  GTRasterType: 1025,
  ProjectedCSType: 3072,
  ProjLinearUnits: 3076,
} as const;
export const ModelTypeProjected = 1;
export const RasterPixelIsArea = 1;
export const LinearMeter = 9001;
