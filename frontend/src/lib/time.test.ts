import { describe, expect, it } from "vitest";
import { formatDateTime, formatRelative } from "./time";

const NOW = Date.parse("2026-01-21T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe("formatRelative", () => {
  it.each([
    [10_000, "just now"],
    [-30_000, "just now"],
    [60_000, "1 minute ago"],
    [5 * 60_000 + 5_000, "5 minutes ago"],
    [3 * 3_600_000, "3 hours ago"],
    [25 * 3_600_000, "yesterday"],
    [3 * 86_400_000, "3 days ago"],
  ])("%d ms ago is %j", (ms, text) => {
    expect(formatRelative(ago(ms), NOW)).toBe(text);
  });

  it("gives the date for anything older than a week", () => {
    const iso = ago(30 * 86_400_000);
    expect(formatRelative(iso, NOW)).toBe(formatDateTime(iso));
    expect(formatRelative(iso, NOW)).toMatch(/Dec 2\d, 2025/);
  });

  it("passes an unparsable value through", () => {
    expect(formatRelative("soon", NOW)).toBe("soon");
    expect(formatDateTime("soon")).toBe("soon");
  });
});
