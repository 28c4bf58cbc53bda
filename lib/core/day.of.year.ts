/** Day of year of MM-DD in a year (1 for January 1st). */
export function dayOfYear(year: number, monthDay: string): number {
  const [month, day] = monthDay.split("-").map(Number);
  const date = Date.UTC(year, (month as number) - 1, day);
  return Math.round((date - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
}
