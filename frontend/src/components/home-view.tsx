"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { Spinner } from "./form";
import { SignOutButton } from "./sign-out-button";
import { useSession } from "./session";

const primary =
  "inline-flex items-center justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm transition hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600";
const secondary =
  "inline-flex items-center justify-center rounded-lg border border-slate-300 bg-white px-4 py-2.5 text-sm font-semibold text-slate-800 shadow-sm transition hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600";

/** `?account=deleted`: where the profile page sends the user after deleting the account. */
function AccountDeletedNotice() {
  const deleted = useSearchParams().get("account") === "deleted";
  return (
    <div role="status" className="mx-auto mb-8 max-w-md empty:hidden">
      {deleted && (
        <p className="rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-800">
          Your account has been deleted.
        </p>
      )}
    </div>
  );
}

export function HomeView() {
  const { status, profile, profileError } = useSession();

  if (status === "loading" || (status === "signed-in" && !profile && !profileError)) {
    return (
      <div className="flex items-center justify-center gap-2 py-16 text-slate-600" aria-busy="true">
        <Spinner />
        <span>Checking your session…</span>
      </div>
    );
  }

  if (status === "signed-in") {
    const fullName = [profile?.user.first_name, profile?.user.last_name].filter(Boolean).join(" ");
    return (
      <div className="mx-auto w-full max-w-2xl">
        <div className="rounded-2xl border border-slate-200 bg-white px-5 py-8 shadow-sm sm:px-8">
          <p className="text-sm font-medium text-emerald-700">
            <span aria-hidden="true">● </span>Session active
          </p>
          <h1 className="mt-2 text-2xl font-semibold tracking-tight text-slate-900 sm:text-3xl">
            {profile ? (
              <>
                Signed in as <span className="text-indigo-700">{profile.user.username}</span>
              </>
            ) : (
              "Signed in"
            )}
          </h1>
          {profile ? (
            <p className="mt-2 text-slate-600">
              {fullName ? `${fullName} · ` : ""}
              {profile.user.email}
            </p>
          ) : (
            <p className="mt-2 text-red-700" role="alert">
              {profileError}
            </p>
          )}
          <div className="mt-6 flex flex-col gap-3 sm:flex-row">
            <Link href="/profile" className={primary}>
              View and edit your profile
            </Link>
            <SignOutButton className="justify-center px-4 py-2.5" />
          </div>
        </div>
      </div>
    );
  }

  return (
    <div className="mx-auto w-full max-w-2xl text-center">
      {/* (Read in the browser, so that a static export works too.) */}
      <Suspense fallback={null}>
        <AccountDeletedNotice />
      </Suspense>
      <h1 className="text-3xl font-semibold tracking-tight text-slate-900 sm:text-4xl">Welcome</h1>
      <p className="mx-auto mt-3 max-w-prose text-slate-600">
        You are not signed in. Sign in to see and edit your profile, or create an account in a minute.
      </p>
      <div className="mt-8 flex flex-col justify-center gap-3 sm:flex-row">
        <Link href="/login" className={primary}>
          Sign in
        </Link>
        <Link href="/register" className={secondary}>
          Create an account
        </Link>
      </div>
    </div>
  );
}
