import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy, newNonce } from "@/lib/csp";

/** Gives every page a Content-Security-Policy with a nonce of its own. */
export function proxy(request: NextRequest) {
  const nonce = newNonce();
  const policy = contentSecurityPolicy(nonce, { dev: process.env.NODE_ENV === "development" });

  // Next.js takes the nonce for its scripts from the request's Content-Security-Policy header;
  // x-nonce is for server components that render a <Script> of their own.
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("Content-Security-Policy", policy);
  requestHeaders.set("x-nonce", nonce);

  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", policy);
  return response;
}

export const config = {
  // Everything but the API (JSON, proxied to auth-server) and the build's immutable files.
  // Prefetches are not skipped: a document the browser prefetched must not arrive without a policy.
  matcher: ["/((?!api/|_next/static/|_next/image|favicon\\.ico).*)"],
};
