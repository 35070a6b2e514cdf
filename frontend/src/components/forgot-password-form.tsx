"use client";

import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { Card, Field, FormAlert, SubmitButton, SuccessNotice, textLinkClass } from "./form";
import { useFormSubmit } from "./use-form-submit";
import { requestPasswordReset } from "@/lib/api";

type ForgotField = "email";
const FIELD_MAP: Record<string, ForgotField> = { email: "email" };
const FIELD_ORDER: readonly ForgotField[] = ["email"];

/** After the request: the API's words, and a hint that says nothing about whether the account exists. */
function ResetRequested({ detail, email, onAgain }: { detail: string; email: string; onAgain: () => void }) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  return (
    <Card title="Check your e-mail" headingRef={headingRef}>
      <div className="space-y-4">
        <SuccessNotice>{detail}</SuccessNotice>
        <p className="text-sm text-slate-700">
          If an account has the address <strong className="font-semibold break-all">{email}</strong>, a link to choose
          a new password arrives there shortly. It can be used once. Nothing there? Check your spam folder, or{" "}
          <button type="button" onClick={onAgain} className={`${textLinkClass} rounded focus-visible:outline-2 focus-visible:outline-indigo-600`}>
            try again
          </button>
          .
        </p>
        <p className="text-sm">
          <Link href="/login" className={textLinkClass}>
            Back to sign in
          </Link>
        </p>
      </div>
    </Card>
  );
}

export function ForgotPasswordForm() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<{ detail: string; email: string } | null>(null);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    void submit(async () => {
      const detail = await requestPasswordReset(email);
      setSent({ detail, email: email.trim() });
    });
  };

  if (sent) return <ResetRequested detail={sent.detail} email={sent.email} onAgain={() => setSent(null)} />;

  return (
    <Card
      title="Reset your password"
      subtitle={
        <>
          Enter the e-mail address of your account and we will send you a link to choose a new password.{" "}
          <Link href="/login" className={textLinkClass}>
            Back to sign in
          </Link>
        </>
      }
    >
      <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Reset your password">
        <FormAlert ref={alertRef} messages={errors.general} />
        <Field
          name="email"
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          errors={errors.fields.email}
        />
        <SubmitButton pending={pending} label="Send reset link" pendingLabel="Sending…" />
      </form>
    </Card>
  );
}
