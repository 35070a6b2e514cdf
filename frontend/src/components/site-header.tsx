"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { SignOutButton } from "./sign-out-button";
import { useSession } from "./session";

function NavLink({ href, children }: { href: string; children: React.ReactNode }) {
  const pathname = usePathname();
  const active = pathname === href;
  return (
    <Link
      href={href}
      aria-current={active ? "page" : undefined}
      className={`rounded-md px-2.5 py-1.5 text-sm font-medium transition focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 ${
        active ? "bg-indigo-50 text-indigo-700" : "text-slate-700 hover:bg-slate-100 hover:text-slate-900"
      }`}
    >
      {children}
    </Link>
  );
}

export function SiteHeader() {
  const { status } = useSession();
  return (
    <header className="border-b border-slate-200 bg-white/90 backdrop-blur">
      <div className="mx-auto flex max-w-5xl flex-wrap items-center justify-between gap-2 px-4 py-3 sm:px-6">
        <Link
          href="/"
          className="flex items-center gap-2 rounded-md text-base font-semibold text-slate-900 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
        >
          <span aria-hidden="true" className="flex h-7 w-7 items-center justify-center rounded-lg bg-indigo-600 text-white">
            <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2.2">
              <rect x="5" y="11" width="14" height="9" rx="2" />
              <path d="M8 11V8a4 4 0 018 0v3" />
            </svg>
          </span>
          auth-server
        </Link>
        <nav aria-label="Main" className="flex items-center gap-1">
          {status === "signed-in" ? (
            <>
              <NavLink href="/">Home</NavLink>
              <NavLink href="/profile">Profile</NavLink>
              <SignOutButton className="ml-1" />
            </>
          ) : status === "signed-out" ? (
            <>
              <NavLink href="/login">Sign in</NavLink>
              <NavLink href="/register">Register</NavLink>
            </>
          ) : (
            <span className="h-8 w-32 animate-pulse rounded-md bg-slate-100" aria-hidden="true" />
          )}
        </nav>
      </div>
    </header>
  );
}
