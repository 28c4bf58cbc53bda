/** A URL as messages show it: without query or fragment, where signed URLs carry their secrets. */
export function shownUrl(url: string | URL): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
