/**
 * gdal_translate's options for a band COG as LP DAAC writes HLS v2.0 (DEFLATE, horizontal
 * predictor, 256 px blocks, overviews): for tests and benchmarks that need files in the real
 * archive's form, made by GDAL rather than by our writer.
 */
export const HlsGdalCogOptions = [
  "-of",
  "COG",
  "-co",
  "COMPRESS=DEFLATE",
  "-co",
  "PREDICTOR=2",
  "-co",
  "BLOCKSIZE=256",
] as const;
