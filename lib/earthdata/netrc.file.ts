/** One machine's login in a netrc file. */
export interface NetrcLogin {
  login: string;
  password: string;
}

/**
 * The login for `machine` in netrc text (or the `default` entry), as curl and Python's netrc
 * read it: whitespace-separated tokens, double-quoted tokens, `#` comments, `macdef` bodies
 * skipped up to the next blank line.
 */
export function netrcLogin(text: string, machine: string): NetrcLogin | undefined {
  const lines = text.split(/\r?\n/);
  const tokens: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*#/.test(line)) continue;
    const words = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
      m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] as string),
    );
    if (words[0] === "macdef") {
      while (i + 1 < lines.length && (lines[i + 1] as string).trim() !== "") i++;
      continue;
    }
    tokens.push(...words);
  }

  const entries: { machine: string | undefined; fields: Record<string, string> }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === "machine") entries.push({ machine: tokens[++i], fields: {} });
    else if (token === "default") entries.push({ machine: undefined, fields: {} });
    else if (entries.length > 0 && (token === "login" || token === "password" || token === "account"))
      (entries[entries.length - 1] as (typeof entries)[number]).fields[token] = tokens[++i] ?? "";
  }
  const entry =
    entries.find((e) => e.machine?.toLowerCase() === machine.toLowerCase()) ??
    entries.find((e) => e.machine === undefined);
  if (!entry?.fields.login || entry.fields.password === undefined) return undefined;
  return { login: entry.fields.login, password: entry.fields.password };
}
