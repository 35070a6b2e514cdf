import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import { SessionProvider } from "@/components/session";
import { SiteHeader } from "@/components/site-header";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "auth-server", template: "%s · auth-server" },
  description: "Sign up, sign in and manage your profile.",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: "#4f46e5",
};

export default async function RootLayout({ children }: Readonly<{ children: React.ReactNode }>) {
  // Render per request: the scripts need the nonce of this request's Content-Security-Policy
  // (src/proxy.ts), which a page prerendered at build time cannot have. A static export has no
  // requests and no proxy; its web server must send a policy of its own.
  if (process.env.NEXT_OUTPUT !== "export") await connection();
  return (
    <html lang="en">
      <body className="flex min-h-screen flex-col bg-slate-50 font-sans text-slate-900 antialiased">
        <SessionProvider>
          <a
            href="#main"
            className="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-md focus:bg-white focus:px-3 focus:py-2 focus:text-sm focus:font-medium focus:text-indigo-700 focus:shadow"
          >
            Skip to content
          </a>
          <SiteHeader />
          <main id="main" tabIndex={-1} className="flex-1 px-4 py-10 focus:outline-none sm:px-6 sm:py-16">
            {children}
          </main>
          <footer className="border-t border-slate-200 py-6 text-center text-xs text-slate-500">
            auth-server · the access token stays in memory, the refresh token in an HttpOnly cookie
          </footer>
        </SessionProvider>
      </body>
    </html>
  );
}
