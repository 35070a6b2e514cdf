"use client";

import { useState } from "react";
import { Field, FormAlert, SubmitButton } from "./form";
import { useFormSubmit } from "./use-form-submit";
import { resendVerification } from "@/lib/api";

type ResendField = "email";
const FIELD_MAP: Record<string, ResendField> = { email: "email" };
const FIELD_ORDER: readonly ResendField[] = ["email"];

/** What the page says after a resend; the API answers the same whether or not a mail goes out. */
export const RESEND_SENT = "If that address needs verifying, a new link is on its way.";

/**
 * Asks for a new verification link. Used where a link was lost or has expired: after registering
 * with verification mandatory, on a sign-in refused for an unverified address, on a bad link.
 */
export function ResendVerificationForm({ defaultEmail = "" }: { defaultEmail?: string }) {
  const [email, setEmail] = useState(defaultEmail);
  const [sent, setSent] = useState(false);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSent(false);
    void submit(async () => {
      await resendVerification(email);
      setSent(true);
    });
  };

  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-4" aria-label="Send a new verification link">
      <FormAlert ref={alertRef} messages={errors.general} />
      <Field
        name="email"
        label="Email"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(e) => {
          setSent(false);
          setEmail(e.target.value);
        }}
        errors={errors.fields.email}
      />
      <div role="status" className="min-h-5 text-sm font-medium text-emerald-700">
        {sent && RESEND_SENT}
      </div>
      <SubmitButton pending={pending} label="Send a new link" pendingLabel="Sending…" />
    </form>
  );
}
