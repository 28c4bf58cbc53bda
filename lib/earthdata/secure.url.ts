/** Loopback by exact address: a name that merely starts with "127." (127.example.com) is anyone's. */
const LoopbackHosts = new Set(["127.0.0.1", "[::1]", "localhost"]);

export function isLoopbackHost(hostname: string): boolean {
  return LoopbackHosts.has(hostname.toLowerCase());
}

/**
 * Whether a login (a bearer token, a password) may travel to this URL: over HTTPS, or over plain
 * HTTP to this machine's own loopback address (the tests' stand-ins). Never file:, data: or the like.
 */
export function carriesSecrets(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/** The reason a configured Earthdata URL cannot carry a login, or undefined. */
export function insecureUrlReason(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "expected a URL";
  }
  return carriesSecrets(url)
    ? undefined
    : "expected an https:// URL (http:// only to 127.0.0.1, [::1] or localhost)";
}
