/**
 * The client for auth-server's API (see shared/API.md), and the one place the session lives.
 *
 * - The access token is kept in this module's memory only: never in localStorage, sessionStorage
 *   or a cookie readable by scripts. A reload loses it, and the app gets a new one from the refresh
 *   token.
 * - The refresh token is an HttpOnly cookie (`Path=/api/auth; SameSite=Strict`) that auth-server
 *   sets on login and register when its refresh cookie is enabled. This code never sees it: it
 *   posts an empty body to /api/auth/refresh and the browser adds the cookie. The refresh token
 *   in the login and register bodies is ignored on purpose.
 * - All calls go to relative /api/* URLs: Next.js proxies them to the API (next.config.ts), so the
 *   cookie is first-party and the app stays exportable as static files behind any reverse proxy.
 */
import { decodeJwt } from "./jwt";
import { ApiError, NetworkError } from "./errors";

export { ApiError, NetworkError } from "./errors";

export interface User {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
}

export interface Profile {
  id: number;
  user: User;
  phone: string;
  created_at: string;
  updated_at: string;
}

export interface ProfileUpdate {
  user?: Partial<Pick<User, "email" | "first_name" | "last_name">>;
  phone?: string;
}

export interface RegisterInput {
  username: string;
  email: string;
  password: string;
  password2: string;
  first_name: string;
  last_name: string;
  phone: string;
}

/** One of the user's live sessions, as GET /api/auth/sessions lists it (most recently used first). */
export interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip_address: string | null;
  user_agent: string | null;
  /** The session of the access token that asked. */
  current: boolean;
}

export interface SessionSnapshot {
  /** The current access token, or null when signed out. */
  accessToken: string | null;
  /** The user id from the access token (a string, as in the token). */
  userId: string | null;
  /** False until the first attempt to restore the session from the refresh cookie has finished. */
  ready: boolean;
}

/** What login, register and (with rotation) refresh answer; `refresh` is never kept. */
interface TokenPair {
  access: string;
  refresh?: string;
}

/** The `{"detail": "..."}` that the password and e-mail endpoints answer on success. */
interface Detail {
  detail: string;
}

/**
 * What registration led to: signed in (the API answered tokens), or, with
 * `ACCOUNT_EMAIL_VERIFICATION=mandatory`, an account that waits for its e-mail address to be
 * verified (`{"detail":"Verification e-mail sent."}`, no tokens): not signed in.
 */
export type RegisterOutcome = { signedIn: true } | { signedIn: false; detail: string };

export interface PasswordChange {
  old_password: string;
  new_password1: string;
  new_password2: string;
}

export interface PasswordResetConfirm {
  uid: string;
  token: string;
  new_password1: string;
  new_password2: string;
}

const JSON_HEADERS = { Accept: "application/json", "Content-Type": "application/json" } as const;
/** Refresh this long before the access token expires (at most; a fifth of its lifetime if shorter). */
const REFRESH_MARGIN_MS = 30_000;
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2_147_483_647;

let snapshot: SessionSnapshot = { accessToken: null, userId: null, ready: false };
const SERVER_SNAPSHOT: SessionSnapshot = Object.freeze({ accessToken: null, userId: null, ready: false });
/** When the access token expires, on this browser's clock (corrected for clock skew), in ms. */
let expiresAtMs: number | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let refreshInFlight: Promise<boolean> | null = null;
let restoreInFlight: Promise<boolean> | null = null;
/** Bumped on every sign-in and sign-out, so a refresh that started before it cannot undo it. */
let epoch = 0;
const listeners = new Set<() => void>();

function emit(next: SessionSnapshot) {
  snapshot = next;
  for (const listener of listeners) listener();
}

/** For React's useSyncExternalStore. */
export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function getSnapshot(): SessionSnapshot {
  return snapshot;
}

export function getServerSnapshot(): SessionSnapshot {
  return SERVER_SNAPSHOT;
}

export function getAccessToken(): string | null {
  return snapshot.accessToken;
}

function clearRefreshTimer() {
  if (refreshTimer !== null) {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }
}

/** Keeps a new access token (or forgets it, with null) and plans its proactive refresh. */
export function setAccessToken(token: string | null, opts: { ready?: boolean } = {}): void {
  clearRefreshTimer();
  expiresAtMs = null;
  let userId: string | null = null;
  if (token) {
    const claims = decodeJwt(token);
    userId = claims?.user_id != null ? String(claims.user_id) : null;
    if (typeof claims?.exp === "number") {
      // exp is on the server's clock; iat tells how far this browser's clock is from it.
      const now = Date.now();
      const skewMs = typeof claims.iat === "number" ? now - claims.iat * 1000 : 0;
      expiresAtMs = claims.exp * 1000 + skewMs;
      const lifetimeMs = typeof claims.iat === "number" ? (claims.exp - claims.iat) * 1000 : REFRESH_MARGIN_MS * 5;
      const margin = Math.min(REFRESH_MARGIN_MS, Math.max(lifetimeMs / 5, 0));
      const delay = Math.min(Math.max(expiresAtMs - margin - now, 0), MAX_TIMER_MS);
      if (typeof window !== "undefined") {
        refreshTimer = setTimeout(() => {
          refreshTimer = null;
          // A failure here is not fatal: the next API call refreshes again or reports it.
          refreshSession().catch(() => undefined);
        }, delay);
      }
    }
  }
  emit({ accessToken: token, userId, ready: opts.ready ?? snapshot.ready });
}

function isExpiringSoon(): boolean {
  return expiresAtMs !== null && Date.now() >= expiresAtMs - 1000;
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204 || res.status === 205) return null;
  const text = await res.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function rawFetch(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { credentials: "same-origin", cache: "no-store", ...init });
  } catch {
    throw new NetworkError();
  }
}

async function doRefresh(): Promise<boolean> {
  const startedAt = epoch;
  // An empty object: the refresh token travels in the HttpOnly cookie, never through this code.
  const res = await rawFetch("/api/auth/refresh", { method: "POST", headers: JSON_HEADERS, body: "{}" });
  const body = await readBody(res);
  if (startedAt !== epoch) {
    // Signed in or out meanwhile: this answer is about a session that no longer applies.
    return snapshot.accessToken !== null;
  }
  if (res.ok && body && typeof body === "object" && typeof (body as { access?: unknown }).access === "string") {
    // With ROTATE_REFRESH_TOKENS the answer also has a new `refresh` (and the API set it as the new
    // cookie): it is ignored like the one from login, the cookie is all this code relies on.
    setAccessToken((body as TokenPair).access);
    return true;
  }
  if (res.status === 400 || res.status === 401) {
    // No cookie, or an expired, blacklisted or otherwise refused refresh token: signed out.
    setAccessToken(null);
    return false;
  }
  throw new ApiError(res.status, body);
}

/**
 * Gets a new access token from the refresh cookie. Every caller while one is in flight shares it,
 * so parallel 401s cause one refresh. Resolves true when a new access token was obtained, false
 * when the session is over; rejects on network or server errors (the session is kept).
 */
export function refreshSession(): Promise<boolean> {
  if (!refreshInFlight) {
    refreshInFlight = doRefresh().finally(() => {
      refreshInFlight = null;
    });
  }
  return refreshInFlight;
}

/**
 * Restores the session after a page load, once: the first call refreshes from the cookie and marks
 * the session ready whatever the outcome; later calls get the same promise.
 */
export function restoreSession(): Promise<boolean> {
  if (!restoreInFlight) {
    restoreInFlight = refreshSession()
      .catch(() => false)
      .then((ok) => {
        if (!snapshot.ready) emit({ ...snapshot, ready: true });
        return ok;
      });
  }
  return restoreInFlight;
}

interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  /** Send the access token, and refresh it and retry once if the API answers 401. */
  auth?: boolean;
}

function send(path: string, method: string, body: unknown, auth: boolean): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = snapshot.accessToken;
  // Never on the open endpoints: the API answers 401 to a stale token even there.
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  return rawFetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Calls the API; resolves with the parsed body or rejects with ApiError / NetworkError. */
export async function request<T>(path: string, { method = "GET", body, auth = false }: RequestOptions = {}): Promise<T> {
  if (auth && snapshot.accessToken && isExpiringSoon()) {
    // The timer may not have fired (a sleeping laptop, a throttled tab): refresh first.
    await refreshSession().catch(() => undefined);
  }
  let res = await send(path, method, body, auth);
  if (auth && res.status === 401) {
    const refreshed = await refreshSession();
    if (refreshed) {
      res = await send(path, method, body, auth);
      if (res.status === 401) setAccessToken(null);
    }
  }
  const data = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, data);
  return data as T;
}

/**
 * Lets a refresh already in flight land first. With rotation its answer sets a new cookie; landing
 * after a login's it would put the old session's refresh token back in place of the new one.
 */
async function settleRefresh(): Promise<void> {
  if (refreshInFlight) await refreshInFlight.catch(() => undefined);
}

function acceptTokens(tokens: TokenPair) {
  epoch += 1;
  // tokens.refresh is deliberately dropped: the API also set it as an HttpOnly cookie.
  setAccessToken(tokens.access, { ready: true });
}

export async function login(username: string, password: string): Promise<void> {
  await settleRefresh();
  const tokens = await request<TokenPair>("/api/auth/login", { method: "POST", body: { username, password } });
  acceptTokens(tokens);
}

function isTokenPair(body: unknown): body is TokenPair {
  return !!body && typeof body === "object" && typeof (body as { access?: unknown }).access === "string";
}

function detailOf(body: unknown, fallback: string): string {
  const detail = body && typeof body === "object" ? (body as { detail?: unknown }).detail : undefined;
  return typeof detail === "string" ? detail : fallback;
}

export async function register(input: RegisterInput): Promise<RegisterOutcome> {
  const { phone, ...rest } = input;
  await settleRefresh();
  const body = await request<TokenPair | Detail | null>("/api/auth/register", {
    method: "POST",
    body: { ...rest, profile: { phone } },
  });
  if (isTokenPair(body)) {
    acceptTokens(body);
    return { signedIn: true };
  }
  // Verification is mandatory: the account exists but has no session until its address is verified.
  return { signedIn: false, detail: detailOf(body, "Verification e-mail sent.") };
}

/** Forgets the session in this tab: what sign-out does once the API has answered (or not). */
function forgetSession() {
  epoch += 1;
  setAccessToken(null, { ready: true });
}

/**
 * Ends the session: the API blacklists the refresh token and clears its cookie. The access token is
 * forgotten here whatever the API answered; resolves false when the API could not confirm.
 */
export async function logout(): Promise<boolean> {
  try {
    await request<null>("/api/auth/logout", { method: "POST", body: {}, auth: true });
    return true;
  } catch {
    return false;
  } finally {
    forgetSession();
  }
}

/** The user's live sessions (the devices signed in), most recently used first. */
export function listSessions(): Promise<SessionInfo[]> {
  return request<SessionInfo[]>("/api/auth/sessions", { auth: true });
}

/** Ends one session (another device): 204, and its tokens stop working at once. */
export async function revokeSession(id: string): Promise<void> {
  await request<null>(`/api/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE", auth: true });
}

/**
 * Ends every other session of the user and keeps this one: logout with `scope: "others"` (205).
 * Like logout, the refresh token is the cookie's, so the body has no `refresh`; unlike it, this
 * session and its access token stay as they are.
 */
export async function logoutOthers(): Promise<void> {
  await request<null>("/api/auth/logout", { method: "POST", body: { scope: "others" }, auth: true });
}

export function getProfile(): Promise<Profile> {
  return request<Profile>("/api/auth/profile", { auth: true });
}

export function updateProfile(update: ProfileUpdate): Promise<Profile> {
  return request<Profile>("/api/auth/profile", { method: "PATCH", body: update, auth: true });
}

/**
 * Changes the signed-in user's password. The API ends every other session of the user; this one
 * goes on. Resolves with the API's words ("New password has been saved.").
 */
export async function changePassword(change: PasswordChange): Promise<string> {
  const body = await request<Detail>("/api/auth/password/change", { method: "POST", body: change, auth: true });
  return detailOf(body, "New password has been saved.");
}

/**
 * Asks for a password-reset e-mail. The API answers the same whether or not an account has that
 * address, so the answer says nothing about the account.
 */
export async function requestPasswordReset(email: string): Promise<string> {
  const body = await request<Detail>("/api/auth/password/reset", { method: "POST", body: { email } });
  return detailOf(body, "Password reset e-mail has been sent.");
}

/** Sets a new password with the uid and token of a reset link; every session of the user ends. */
export async function confirmPasswordReset(input: PasswordResetConfirm): Promise<string> {
  const body = await request<Detail>("/api/auth/password/reset/confirm", { method: "POST", body: input });
  return detailOf(body, "Password has been reset with the new password.");
}

/** Verifies an e-mail address with the key of its link: 200, or 404 for a bad, used or expired key. */
export async function verifyEmail(key: string): Promise<void> {
  await request<Detail>("/api/auth/email/verify", { method: "POST", body: { key } });
}

/** Sends a new verification link if that address needs one; the API answers 200 either way. */
export async function resendVerification(email: string): Promise<void> {
  await request<Detail>("/api/auth/email/resend", { method: "POST", body: { email } });
}

/**
 * Deletes the signed-in user's account (204): the user, its profile and its sessions are gone.
 * The session in this tab is then forgotten as sign-out forgets it; there is nothing left to log
 * out of, and the refresh cookie the browser still holds is refused from now on.
 */
export async function deleteAccount(password: string): Promise<void> {
  await request<null>("/api/auth/account/delete", { method: "POST", body: { password }, auth: true });
  forgetSession();
}

/** Forgets everything; for tests. */
export function resetSessionForTests(): void {
  clearRefreshTimer();
  expiresAtMs = null;
  refreshInFlight = null;
  restoreInFlight = null;
  epoch = 0;
  snapshot = { accessToken: null, userId: null, ready: false };
  listeners.clear();
}
