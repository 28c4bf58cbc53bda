/** Key of a state's CDL raster for a year, as CropScape names state downloads: `2022/CDL_2022_19.tif`. */
export function stateCdlKey(year: number, fips: string): string {
  return `${year}/CDL_${year}_${fips}.tif`;
}
