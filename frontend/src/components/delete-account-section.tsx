"use client";

import { useEffect, useRef, useState } from "react";
import { Field, FormAlert, SubmitButton } from "./form";
import { useFormSubmit } from "./use-form-submit";
import { deleteAccount } from "@/lib/api";

type DeleteField = "password";
const FIELD_MAP: Record<string, DeleteField> = { password: "password" };
const FIELD_ORDER: readonly DeleteField[] = ["password"];

const outlineButton =
  "inline-flex w-full items-center justify-center rounded-lg border bg-white px-4 py-2.5 text-sm font-semibold shadow-sm transition " +
  "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:cursor-not-allowed disabled:opacity-60";

type DeleteAction = (password: string) => Promise<void>;

/** The second step: the password, then the deletion. Cancelling unmounts it, errors and all. */
function ConfirmDeletion({ onDelete, onCancel }: { onDelete: DeleteAction; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);
  const passwordRef = useRef<HTMLInputElement>(null);
  useEffect(() => passwordRef.current?.focus(), []);

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    void submit(() => onDelete(password));
  };

  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Delete account">
      <FormAlert ref={alertRef} messages={errors.general} />
      <Field
        ref={passwordRef}
        name="password"
        label="Password"
        type="password"
        autoComplete="current-password"
        required
        hint="Enter your password to confirm that you want to delete your account."
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        errors={errors.fields.password}
      />
      <div className="flex flex-col gap-3 sm:flex-row-reverse">
        <SubmitButton pending={pending} label="Delete my account" pendingLabel="Deleting account…" tone="danger" />
        <button
          type="button"
          disabled={pending}
          onClick={onCancel}
          className={`${outlineButton} border-slate-300 text-slate-800 hover:bg-slate-50`}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

/**
 * "Delete account" on the profile page, in two steps: a button that asks, then the password to
 * confirm. `onDelete` performs the deletion (by default the API call, which also forgets the
 * session here as sign-out does); the page decides where to go next.
 */
export function DeleteAccountSection({ onDelete = deleteAccount }: { onDelete?: DeleteAction }) {
  const [confirming, setConfirming] = useState(false);
  const openRef = useRef<HTMLButtonElement>(null);
  const cancelled = useRef(false);

  useEffect(() => {
    // Back from the second step: focus returns to the button that opened it.
    if (!confirming && cancelled.current) openRef.current?.focus();
  }, [confirming]);

  return (
    <section
      aria-labelledby="delete-account-heading"
      className="rounded-2xl border border-red-200 bg-white px-5 py-6 shadow-sm sm:px-8"
    >
      <h2 id="delete-account-heading" className="text-lg font-semibold text-slate-900">
        Delete account
      </h2>
      <p className="mb-5 mt-1 text-sm text-slate-600">
        Your account, your profile and every signed-in device are removed for good. This cannot be undone.
      </p>
      {confirming ? (
        <ConfirmDeletion
          onDelete={onDelete}
          onCancel={() => {
            cancelled.current = true;
            setConfirming(false);
          }}
        />
      ) : (
        <button
          ref={openRef}
          type="button"
          onClick={() => setConfirming(true)}
          className={`${outlineButton} border-red-300 text-red-700 hover:bg-red-50 sm:w-auto`}
        >
          Delete account…
        </button>
      )}
    </section>
  );
}
