import type { Metadata } from "next";
import { Suspense } from "react";
import { PageSpinner } from "@/components/form";
import { VerifyEmailView } from "@/components/verify-email-view";

export const metadata: Metadata = { title: "Verify your e-mail address" };

export default function VerifyEmailPage() {
  // The key is read in the browser (useSearchParams), so that a static export works too.
  return (
    <Suspense fallback={<PageSpinner label="Verifying your e-mail address…" />}>
      <VerifyEmailView />
    </Suspense>
  );
}
