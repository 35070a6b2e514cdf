"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { Field, FormAlert, Spinner, SubmitButton } from "./form";
import { SessionsSection } from "./sessions-section";
import { useSession } from "./session";
import { useFormSubmit } from "./use-form-submit";
import { updateProfile, type Profile } from "@/lib/api";

type ProfileField = "email" | "first_name" | "last_name" | "phone";
const FIELD_ORDER: readonly ProfileField[] = ["email", "first_name", "last_name", "phone"];
const FIELD_MAP: Record<string, ProfileField> = {
  "user.email": "email",
  "user.first_name": "first_name",
  "user.last_name": "last_name",
  phone: "phone",
};

function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" }).format(date);
}

function valuesOf(profile: Profile): Record<ProfileField, string> {
  return {
    email: profile.user.email,
    first_name: profile.user.first_name,
    last_name: profile.user.last_name,
    phone: profile.phone,
  };
}

export function ProfileForm({ profile, onSaved }: { profile: Profile; onSaved: (profile: Profile) => void }) {
  const [values, setValues] = useState(() => valuesOf(profile));
  const [saved, setSaved] = useState(false);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  const onChange = (e: React.ChangeEvent<HTMLInputElement>) => {
    setSaved(false);
    setValues((v) => ({ ...v, [e.target.name]: e.target.value }));
  };

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSaved(false);
    void submit(async () => {
      const updated = await updateProfile({
        user: { email: values.email, first_name: values.first_name, last_name: values.last_name },
        phone: values.phone,
      });
      // The API trims white space: show what it stored.
      setValues(valuesOf(updated));
      setSaved(true);
      onSaved(updated);
    });
  };

  const field = (name: ProfileField) => ({ name, value: values[name], onChange, errors: errors.fields[name] });

  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Edit profile">
      <FormAlert ref={alertRef} messages={errors.general} />
      <Field {...field("email")} label="Email" type="email" autoComplete="email" required />
      <div className="grid grid-cols-1 gap-5 sm:grid-cols-2">
        <Field {...field("first_name")} label="First name" autoComplete="given-name" />
        <Field {...field("last_name")} label="Last name" autoComplete="family-name" />
      </div>
      <Field {...field("phone")} label="Phone" type="tel" autoComplete="tel" inputMode="tel" />
      <div role="status" className="min-h-5 text-sm font-medium text-emerald-700">
        {saved && "Profile saved."}
      </div>
      <SubmitButton pending={pending} label="Save changes" pendingLabel="Saving…" />
    </form>
  );
}

export function ProfileView() {
  const router = useRouter();
  const { status, profile, profileError, setProfile, reloadProfile } = useSession();
  // The profile is loaded afresh each time the page opens (it may have changed elsewhere).
  const [fresh, setFresh] = useState(false);

  useEffect(() => {
    if (status === "signed-out") router.replace("/login?next=/profile");
  }, [status, router]);

  useEffect(() => {
    if (status !== "signed-in") return;
    let cancelled = false;
    void reloadProfile().then(() => {
      if (!cancelled) setFresh(true);
    });
    return () => {
      cancelled = true;
    };
  }, [status, reloadProfile]);

  if (status !== "signed-in" || !fresh || (!profile && !profileError)) {
    return (
      <div className="flex items-center justify-center gap-2 py-16 text-slate-600" aria-busy="true">
        <Spinner />
        <span>{status === "signed-out" ? "Redirecting to sign in…" : "Loading your profile…"}</span>
      </div>
    );
  }

  if (!profile) {
    return (
      <div className="mx-auto max-w-2xl">
        <FormAlert messages={[profileError ?? "Could not load your profile."]} />
      </div>
    );
  }

  return (
    <div className="mx-auto w-full max-w-2xl space-y-6">
      <div className="rounded-2xl border border-slate-200 bg-white px-5 py-6 shadow-sm sm:px-8">
        <div className="flex items-center gap-4">
          <div
            aria-hidden="true"
            className="flex h-12 w-12 shrink-0 items-center justify-center rounded-full bg-indigo-100 text-lg font-semibold text-indigo-700"
          >
            {profile.user.username.charAt(0).toUpperCase()}
          </div>
          <div className="min-w-0">
            <h1 className="truncate text-2xl font-semibold tracking-tight text-slate-900">Your profile</h1>
            <p className="truncate text-sm text-slate-600">
              Signed in as <strong className="font-semibold text-slate-900">{profile.user.username}</strong>
            </p>
          </div>
        </div>
        <dl className="mt-6 grid grid-cols-1 gap-4 text-sm sm:grid-cols-3">
          <div>
            <dt className="text-slate-500">Username</dt>
            <dd className="font-medium text-slate-900 break-all">{profile.user.username}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Member since</dt>
            <dd className="font-medium text-slate-900">
              <time dateTime={profile.created_at}>{formatDate(profile.created_at)}</time>
            </dd>
          </div>
          <div>
            <dt className="text-slate-500">Last updated</dt>
            <dd className="font-medium text-slate-900">
              <time dateTime={profile.updated_at}>{formatDate(profile.updated_at)}</time>
            </dd>
          </div>
        </dl>
      </div>
      <section
        aria-labelledby="edit-profile-heading"
        className="rounded-2xl border border-slate-200 bg-white px-5 py-6 shadow-sm sm:px-8"
      >
        <h2 id="edit-profile-heading" className="text-lg font-semibold text-slate-900">
          Edit details
        </h2>
        <p className="mb-5 mt-1 text-sm text-slate-600">Your username cannot be changed.</p>
        <ProfileForm key={profile.id} profile={profile} onSaved={setProfile} />
      </section>
      <SessionsSection />
    </div>
  );
}
