import type { Metadata } from "next";
import { Suspense } from "react";
import { PageSpinner } from "@/components/form";
import { ResetPasswordForm } from "@/components/reset-password-form";

export const metadata: Metadata = { title: "Choose a new password" };

export default function ResetPasswordPage() {
  // The uid and token are read in the browser (useSearchParams), so that a static export works too.
  return (
    <Suspense fallback={<PageSpinner label="Loading…" />}>
      <ResetPasswordForm />
    </Suspense>
  );
}
