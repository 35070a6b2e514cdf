"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { Card, Field, FormAlert, SubmitButton, textLinkClass } from "./form";
import { ResendVerificationForm } from "./resend-verification-form";
import { useSession } from "./session";
import { useFormSubmit } from "./use-form-submit";
import { isEmailNotVerified } from "@/lib/errors";
import { safeNextPath } from "@/lib/next-path";

type LoginField = "username" | "password";
const FIELD_MAP: Record<string, LoginField> = { username: "username", password: "password" };
const FIELD_ORDER: readonly LoginField[] = ["username", "password"];

export function LoginForm() {
  const router = useRouter();
  const { status, signIn } = useSession();
  const [values, setValues] = useState({ username: "", password: "" });
  // The password was right but the address is not verified yet: offer a new link.
  const [unverified, setUnverified] = useState(false);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  useEffect(() => {
    // Signed in (just now, or already when the page opened): go where the user was heading.
    if (status === "signed-in") router.replace(safeNextPath(window.location.search, window.location.origin));
  }, [status, router]);

  const onChange = (e: React.ChangeEvent<HTMLInputElement>) =>
    setValues((v) => ({ ...v, [e.target.name]: e.target.value }));

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    void submit(async () => {
      try {
        await signIn(values.username, values.password);
      } catch (error) {
        setUnverified(isEmailNotVerified(error));
        throw error;
      }
    });
  };

  return (
    <Card
      title="Sign in"
      subtitle={
        <>
          New here?{" "}
          <Link href="/register" className={textLinkClass}>
            Create an account
          </Link>
        </>
      }
    >
      <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Sign in">
        <FormAlert ref={alertRef} messages={errors.general} />
        <Field
          name="username"
          label="Username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={values.username}
          onChange={onChange}
          errors={errors.fields.username}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={values.password}
          onChange={onChange}
          errors={errors.fields.password}
        />
        <p className="-mt-2 text-right text-sm">
          <Link href="/forgot-password" className={textLinkClass}>
            Forgot password?
          </Link>
        </p>
        <SubmitButton pending={pending} label="Sign in" pendingLabel="Signing in…" />
      </form>
      {unverified && (
        <section aria-labelledby="resend-heading" className="mt-8 border-t border-slate-200 pt-6">
          <h2 id="resend-heading" className="text-base font-semibold text-slate-900">
            Verify your e-mail address
          </h2>
          <p className="mb-4 mt-1 text-sm text-slate-600">
            Follow the link in the e-mail we sent when you registered, then sign in. Lost it, or has it expired? Get a
            new one.
          </p>
          <ResendVerificationForm />
        </section>
      )}
    </Card>
  );
}
