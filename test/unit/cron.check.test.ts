import { describe, expect, it } from "vitest";
import { cronProblem } from "../../scripts/commands/cron.check.ts";

describe("cron expressions", () => {
  it.each([
    "0 6 1 * *",
    "*/15 0-6,18-23 * JAN-MAR mon-fri",
    "30 6 1 2 *",
    "CRON_TZ=US/Central 0 6 * * 1",
    "@daily",
    "@every 12h30m",
  ])("takes %j", (expression) => expect(cronProblem(expression)).toBeUndefined());
  it.each([
    ["bad cron", "expected 5 fields"],
    ["0 6 1 *", "got 4"],
    ["60 * * * *", "minute '60' is outside 0-59"],
    ["0 24 * * *", "hour '24' is outside 0-23"],
    ["0 0 0 * *", "day of month '0'"],
    ["0 0 * 13 *", "month '13'"],
    ["0 0 * FOO *", "month 'FOO'"],
    ["*/0 * * * *", "step 0 in minute"],
    ["0 0 * * 1;2", "'1;2' is not a day of week"],
    ["@sometimes", "'@sometimes' is not a cron macro"],
  ])("refuses %j", (expression, message) => expect(cronProblem(expression)).toContain(message));
});
