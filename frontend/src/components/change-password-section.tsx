"use client";

import { useState } from "react";
import { Field, FormAlert, SubmitButton } from "./form";
import { useFormSubmit } from "./use-form-submit";
import { changePassword } from "@/lib/api";

type PasswordField = "old_password" | "new_password1" | "new_password2";
const FIELD_ORDER: readonly PasswordField[] = ["old_password", "new_password1", "new_password2"];
const FIELD_MAP: Record<string, PasswordField> = {
  old_password: "old_password",
  new_password1: "new_password1",
  new_password2: "new_password2",
};
const EMPTY: Record<PasswordField, string> = { old_password: "", new_password1: "", new_password2: "" };

/**
 * "Change password" on the profile page. The API ends every other session of the user when the
 * password changes; `onChanged` lets the page bring its list of signed-in devices up to date.
 */
export function ChangePasswordSection({ onChanged }: { onChanged?: () => void }) {
  const [values, setValues] = useState(EMPTY);
  const [saved, setSaved] = useState("");
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  const onChange = (e: React.ChangeEvent<HTMLInputElement>) => {
    setSaved("");
    setValues((v) => ({ ...v, [e.target.name]: e.target.value }));
  };

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSaved("");
    void submit(async () => {
      const detail = await changePassword(values);
      setValues(EMPTY);
      setSaved(detail);
      onChanged?.();
    });
  };

  const field = (name: PasswordField) => ({
    name,
    value: values[name],
    onChange,
    errors: errors.fields[name],
    type: "password",
    required: true,
  });

  return (
    <section
      aria-labelledby="change-password-heading"
      className="rounded-2xl border border-slate-200 bg-white px-5 py-6 shadow-sm sm:px-8"
    >
      <h2 id="change-password-heading" className="text-lg font-semibold text-slate-900">
        Change password
      </h2>
      <p className="mb-5 mt-1 text-sm text-slate-600">Every other device signed in to your account is signed out.</p>
      <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Change password">
        <FormAlert ref={alertRef} messages={errors.general} />
        <Field {...field("old_password")} label="Current password" autoComplete="current-password" />
        <Field
          {...field("new_password1")}
          label="New password"
          autoComplete="new-password"
          hint="At least 8 characters; not a common password, not only digits, not like your name or email."
        />
        <Field {...field("new_password2")} label="Confirm new password" autoComplete="new-password" />
        <div role="status" className="min-h-5 text-sm font-medium text-emerald-700">
          {saved}
        </div>
        <SubmitButton pending={pending} label="Change password" pendingLabel="Changing password…" />
      </form>
    </section>
  );
}
