// C0 controls, DEL and C1 controls. The URL parser silently drops tab and newline anywhere in a
// URL, so `/\t/evil.example` would become the protocol-relative `//evil.example`.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

// The sign-in and registration pages: going back to them after signing in would loop.
const AUTH_PAGE = /^\/(?:login|register)(?:\/|$)/;

/** `value` resolved against `origin`, if it is a same-origin path that is safe to go to. */
function resolveSamePath(value: string, origin: string): URL | null {
  if (CONTROL_CHARACTER.test(value)) return null;
  // Only paths; `//host` and `/\host` name another host even though they start with a slash.
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return null;
  let base: URL;
  let url: URL;
  try {
    base = new URL(origin);
    url = new URL(value, base.origin);
  } catch {
    return null;
  }
  if (url.origin !== base.origin) return null;
  if (AUTH_PAGE.test(url.pathname)) return null;
  return url;
}

/**
 * Where to go after signing in: the path, query and fragment of `?next=` when it names a page of
 * `origin` (the app's own, `window.location.origin`), or home. The value is checked both as given
 * and once more percent-decoded, so that an encoded `%09` or `%5c` cannot turn into a redirect
 * off-site in whatever reads it next.
 */
export function safeNextPath(search: string, origin: string): string {
  const next = new URLSearchParams(search).get("next");
  if (!next) return "/";
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return "/";
  }
  const url = resolveSamePath(next, origin);
  if (!url || !resolveSamePath(decoded, origin)) return "/";
  return url.pathname + url.search + url.hash;
}
