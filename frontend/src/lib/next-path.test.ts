import { describe, expect, it } from "vitest";
import { safeNextPath } from "./next-path";

const ORIGIN = "http://app.example:3000";

/** `?next=` carrying `value` exactly as written (no extra encoding). */
const search = (value: string) => `?next=${value}`;

describe("safeNextPath", () => {
  it.each([
    ["/profile", "/profile"],
    ["/profile?x=1#y", "/profile?x=1#y"],
    ["/", "/"],
    // Encoded once in the query string: `/profile?x=1#y` as a value.
    ["%2Fprofile%3Fx%3D1%23y", "/profile?x=1#y"],
    // Dot segments are resolved, and the result still stays on this origin.
    ["/a/../profile", "/profile"],
  ])("keeps the same-origin path %j", (value, expected) => {
    expect(safeNextPath(search(value), ORIGIN)).toBe(expected);
  });

  it.each([
    // Protocol-relative and backslash forms (browsers read `\` as `/` in http(s) URLs).
    "//evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    // Tab and newline are stripped by the URL parser, leaving `//evil.example`.
    "/%09/evil.example",
    "/%09/evil.example/x",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "%09//evil.example",
    // Other schemes.
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "%6aavascript:alert(1)",
    "data:text/html,hi",
    "https:evil.example",
    "https:/evil.example",
    "http://evil.example",
    "https://evil.example/profile",
    // Encoded once (decoded by the query string) and twice (decoded here).
    "%2f%2fevil.example",
    "/%5cevil.example",
    "%252f%252fevil.example",
    "/%255cevil.example",
    "/%2509/evil.example",
    // Not a path at all.
    "evil.example",
    " //evil.example",
    // Malformed encoding.
    "/%E0%A4%A",
    // The sign-in and registration pages themselves.
    "/login",
    "/login?next=/profile",
    "/login/",
    "/./login",
    "/register",
    "/register#x",
  ])("refuses %j", (value) => {
    expect(safeNextPath(search(value), ORIGIN)).toBe("/");
  });

  it("refuses a control character in the raw value", () => {
    expect(safeNextPath(`?next=${encodeURIComponent("/pro\u0000file")}`, ORIGIN)).toBe("/");
    expect(safeNextPath(`?next=${encodeURIComponent("/pro\u007ffile")}`, ORIGIN)).toBe("/");
  });

  it("goes home without a next parameter", () => {
    expect(safeNextPath("", ORIGIN)).toBe("/");
    expect(safeNextPath("?next=", ORIGIN)).toBe("/");
    expect(safeNextPath("?other=/profile", ORIGIN)).toBe("/");
  });

  it("takes only paths: even an absolute URL of this very origin is refused", () => {
    expect(safeNextPath(search("http://app.example:3000/profile"), ORIGIN)).toBe("/");
  });

  it("goes home when the origin it is given is not a URL", () => {
    expect(safeNextPath(search("/profile"), "not a url")).toBe("/");
  });
});
