import type { NextConfig } from "next";

// Where the auth-server API listens, as seen from the Next.js server. Read when the app is built:
// the rewrite below is baked into the build output, so rebuild after changing it.
const apiOrigin = (process.env.API_ORIGIN ?? "http://127.0.0.1:8000").replace(/\/+$/, "");

const securityHeaders = [
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

// NEXT_OUTPUT=export builds plain static files into out/ (no proxy: serve them behind a web server
// that forwards /api/ to auth-server on the same origin).
const staticExport = process.env.NEXT_OUTPUT === "export";

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  ...(staticExport ? { output: "export" as const } : {}),
  ...(staticExport
    ? {}
    : {
        // The browser only ever talks to this origin: /api/* is proxied to the API, so the
        // refresh-token cookie (Path=/api/auth, SameSite=Strict) is first-party and no CORS is
        // involved. The proxy sends the API a Host of API_ORIGIN's host (keep it in ALLOWED_HOSTS)
        // and the browser's Origin unchanged (keep the app's origin in CORS_ALLOWED_ORIGINS).
        async rewrites() {
          return [{ source: "/api/:path*", destination: `${apiOrigin}/api/:path*` }];
        },
        async headers() {
          return [{ source: "/:path*", headers: securityHeaders }];
        },
      }),
};

export default nextConfig;
