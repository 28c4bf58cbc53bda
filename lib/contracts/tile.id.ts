import { z } from "zod";

/** MGRS tile id as HLS and ESA write it: zone, latitude band, 100 km square (15TVG). */
export const TileIdPattern = /^(0[1-9]|[1-5]\d|60)[C-HJ-NP-X][A-HJ-NP-Z][A-HJ-NP-V]$/;
export const TileIdParser = z.string().regex(TileIdPattern, "expected an MGRS tile id like 15TVG");
