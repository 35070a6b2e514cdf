"use client";

import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { ChangePasswordSection } from "./change-password-section";
import { DeleteAccountSection } from "./delete-account-section";
import { Field, FormAlert, Spinner, SubmitButton } from "./form";
import { SessionsSection } from "./sessions-section";
import { useSession } from "./session";
import { useFormSubmit } from "./use-form-submit";
import { deleteAccount, updateProfile, type Profile } from "@/lib/api";

/** Where the page goes once the account is deleted: home, which then says so. */
export const ACCOUNT_DELETED_PATH = "/?account=deleted";

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
  /** A new address that takes effect only once verified (the API answered the old one). */
  const [pendingEmail, setPendingEmail] = useState<string | null>(null);
  const { pending, errors, submit, alertRef, formRef } = useFormSubmit(FIELD_MAP, FIELD_ORDER);

  const onChange = (e: React.ChangeEvent<HTMLInputElement>) => {
    setSaved(false);
    setPendingEmail(null);
    setValues((v) => ({ ...v, [e.target.name]: e.target.value }));
  };

  const onSubmit = (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSaved(false);
    setPendingEmail(null);
    void submit(async () => {
      const typedEmail = values.email.trim();
      const updated = await updateProfile({
        user: { email: values.email, first_name: values.first_name, last_name: values.last_name },
        phone: values.phone,
      });
      // The API trims white space: show what it stored.
      setValues(valuesOf(updated));
      setSaved(true);
      // With verification on, the address stays the old one until the link in the mail is followed.
      if (updated.user.email.toLowerCase() !== typedEmail.toLowerCase()) setPendingEmail(typedEmail);
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
        {pendingEmail && (
          <p className="mt-1 font-normal text-slate-700">
            We sent a link to <strong className="font-semibold break-all">{pendingEmail}</strong>; the change takes
            effect once you follow it.
          </p>
        )}
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
  // Where to go when the session ends: set before the account is deleted, so that the end of the
  // session it causes does not send the user to sign in as an expired one would.
  const [leavingFor, setLeavingFor] = useState<string | null>(null);
  // Bumped when a password change has ended the other sessions: the devices list reloads.
  const [devicesVersion, setDevicesVersion] = useState(0);

  useEffect(() => {
    if (status === "signed-out") router.replace(leavingFor ?? "/login?next=/profile");
  }, [status, router, leavingFor]);

  const onDelete = useCallback(async (password: string) => {
    setLeavingFor(ACCOUNT_DELETED_PATH);
    try {
      await deleteAccount(password);
    } catch (error) {
      setLeavingFor(null);
      throw error;
    }
  }, []);
  const onPasswordChanged = useCallback(() => setDevicesVersion((n) => n + 1), []);

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
        <span>
          {status !== "signed-out"
            ? "Loading your profile…"
            : leavingFor
              ? "Your account has been deleted. Leaving…"
              : "Redirecting to sign in…"}
        </span>
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
      <ChangePasswordSection onChanged={onPasswordChanged} />
      <SessionsSection refreshKey={devicesVersion} />
      <DeleteAccountSection onDelete={onDelete} />
    </div>
  );
}
