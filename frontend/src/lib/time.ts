/** Dates for people: "5 minutes ago" for recent times, a calendar date for older ones. */

const DATE_TIME = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });
const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "Jan 21, 2026, 10:00 AM"; an unparsable value is returned as it is. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : DATE_TIME.format(date);
}

/**
 * How long ago `iso` was, seen at `now`: "just now" under a minute, then minutes, hours and days up
 * to a week ("yesterday", "3 days ago"), then the date and time. A time slightly in the future (the
 * server's clock ahead of this one) counts as "just now".
 */
export function formatRelative(iso: string, now: number = Date.now()): string {
  const time = new Date(iso).getTime();
  if (Number.isNaN(time)) return iso;
  const ago = now - time;
  if (ago < MINUTE) return "just now";
  if (ago < HOUR) return RELATIVE.format(-Math.floor(ago / MINUTE), "minute");
  if (ago < DAY) return RELATIVE.format(-Math.floor(ago / HOUR), "hour");
  if (ago < 7 * DAY) return RELATIVE.format(-Math.floor(ago / DAY), "day");
  return DATE_TIME.format(new Date(time));
}
