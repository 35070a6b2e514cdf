"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { Card, Field, FormAlert, SubmitButton } from "./form";
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

export function RegisterForm() {
  const router = useRouter();
  const { status, register } = useSession();
  const [values, setValues] = useState(EMPTY);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  useEffect(() => {
    if (status === "signed-in") router.replace("/");
  }, [status, router]);

  const onChange = (e: React.ChangeEvent<HTMLInputElement>) =>
    setValues((v) => ({ ...v, [e.target.name]: e.target.value }));

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    void submit(() => register(values));
  };

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
          <Link href="/login" className="font-medium text-indigo-700 underline-offset-2 hover:underline">
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
