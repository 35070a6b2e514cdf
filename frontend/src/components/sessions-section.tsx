"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { FormAlert, Spinner } from "./form";
import { listSessions, logoutOthers, revokeSession, type SessionInfo } from "@/lib/api";
import { ApiError, formErrorsFrom } from "@/lib/errors";
import { formatDateTime, formatRelative } from "@/lib/time";
import { deviceName } from "@/lib/user-agent";

/** The relative times ("5 minutes ago") are redrawn this often. */
const CLOCK_TICK_MS = 60_000;
const OTHERS = "others";

const buttonClass =
  "inline-flex w-full items-center justify-center gap-2 rounded-lg border px-3 py-1.5 text-sm font-medium shadow-sm transition " +
  "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:cursor-not-allowed disabled:opacity-60 sm:w-auto";

/** The API's words for what went wrong (field errors such as `scope` included). */
function messagesOf(error: unknown): string[] {
  const { general, fields } = formErrorsFrom(error, {});
  return [...general, ...Object.values(fields).flatMap((m) => m ?? [])];
}

interface Row {
  session: SessionInfo;
  name: string;
  /** What the row's "Sign out" button says to assistive technology: unique within the list. */
  label: string;
}

/** Names each session; where two other sessions would get the same label, their address tells them apart. */
function rowsOf(sessions: SessionInfo[]): Row[] {
  const rows = sessions.map((session) => ({ session, name: deviceName(session.user_agent), label: "" }));
  const count = (key: (r: Row) => string) => {
    const counts = new Map<string, number>();
    for (const r of rows) if (!r.session.current) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
    return counts;
  };
  const byName = count((r) => r.name);
  for (const r of rows) {
    r.label = (byName.get(r.name) ?? 0) > 1 && r.session.ip_address ? `${r.name} at ${r.session.ip_address}` : r.name;
  }
  const byLabel = count((r) => r.label);
  const seen = new Map<string, number>();
  for (const r of rows) {
    if (r.session.current || (byLabel.get(r.label) ?? 0) < 2) continue;
    const n = (seen.get(r.label) ?? 0) + 1;
    seen.set(r.label, n);
    r.label = `${r.label} (${n})`;
  }
  return rows;
}

/**
 * "Signed-in devices" on the profile page: the user's live sessions, which one is this device, and
 * a way to end any other one, or all of them at once. A new `refreshKey` loads the list again (the
 * page changes it when something else ended sessions, such as a password change).
 */
export function SessionsSection({ refreshKey = 0 }: { refreshKey?: number }) {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const [notice, setNotice] = useState("");
  /** The id of the session being signed out, or OTHERS; one action at a time. */
  const [pending, setPending] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const inFlight = useRef(false);
  const mounted = useRef(true);
  const alertRef = useRef<HTMLDivElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    mounted.current = true;
    const timer = setInterval(() => setNow(Date.now()), CLOCK_TICK_MS);
    return () => {
      mounted.current = false;
      clearInterval(timer);
    };
  }, []);

  /** Loads the list; resolves with the API's messages if that failed (the old list stays). */
  const load = useCallback(async (): Promise<string[]> => {
    try {
      const list = await listSessions();
      if (mounted.current) {
        setSessions(list);
        setNow(Date.now());
      }
      return [];
    } catch (error) {
      return messagesOf(error);
    }
  }, []);

  const showErrors = useCallback((messages: string[]) => {
    if (!mounted.current) return;
    setErrors(messages);
    if (messages.length > 0) setTimeout(() => alertRef.current?.focus(), 0);
  }, []);

  useEffect(() => {
    // Loaded afresh each time the page opens (devices come and go elsewhere), and again for each
    // new refreshKey.
    let cancelled = false;
    listSessions().then(
      (list) => {
        if (cancelled) return;
        setSessions(list);
        setNow(Date.now());
        setErrors([]);
      },
      (error: unknown) => {
        if (!cancelled) setErrors(messagesOf(error));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [refreshKey]);

  const run = async (key: string, action: () => Promise<void>, done: string, goneMeanwhile?: string) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setPending(key);
    setErrors([]);
    setNotice("");
    let messages: string[] = [];
    let result: string | null = null;
    try {
      await action();
      result = done;
    } catch (error) {
      // Already ended elsewhere (404): say so; the list below is brought up to date.
      if (goneMeanwhile && error instanceof ApiError && error.status === 404) result = goneMeanwhile;
      else messages = messagesOf(error);
    }
    const reloadMessages = await load();
    inFlight.current = false;
    if (!mounted.current) return;
    setPending(null);
    if (result !== null) {
      setNotice(result);
      // The button that had focus may be gone with its row: keep focus in the section.
      headingRef.current?.focus();
    }
    showErrors([...messages, ...reloadMessages]);
  };

  const rows = sessions ? rowsOf(sessions) : [];
  const others = rows.filter((r) => !r.session.current);

  return (
    <section
      aria-labelledby="devices-heading"
      className="rounded-2xl border border-slate-200 bg-white px-5 py-6 shadow-sm sm:px-8"
    >
      <h2 id="devices-heading" ref={headingRef} tabIndex={-1} className="text-lg font-semibold text-slate-900 focus:outline-none">
        Signed-in devices
      </h2>
      <p className="mb-4 mt-1 text-sm text-slate-600">
        Where your account is signed in. Sign out any device you do not recognise or no longer use.
      </p>
      <FormAlert ref={alertRef} messages={errors} />
      <div role="status" aria-live="polite" className="text-sm font-medium text-emerald-700">
        {notice}
      </div>

      {sessions === null ? (
        errors.length > 0 ? (
          <button
            type="button"
            onClick={() => void load().then(showErrors)}
            className={`${buttonClass} mt-4 border-slate-300 bg-white text-slate-800 hover:bg-slate-50`}
          >
            Try again
          </button>
        ) : (
          <div className="flex items-center gap-2 py-4 text-sm text-slate-600" aria-busy="true">
            <Spinner />
            <span>Loading your devices…</span>
          </div>
        )
      ) : rows.length === 0 ? (
        <p className="py-4 text-sm text-slate-600">No signed-in devices.</p>
      ) : (
        <ul aria-labelledby="devices-heading" className="mt-2 divide-y divide-slate-200">
          {rows.map(({ session, name, label }) => (
            <li
              key={session.id}
              className="flex flex-col gap-3 py-4 sm:flex-row sm:items-center sm:justify-between"
              data-testid="device"
            >
              <div className="min-w-0">
                <p className="flex flex-wrap items-center gap-2 font-medium text-slate-900">
                  <span className="break-words" title={session.user_agent ?? undefined}>
                    {name}
                  </span>
                  {session.current && (
                    <span className="rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-800">
                      This device
                    </span>
                  )}
                </p>
                <p className="mt-0.5 text-sm text-slate-600">
                  <span className="break-all">{session.ip_address || "Unknown address"}</span>
                  <span aria-hidden="true"> · </span>
                  <span className="sr-only">, </span>
                  <span className="whitespace-nowrap">
                    Last used{" "}
                    <time dateTime={session.last_used_at} title={formatDateTime(session.last_used_at)}>
                      {formatRelative(session.last_used_at, now)}
                    </time>
                  </span>
                </p>
              </div>
              {!session.current && (
                <button
                  type="button"
                  aria-label={`Sign out ${label}`}
                  disabled={pending !== null}
                  onClick={() =>
                    void run(
                      session.id,
                      () => revokeSession(session.id),
                      `Signed out ${label}.`,
                      `${label} was already signed out.`,
                    )
                  }
                  className={`${buttonClass} shrink-0 border-slate-300 bg-white text-slate-800 hover:bg-slate-50`}
                >
                  {pending === session.id && <Spinner className="h-3.5 w-3.5" />}
                  {pending === session.id ? "Signing out…" : "Sign out"}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}

      {others.length > 0 && (
        <div className="mt-4 border-t border-slate-200 pt-4">
          <button
            type="button"
            disabled={pending !== null}
            onClick={() => void run(OTHERS, logoutOthers, "Signed out of every other device.")}
            className={`${buttonClass} border-red-300 bg-white text-red-700 hover:bg-red-50`}
          >
            {pending === OTHERS && <Spinner className="h-3.5 w-3.5" />}
            {pending === OTHERS ? "Signing out everywhere else…" : "Sign out everywhere else"}
          </button>
        </div>
      )}
    </section>
  );
}
