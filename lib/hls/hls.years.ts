/** HLS v2.0 begins with Landsat 8 in 2013; Sentinel-2 S30 granules with the 2016 season. */
export const FirstHlsYear = 2013;
export const FirstS30Year = 2016;
