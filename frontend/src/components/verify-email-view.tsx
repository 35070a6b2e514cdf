"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { Card, FormAlert, PageSpinner, SuccessNotice, textLinkClass } from "./form";
import { ResendVerificationForm } from "./resend-verification-form";
import { useSession } from "./session";
import { verifyEmail } from "@/lib/api";
import { ApiError, formErrorsFrom } from "@/lib/errors";

type Outcome = { state: "verified" } | { state: "invalid" } | { state: "failed"; messages: string[] };

/**
 * One verification per key and page load. A key works once, so a second call (React's strict mode
 * runs effects twice in development; a remount runs them again) would answer 404 and undo the
 * first answer on screen: every caller gets the first call's outcome.
 */
const attempts = new Map<string, Promise<Outcome>>();

function verifyOnce(key: string): Promise<Outcome> {
  let attempt = attempts.get(key);
  if (!attempt) {
    attempt = verifyEmail(key).then(
      (): Outcome => ({ state: "verified" }),
      (error: unknown): Outcome => {
        if (error instanceof ApiError && error.status === 404) return { state: "invalid" };
        // Nothing was decided (offline, throttled, a server error): a retry may ask again.
        attempts.delete(key);
        return { state: "failed", messages: formErrorsFrom(error, {}).general };
      },
    );
    attempts.set(key, attempt);
  }
  return attempt;
}

function Verified() {
  const { status, reloadProfile } = useSession();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  useEffect(() => {
    // A changed address takes effect now: show the new one.
    if (status === "signed-in") void reloadProfile();
  }, [status, reloadProfile]);
  return (
    <Card title="E-mail verified" headingRef={headingRef}>
      <div className="space-y-4">
        <SuccessNotice>Your e-mail address is verified.</SuccessNotice>
        <p className="text-sm">
          {status === "signed-in" ? (
            <Link href="/profile" className={textLinkClass}>
              Go to your profile
            </Link>
          ) : (
            <Link href="/login" className={textLinkClass}>
              Sign in
            </Link>
          )}
        </p>
      </div>
    </Card>
  );
}

function InvalidKey() {
  return (
    <Card title="Verify your e-mail address">
      <div className="space-y-4">
        <FormAlert messages={["This link is invalid or has expired."]} />
        <p className="text-sm text-slate-700">
          A verification link works once, and only for a while. Enter your address to get a new one.
        </p>
        <ResendVerificationForm />
      </div>
    </Card>
  );
}

/** `/verify-email?key=…`, the link of the verification e-mail: verifies on load, once. */
export function VerifyEmailView() {
  const key = useSearchParams().get("key") ?? "";
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [tries, setTries] = useState(0);

  useEffect(() => {
    if (!key) return;
    let cancelled = false;
    void verifyOnce(key).then((result) => {
      if (!cancelled) setOutcome(result);
    });
    return () => {
      cancelled = true;
    };
  }, [key, tries]);

  if (!key || outcome?.state === "invalid") return <InvalidKey />;
  if (outcome?.state === "verified") return <Verified />;
  if (outcome?.state === "failed") {
    return (
      <Card title="Verify your e-mail address">
        <div className="space-y-4">
          <FormAlert messages={outcome.messages} />
          <button
            type="button"
            onClick={() => {
              setOutcome(null);
              setTries((n) => n + 1);
            }}
            className="inline-flex w-full items-center justify-center rounded-lg border border-slate-300 bg-white px-4 py-2.5 text-sm font-semibold text-slate-800 shadow-sm transition hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
          >
            Try again
          </button>
        </div>
      </Card>
    );
  }
  return <PageSpinner label="Verifying your e-mail address…" />;
}
