"use client";

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import * as api from "@/lib/api";
import type { Profile, RegisterInput, RegisterOutcome } from "@/lib/api";

export type SessionStatus = "loading" | "signed-in" | "signed-out";

export interface SessionValue {
  status: SessionStatus;
  /** The signed-in user's profile; null while it loads or when signed out. */
  profile: Profile | null;
  /** Why the profile could not be loaded, if it could not. */
  profileError: string | null;
  signIn(username: string, password: string): Promise<void>;
  /** Signed in afterwards, unless the API first wants the e-mail address verified. */
  register(input: RegisterInput): Promise<RegisterOutcome>;
  signOut(): Promise<void>;
  /** Replaces the cached profile (after an update). */
  setProfile(profile: Profile): void;
  /** Loads the profile again from the API (one request at a time); resolves when done. */
  reloadProfile(): Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

interface ProfileState {
  userId: string;
  profile: Profile | null;
  error: string | null;
}

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const session = useSyncExternalStore(api.subscribe, api.getSnapshot, api.getServerSnapshot);
  const [profileState, setProfileState] = useState<ProfileState | null>(null);

  useEffect(() => {
    // After a reload the access token is gone: get one from the HttpOnly refresh cookie.
    void api.restoreSession();
  }, []);

  const userId = session.accessToken ? session.userId ?? "" : null;
  const loading = useRef<{ userId: string; promise: Promise<void> } | null>(null);

  const loadProfile = useCallback((forUser: string): Promise<void> => {
    if (loading.current?.userId === forUser) return loading.current.promise;
    const promise = api
      .getProfile()
      .then(
        (profile) => setProfileState({ userId: forUser, profile, error: null }),
        (error: unknown) => {
          const message = error instanceof Error ? error.message : "Could not load your profile.";
          setProfileState((prev) =>
            // Keep showing a profile we already have; report the error only when there is none.
            prev?.userId === forUser && prev.profile ? prev : { userId: forUser, profile: null, error: message },
          );
        },
      )
      .finally(() => {
        if (loading.current?.promise === promise) loading.current = null;
      });
    loading.current = { userId: forUser, promise };
    return promise;
  }, []);

  useEffect(() => {
    // Whenever someone signs in, learn who it is (the token only has the user id).
    if (userId !== null) void loadProfile(userId);
  }, [userId, loadProfile]);

  const reloadProfile = useCallback(
    () => (userId === null ? Promise.resolve() : loadProfile(userId)),
    [userId, loadProfile],
  );

  const status: SessionStatus = session.accessToken ? "signed-in" : session.ready ? "signed-out" : "loading";
  // A profile cached for another user (or for a session that ended) is never shown.
  const current = userId !== null && profileState?.userId === userId ? profileState : null;

  const setProfile = useCallback(
    (profile: Profile) => {
      if (userId !== null) setProfileState({ userId, profile, error: null });
    },
    [userId],
  );

  const value = useMemo<SessionValue>(
    () => ({
      status,
      profile: current?.profile ?? null,
      profileError: current?.error ?? null,
      signIn: api.login,
      register: api.register,
      signOut: async () => {
        await api.logout();
      },
      setProfile,
      reloadProfile,
    }),
    [status, current, setProfile, reloadProfile],
  );

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession must be used inside <SessionProvider>");
  return value;
}
