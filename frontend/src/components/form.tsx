"use client";

import { forwardRef, useId } from "react";

const inputBase =
  "block w-full rounded-lg border bg-white px-3 py-2 text-base text-slate-900 shadow-sm placeholder:text-slate-400 " +
  "focus:outline-none focus-visible:ring-2 focus-visible:ring-offset-1 disabled:bg-slate-100 disabled:text-slate-500 sm:text-sm";

export interface FieldProps extends Omit<React.InputHTMLAttributes<HTMLInputElement>, "id" | "children"> {
  name: string;
  label: string;
  /** The API's messages for this field, shown under it and tied to it with aria-describedby. */
  errors?: string[];
  hint?: string;
}

/** A labelled input with its hint and its error messages. */
export const Field = forwardRef<HTMLInputElement, FieldProps>(function Field(
  { name, label, errors = [], hint, required, className, ...input },
  ref,
) {
  const id = `${useId()}-${name}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const invalid = errors.length > 0;
  const describedBy = [hint ? hintId : null, invalid ? errorId : null].filter(Boolean).join(" ") || undefined;

  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-slate-800">
        {label}
        {!required && <span className="font-normal text-slate-500"> (optional)</span>}
      </label>
      <input
        ref={ref}
        id={id}
        name={name}
        required={required}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy}
        className={`${inputBase} ${
          invalid
            ? "border-red-500 focus-visible:ring-red-500"
            : "border-slate-300 focus-visible:border-indigo-500 focus-visible:ring-indigo-500"
        }`}
        {...input}
      />
      {hint && (
        <p id={hintId} className="mt-1 text-xs text-slate-500">
          {hint}
        </p>
      )}
      <div aria-live="polite">
        {invalid && (
          <ul id={errorId} className="mt-1 space-y-0.5 text-sm text-red-700" data-testid={`${name}-errors`}>
            {errors.map((message) => (
              <li key={message} className="flex gap-1">
                <span aria-hidden="true">⚠</span>
                <span>{message}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
});

/** The one place a form shows messages tied to no field: non_field_errors, detail, network errors. */
export const FormAlert = forwardRef<HTMLDivElement, { messages: string[] }>(function FormAlert({ messages }, ref) {
  return (
    <div ref={ref} role="alert" tabIndex={-1} className="focus:outline-none">
      {messages.length > 0 && (
        <div className="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">
          {messages.length === 1 ? (
            <p>{messages[0]}</p>
          ) : (
            <ul className="list-disc space-y-1 pl-5">
              {messages.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
});

const SUBMIT_TONES = {
  primary: "bg-indigo-600 hover:bg-indigo-500 focus-visible:outline-indigo-600 disabled:bg-indigo-400",
  danger: "bg-red-600 hover:bg-red-500 focus-visible:outline-red-600 disabled:bg-red-400",
} as const;

export function SubmitButton({
  pending,
  label,
  pendingLabel,
  tone = "primary",
}: {
  pending: boolean;
  label: string;
  pendingLabel: string;
  /** `danger` for a submit that cannot be undone (deleting the account). */
  tone?: keyof typeof SUBMIT_TONES;
}) {
  return (
    <button
      type="submit"
      disabled={pending}
      aria-disabled={pending}
      className={`inline-flex w-full items-center justify-center gap-2 rounded-lg px-4 py-2.5 text-sm font-semibold text-white shadow-sm transition focus-visible:outline-2 focus-visible:outline-offset-2 disabled:cursor-not-allowed ${SUBMIT_TONES[tone]}`}
    >
      {pending && <Spinner />}
      {pending ? pendingLabel : label}
    </button>
  );
}

export function Spinner({ className = "h-4 w-4" }: { className?: string }) {
  return (
    <svg className={`${className} animate-spin`} viewBox="0 0 24 24" fill="none" aria-hidden="true">
      <circle className="opacity-25" cx="12" cy="12" r="10" stroke="currentColor" strokeWidth="4" />
      <path className="opacity-75" fill="currentColor" d="M4 12a8 8 0 018-8v4a4 4 0 00-4 4H4z" />
    </svg>
  );
}

/**
 * A result the user is told about in a box of its own (an e-mail sent, a password reset): a status
 * region, so that screen readers announce it.
 */
export function SuccessNotice({ children }: { children: React.ReactNode }) {
  return (
    <div role="status" className="rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-800">
      {children}
    </div>
  );
}

/** Where a form's page sends the user on (the sign-in page, a new reset link). */
export const textLinkClass = "font-medium text-indigo-700 underline-offset-2 hover:underline";

/** A page's placeholder while what it shows is on its way. */
export function PageSpinner({ label }: { label: string }) {
  return (
    <div className="flex items-center justify-center gap-2 py-16 text-slate-600" aria-busy="true">
      <Spinner />
      <span>{label}</span>
    </div>
  );
}

export function Card({
  title,
  subtitle,
  children,
  headingRef,
}: {
  title: string;
  subtitle?: React.ReactNode;
  children: React.ReactNode;
  /** For a card that replaces another on the same page: focus goes to its heading. */
  headingRef?: React.Ref<HTMLHeadingElement>;
}) {
  return (
    <div className="mx-auto w-full max-w-md">
      <div className="rounded-2xl border border-slate-200 bg-white px-5 py-8 shadow-sm sm:px-8">
        <h1
          ref={headingRef}
          tabIndex={headingRef ? -1 : undefined}
          className="text-2xl font-semibold tracking-tight text-slate-900 focus:outline-none"
        >
          {title}
        </h1>
        {subtitle && <p className="mt-1 text-sm text-slate-600">{subtitle}</p>}
        <div className="mt-6">{children}</div>
      </div>
    </div>
  );
}
