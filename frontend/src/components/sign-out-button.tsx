"use client";

import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { Spinner } from "./form";
import { useSession } from "./session";

export function SignOutButton({ className = "" }: { className?: string }) {
  const router = useRouter();
  const { signOut } = useSession();
  const [pending, setPending] = useState(false);
  const inFlight = useRef(false);

  const onClick = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setPending(true);
    try {
      await signOut();
    } finally {
      inFlight.current = false;
      setPending(false);
      router.replace("/login");
    }
  };

  return (
    <button
      type="button"
      onClick={onClick}
      disabled={pending}
      className={`inline-flex items-center gap-2 rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-sm transition hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:cursor-not-allowed disabled:opacity-60 ${className}`}
    >
      {pending && <Spinner className="h-3.5 w-3.5" />}
      {pending ? "Signing out…" : "Sign out"}
    </button>
  );
}
