/**
 * Checks a cron expression as Temporal Schedules take it (minute hour day-of-month month
 * day-of-week, an optional `CRON_TZ=<zone>` prefix, or a macro such as `@daily` / `@every 12h`),
 * so a typo is refused on the command line before any server is asked. Returns what is wrong, or
 * undefined.
 */
const Fields = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  { name: "day of week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
] as const;

const Macros = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
const Every = /^@every\s+(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

function value(text: string, field: (typeof Fields)[number]): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const index = "names" in field ? (field.names as readonly string[]).indexOf(text.toUpperCase()) : -1;
  return index < 0 ? undefined : index + ("names" in field && field.name === "month" ? 1 : 0);
}

function fieldProblem(text: string, field: (typeof Fields)[number]): string | undefined {
  for (const item of text.split(",")) {
    const match = /^(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!match) return `'${item}' is not a ${field.name} (a value, a range a-b, * or a step /n)`;
    if (match[2] !== undefined && Number(match[2]) === 0) return `step 0 in ${field.name}`;
    if (match[1] === "*" || match[1] === "?") continue;
    for (const part of (match[1] as string).split("-")) {
      const v = value(part, field);
      if (v === undefined || v < field.min || v > field.max)
        return `${field.name} '${part}' is outside ${field.min}-${field.max}`;
    }
  }
  return undefined;
}

export function cronProblem(expression: string): string | undefined {
  const body = expression.trim().replace(/^CRON_TZ=\S+\s+/, "");
  if (body.startsWith("@"))
    return Macros.test(body) || Every.test(body) ? undefined : `'${body}' is not a cron macro`;
  const parts = body.split(/\s+/);
  if (parts.length !== Fields.length)
    return `expected ${Fields.length} fields (minute hour day-of-month month day-of-week), got ${parts.length}`;
  for (const [i, field] of Fields.entries()) {
    const wrong = fieldProblem(parts[i] as string, field);
    if (wrong) return wrong;
  }
  return undefined;
}
