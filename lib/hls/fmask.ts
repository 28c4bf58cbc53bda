/** HLS v2.0 Fmask bits (User Guide, table 9) and fill values. */
export const FmaskBit = {
  Cirrus: 1 << 0,
  Cloud: 1 << 1,
  Adjacent: 1 << 2,
  Shadow: 1 << 3,
  SnowIce: 1 << 4,
  Water: 1 << 5,
  /** Bits 6-7 hold the aerosol level: 01 low, 10 moderate, 11 high. */
  AerosolLow: 1 << 6,
  AerosolModerate: 2 << 6,
  AerosolHigh: 3 << 6,
} as const;

/** Fmask value outside the swath. */
export const FmaskFill = 255;
/** Reflectance fill value of HLS band COGs. */
export const HlsFill = -9999;
/** Reflectance scale: physical = stored x 0.0001. */
export const HlsScale = 0.0001;
