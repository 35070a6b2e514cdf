/**
 * The Content-Security-Policy of every page, built per request by `src/proxy.ts` around a fresh
 * nonce. Next.js reads the nonce back from the request's copy of the header while rendering and
 * puts it on its own scripts, which is why every page is rendered per request (see the root
 * layout).
 */
export function contentSecurityPolicy(nonce: string, { dev }: { dev: boolean }): string {
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    // 'strict-dynamic' lets the nonced bootstrap scripts load the page's chunks; 'self' only
    // matters to browsers without CSP 3. React needs eval in development only (server error
    // stacks in the dev overlay), never in a production build.
    "script-src": ["'self'", `'nonce-${nonce}'`, "'strict-dynamic'", ...(dev ? ["'unsafe-eval'"] : [])],
    // Tailwind is compiled to stylesheet files, and Next.js puts the nonce on the inline styles
    // it renders. `next dev` injects styles without it (hot reloading), so there only: inline.
    "style-src": ["'self'", dev ? "'unsafe-inline'" : `'nonce-${nonce}'`],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    // The API is reached through this origin's /api/* rewrite (next.config.ts), never directly.
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(" ")}`)
    .join("; ");
}

/** 128 random bits, base64: unguessable, and only characters a CSP nonce may hold. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
