"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { Card, Field, FormAlert, SubmitButton, SuccessNotice, textLinkClass } from "./form";
import { useFormSubmit } from "./use-form-submit";
import { confirmPasswordReset } from "@/lib/api";
import { ApiError } from "@/lib/errors";

type ResetField = "new_password1" | "new_password2";
const FIELD_MAP: Record<string, ResetField> = { new_password1: "new_password1", new_password2: "new_password2" };
const FIELD_ORDER: readonly ResetField[] = ["new_password1", "new_password2"];

export const INVALID_LINK = "This link is invalid or has expired.";

/** The API refuses the link itself (bad, used or expired): `{"token": [...]}` or `{"uid": [...]}`. */
function isBadLink(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 400) return false;
  const body = error.body;
  return !!body && typeof body === "object" && ("token" in body || "uid" in body);
}

/** The link cannot be used: say so, and where to get a new one. */
function InvalidLink({ focus }: { focus: boolean }) {
  const alertRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (focus) alertRef.current?.focus();
  }, [focus]);
  return (
    <Card title="Reset your password">
      <div className="space-y-4">
        <FormAlert ref={alertRef} messages={[INVALID_LINK]} />
        <p className="text-sm text-slate-700">
          A reset link works once, and only for a while.{" "}
          <Link href="/forgot-password" className={textLinkClass}>
            Ask for a new link
          </Link>
        </p>
      </div>
    </Card>
  );
}

function PasswordWasReset({ detail }: { detail: string }) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  return (
    <Card title="Password reset" headingRef={headingRef}>
      <div className="space-y-4">
        <SuccessNotice>{detail}</SuccessNotice>
        <p className="text-sm text-slate-700">
          Every device that was signed in has been signed out.{" "}
          <Link href="/login" className={textLinkClass}>
            Sign in
          </Link>{" "}
          with your new password.
        </p>
      </div>
    </Card>
  );
}

/** `/reset-password?uid=…&token=…`, the link of the password-reset e-mail. */
export function ResetPasswordForm() {
  const params = useSearchParams();
  const uid = params.get("uid") ?? "";
  const token = params.get("token") ?? "";
  const [values, setValues] = useState({ new_password1: "", new_password2: "" });
  const [outcome, setOutcome] = useState<{ done: string } | "bad-link" | null>(null);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  // Without both, the link was cut short: no point asking the API.
  if (!uid || !token) return <InvalidLink focus={false} />;
  if (outcome === "bad-link") return <InvalidLink focus />;
  if (outcome) return <PasswordWasReset detail={outcome.done} />;

  const onChange = (e: React.ChangeEvent<HTMLInputElement>) =>
    setValues((v) => ({ ...v, [e.target.name]: e.target.value }));

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    void submit(async () => {
      try {
        const detail = await confirmPasswordReset({ uid, token, ...values });
        setOutcome({ done: detail });
      } catch (error) {
        if (!isBadLink(error)) throw error;
        setOutcome("bad-link");
      }
    });
  };

  return (
    <Card title="Choose a new password">
      <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Choose a new password">
        <FormAlert ref={alertRef} messages={errors.general} />
        <Field
          name="new_password1"
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          value={values.new_password1}
          onChange={onChange}
          errors={errors.fields.new_password1}
          hint="At least 8 characters; not a common password, not only digits, not like your name or email."
        />
        <Field
          name="new_password2"
          label="Confirm new password"
          type="password"
          autoComplete="new-password"
          required
          value={values.new_password2}
          onChange={onChange}
          errors={errors.fields.new_password2}
        />
        <SubmitButton pending={pending} label="Reset password" pendingLabel="Resetting password…" />
      </form>
    </Card>
  );
}
