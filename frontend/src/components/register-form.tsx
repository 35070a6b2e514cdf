"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { Card, Field, FormAlert, SubmitButton, SuccessNotice, textLinkClass } from "./form";
import { ResendVerificationForm } from "./resend-verification-form";
import { useSession } from "./session";
import { useFormSubmit } from "./use-form-submit";

type RegisterField = "username" | "email" | "password" | "password2" | "first_name" | "last_name" | "phone";
const FIELD_ORDER: readonly RegisterField[] = [
  "username",
  "email",
  "first_name",
  "last_name",
  "phone",
  "password",
  "password2",
];
const FIELD_MAP: Record<string, RegisterField> = {
  username: "username",
  email: "email",
  password: "password",
  password2: "password2",
  first_name: "first_name",
  last_name: "last_name",
  phone: "phone",
  "profile.phone": "phone",
};

const EMPTY = { username: "", email: "", password: "", password2: "", first_name: "", last_name: "", phone: "" };

/**
 * After registering when verification is mandatory: the account exists, but there is no session
 * until the address is verified.
 */
function CheckYourEmail({ detail, email }: { detail: string; email: string }) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  return (
    <Card title="Check your e-mail" headingRef={headingRef}>
      <div className="space-y-4">
        <SuccessNotice>{detail}</SuccessNotice>
        <p className="text-sm text-slate-700">
          We sent a link to <strong className="font-semibold break-all">{email}</strong>. Follow it to verify your
          address, then{" "}
          <Link href="/login" className={textLinkClass}>
            sign in
          </Link>
          .
        </p>
      </div>
      <section aria-labelledby="resend-heading" className="mt-8 border-t border-slate-200 pt-6">
        <h2 id="resend-heading" className="text-base font-semibold text-slate-900">
          No e-mail?
        </h2>
        <p className="mb-4 mt-1 text-sm text-slate-600">Check your spam folder, or get a new link.</p>
        <ResendVerificationForm defaultEmail={email} />
      </section>
    </Card>
  );
}

export function RegisterForm() {
  const router = useRouter();
  const { status, register } = useSession();
  const [values, setValues] = useState(EMPTY);
  const [verificationSent, setVerificationSent] = useState<{ detail: string; email: string } | null>(null);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  useEffect(() => {
    if (status === "signed-in") router.replace("/");
  }, [status, router]);

  const onChange = (e: React.ChangeEvent<HTMLInputElement>) =>
    setValues((v) => ({ ...v, [e.target.name]: e.target.value }));

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    void submit(async () => {
      const outcome = await register(values);
      if (!outcome.signedIn) setVerificationSent({ detail: outcome.detail, email: values.email.trim() });
    });
  };

  if (verificationSent) return <CheckYourEmail {...verificationSent} />;

  const field = (name: RegisterField) => ({
    name,
    value: values[name],
    onChange,
    errors: errors.fields[name],
  });

  return (
    <Card
      title="Create an account"
      subtitle={
        <>
          Already registered?{" "}
          <Link href="/login" className={textLinkClass}>
            Sign in
          </Link>
        </>
      }
    >
      <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Create an account">
        <FormAlert ref={alertRef} messages={errors.general} />
        <Field
          {...field("username")}
          label="Username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          hint="Up to 150 characters: letters, digits and @ . + - _"
        />
        <Field {...field("email")} label="Email" type="email" autoComplete="email" required />
        <div className="grid grid-cols-1 gap-5 sm:grid-cols-2">
          <Field {...field("first_name")} label="First name" autoComplete="given-name" />
          <Field {...field("last_name")} label="Last name" autoComplete="family-name" />
        </div>
        <Field {...field("phone")} label="Phone" type="tel" autoComplete="tel" inputMode="tel" />
        <Field
          {...field("password")}
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          hint="At least 8 characters; not a common password, not only digits, not like your name or email."
        />
        <Field {...field("password2")} label="Confirm password" type="password" autoComplete="new-password" required />
        <SubmitButton pending={pending} label="Create account" pendingLabel="Creating account…" />
      </form>
    </Card>
  );
}
