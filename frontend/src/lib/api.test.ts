import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "./api";
import { ApiError, NetworkError } from "./errors";
import { accessToken, deferred, json, mockFetch } from "@/test/helpers";

const PROFILE = {
  id: 1,
  user: { id: 1, username: "alice", email: "alice@example.com", first_name: "Alice", last_name: "Liddell" },
  phone: "123",
  created_at: "2026-01-21T10:00:00.123456Z",
  updated_at: "2026-01-21T10:00:00.123456Z",
};

const unauthorized = () =>
  json(401, {
    detail: "Given token not valid for any token type",
    code: "token_not_valid",
    messages: [{ token_class: "AccessToken", token_type: "access", message: "Token is expired" }],
  });

let setItem: ReturnType<typeof vi.spyOn>;

beforeEach(() => {
  api.resetSessionForTests();
  localStorage.clear();
  sessionStorage.clear();
  setItem = vi.spyOn(Storage.prototype, "setItem");
});

afterEach(() => {
  // No test may ever put anything in web storage.
  expect(setItem).not.toHaveBeenCalled();
  expect(localStorage.length).toBe(0);
  expect(sessionStorage.length).toBe(0);
  vi.useRealTimers();
  api.resetSessionForTests();
});

describe("refresh on 401", () => {
  it("shares one refresh between parallel calls that both get 401", async () => {
    const oldToken = accessToken("1");
    const newToken = accessToken("1");
    api.setAccessToken(oldToken);
    const refreshAnswer = deferred<Response>();
    const fetch = mockFetch({
      "GET /api/auth/profile": ({ headers }) =>
        new Headers(headers).get("Authorization") === `Bearer ${newToken}` ? json(200, PROFILE) : unauthorized(),
      "POST /api/auth/refresh": () => refreshAnswer.promise,
    });

    const both = Promise.all([api.getProfile(), api.getProfile()]);
    // Let both requests fail with 401 and start waiting on the (single) refresh.
    await vi.waitFor(() => expect(fetch.callsTo("POST /api/auth/refresh")).toHaveLength(1));
    await vi.waitFor(() => expect(fetch.callsTo("GET /api/auth/profile")).toHaveLength(2));
    refreshAnswer.resolve(json(200, { access: newToken }));

    await expect(both).resolves.toEqual([PROFILE, PROFILE]);
    expect(fetch.callsTo("POST /api/auth/refresh")).toHaveLength(1);
    const profileCalls = fetch.callsTo("GET /api/auth/profile");
    expect(profileCalls).toHaveLength(4);
    expect(profileCalls.slice(2).map((c) => c.headers.authorization)).toEqual([
      `Bearer ${newToken}`,
      `Bearer ${newToken}`,
    ]);
    expect(api.getAccessToken()).toBe(newToken);
  });

  it("retries a call exactly once after refreshing, then gives up", async () => {
    api.setAccessToken(accessToken("1"));
    const fetch = mockFetch({
      "GET /api/auth/profile": unauthorized,
      "POST /api/auth/refresh": () => json(200, { access: accessToken("1") }),
    });

    const error = await api.getProfile().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(fetch.callsTo("GET /api/auth/profile")).toHaveLength(2);
    expect(fetch.callsTo("POST /api/auth/refresh")).toHaveLength(1);
    // A token the API refuses right after a refresh ends the session.
    expect(api.getAccessToken()).toBeNull();
  });

  it("does not retry when the refresh cookie is refused, and signs out", async () => {
    api.setAccessToken(accessToken("1"));
    const fetch = mockFetch({
      "GET /api/auth/profile": unauthorized,
      "POST /api/auth/refresh": () => json(401, { detail: "Token is blacklisted", code: "token_not_valid" }),
    });

    await expect(api.getProfile()).rejects.toMatchObject({ status: 401 });
    expect(fetch.callsTo("GET /api/auth/profile")).toHaveLength(1);
    expect(api.getSnapshot().accessToken).toBeNull();
  });

  it("refreshes with an empty JSON body and the same-origin cookie, never a token", async () => {
    const fetch = mockFetch({ "POST /api/auth/refresh": () => json(200, { access: accessToken("7") }) });

    await expect(api.refreshSession()).resolves.toBe(true);
    const [call] = fetch.calls;
    expect(call.body).toEqual({});
    expect(call.headers["content-type"]).toBe("application/json");
    expect(call.headers.authorization).toBeUndefined();
    expect(fetch.fn.mock.calls[0][1]).toMatchObject({ credentials: "same-origin" });
    expect(api.getSnapshot().userId).toBe("7");
  });

  it("does not retry calls that are not authenticated", async () => {
    const fetch = mockFetch({
      "POST /api/auth/login": () => json(401, { detail: "No active account found with the given credentials" }),
    });
    await expect(api.login("alice", "wrong")).rejects.toThrow("No active account found with the given credentials");
    expect(fetch.calls).toHaveLength(1);
  });
});

describe("proactive refresh", () => {
  it("refreshes shortly before the access token expires", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const fetch = mockFetch({ "POST /api/auth/refresh": () => json(200, { access: accessToken("1", 100) }) });
    api.setAccessToken(accessToken("1", 100));

    await vi.advanceTimersByTimeAsync(70_000);
    expect(fetch.calls).toHaveLength(0);
    // Refreshed at most 30 s (a fifth of the lifetime here: 20 s) before expiry.
    await vi.advanceTimersByTimeAsync(10_500);
    expect(fetch.callsTo("POST /api/auth/refresh")).toHaveLength(1);
  });

  it("refreshes before a call when the token has already expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const stale = accessToken("1", 60);
    const fresh = accessToken("1", 3600);
    api.setAccessToken(stale);
    vi.setSystemTime(Date.now() + 120_000);
    const fetch = mockFetch({
      "POST /api/auth/refresh": () => json(200, { access: fresh }),
      "GET /api/auth/profile": () => json(200, PROFILE),
    });

    await expect(api.getProfile()).resolves.toEqual(PROFILE);
    expect(fetch.calls.map((c) => `${c.method} ${c.url}`)).toEqual(["POST /api/auth/refresh", "GET /api/auth/profile"]);
    expect(fetch.calls[1].headers.authorization).toBe(`Bearer ${fresh}`);
  });
});

describe("tokens stay out of web storage", () => {
  it("keeps only the access token, in memory, after login", async () => {
    const access = accessToken("1");
    const refresh = "refresh.token.from-the-body";
    const fetch = mockFetch({ "POST /api/auth/login": () => json(200, { access, refresh }) });

    await api.login("alice", "correct-horse-9");

    expect(fetch.calls[0].body).toEqual({ username: "alice", password: "correct-horse-9" });
    expect(fetch.calls[0].headers.authorization).toBeUndefined();
    expect(api.getAccessToken()).toBe(access);
    expect(JSON.stringify(api.getSnapshot())).not.toContain(refresh);
    expect(setItem).not.toHaveBeenCalled();
    expect(document.cookie).toBe("");
  });

  it("sends the phone under profile when registering, and stores nothing", async () => {
    const fetch = mockFetch({
      "POST /api/auth/register": () => json(201, { access: accessToken("2"), refresh: "r" }),
    });
    await api.register({
      username: "bob",
      email: "bob@example.com",
      password: "pw",
      password2: "pw",
      first_name: "Bob",
      last_name: "",
      phone: "555",
    });
    expect(fetch.calls[0].body).toEqual({
      username: "bob",
      email: "bob@example.com",
      password: "pw",
      password2: "pw",
      first_name: "Bob",
      last_name: "",
      profile: { phone: "555" },
    });
    expect(api.getSnapshot()).toMatchObject({ userId: "2", ready: true });
    expect(setItem).not.toHaveBeenCalled();
  });
});

describe("session lifecycle", () => {
  it("restores the session once from the cookie and marks it ready", async () => {
    const fetch = mockFetch({ "POST /api/auth/refresh": () => json(200, { access: accessToken("3") }) });
    await Promise.all([api.restoreSession(), api.restoreSession()]);
    expect(fetch.calls).toHaveLength(1);
    expect(api.getSnapshot()).toMatchObject({ userId: "3", ready: true });
  });

  it("is signed out and ready when there is no refresh cookie", async () => {
    mockFetch({ "POST /api/auth/refresh": () => json(400, { refresh: ["This field is required."] }) });
    await expect(api.restoreSession()).resolves.toBe(false);
    expect(api.getSnapshot()).toEqual({ accessToken: null, userId: null, ready: true });
  });

  it("logs out with the bearer token and an empty body, and forgets the token", async () => {
    const token = accessToken("1");
    api.setAccessToken(token);
    const fetch = mockFetch({ "POST /api/auth/logout": () => new Response(null, { status: 205 }) });
    await expect(api.logout()).resolves.toBe(true);
    expect(fetch.calls[0].headers.authorization).toBe(`Bearer ${token}`);
    expect(fetch.calls[0].body).toEqual({});
    expect(api.getAccessToken()).toBeNull();
  });

  it("forgets the token even when logout fails", async () => {
    api.setAccessToken(accessToken("1"));
    mockFetch({
      "POST /api/auth/logout": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    await expect(api.logout()).resolves.toBe(false);
    expect(api.getAccessToken()).toBeNull();
  });

  it("does not let a refresh that was in flight undo a sign-out", async () => {
    api.setAccessToken(accessToken("1"));
    const refreshAnswer = deferred<Response>();
    mockFetch({
      "POST /api/auth/refresh": () => refreshAnswer.promise,
      "POST /api/auth/logout": () => new Response(null, { status: 205 }),
    });
    const refreshing = api.refreshSession();
    await api.logout();
    refreshAnswer.resolve(json(200, { access: accessToken("1") }));
    await refreshing;
    expect(api.getAccessToken()).toBeNull();
  });

  it("reports a network failure as a NetworkError", async () => {
    mockFetch({
      "POST /api/auth/login": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    await expect(api.login("a", "b")).rejects.toBeInstanceOf(NetworkError);
  });

  it("notifies subscribers when the session changes", () => {
    const listener = vi.fn();
    const unsubscribe = api.subscribe(listener);
    api.setAccessToken(accessToken("1"));
    api.setAccessToken(null);
    unsubscribe();
    api.setAccessToken(accessToken("1"));
    expect(listener).toHaveBeenCalledTimes(2);
  });
});

describe("refresh-token rotation", () => {
  it("accepts a refresh answer that also carries a new refresh token, and keeps only the access token", async () => {
    const access = accessToken("4");
    const rotated = "rotated.refresh.token";
    const fetch = mockFetch({ "POST /api/auth/refresh": () => json(200, { access, refresh: rotated }) });

    await expect(api.refreshSession()).resolves.toBe(true);
    expect(api.getAccessToken()).toBe(access);
    expect(JSON.stringify(api.getSnapshot())).not.toContain(rotated);
    // The next refresh still posts an empty body: the rotated token travels in the new cookie.
    await expect(api.refreshSession()).resolves.toBe(true);
    expect(fetch.calls.map((c) => c.body)).toEqual([{}, {}]);
  });

  it("still shares one refresh between parallel 401s when the answer rotates", async () => {
    const newToken = accessToken("1");
    api.setAccessToken(accessToken("1"));
    const fetch = mockFetch({
      "GET /api/auth/profile": ({ headers }) =>
        new Headers(headers).get("Authorization") === `Bearer ${newToken}` ? json(200, PROFILE) : unauthorized(),
      "POST /api/auth/refresh": () => json(200, { access: newToken, refresh: "r2" }),
    });
    await expect(Promise.all([api.getProfile(), api.getProfile(), api.getProfile()])).resolves.toHaveLength(3);
    expect(fetch.callsTo("POST /api/auth/refresh")).toHaveLength(1);
  });

  it("lets a refresh in flight land before signing in, so its cookie cannot replace the new one", async () => {
    const refreshAnswer = deferred<Response>();
    const fetch = mockFetch({
      "POST /api/auth/refresh": () => refreshAnswer.promise,
      "POST /api/auth/login": () => json(200, { access: accessToken("9"), refresh: "r" }),
    });
    const refreshing = api.refreshSession();
    const signingIn = api.login("alice", "pw");
    await new Promise((r) => setTimeout(r, 10));
    expect(fetch.callsTo("POST /api/auth/login")).toHaveLength(0);
    refreshAnswer.resolve(json(401, { detail: "Token is blacklisted", code: "token_not_valid" }));
    await refreshing;
    await signingIn;
    expect(fetch.calls.map((c) => c.url)).toEqual(["/api/auth/refresh", "/api/auth/login"]);
    expect(api.getSnapshot().userId).toBe("9");
  });
});

describe("sessions", () => {
  const SESSION = {
    id: "s1",
    created_at: "2026-01-21T10:00:00.123456Z",
    last_used_at: "2026-01-21T11:00:00.123456Z",
    expires_at: "2026-01-22T11:00:00.123456Z",
    ip_address: "203.0.113.7",
    user_agent: "Mozilla/5.0",
    current: true,
  };

  it("lists the sessions with the access token", async () => {
    const token = accessToken("1");
    api.setAccessToken(token);
    const fetch = mockFetch({ "GET /api/auth/sessions": () => json(200, [SESSION]) });
    await expect(api.listSessions()).resolves.toEqual([SESSION]);
    expect(fetch.calls[0].headers.authorization).toBe(`Bearer ${token}`);
  });

  it("ends one session with DELETE and its id, escaped", async () => {
    api.setAccessToken(accessToken("1"));
    const fetch = mockFetch({
      "DELETE /api/auth/sessions/a%2Fb%3F": () => new Response(null, { status: 204 }),
    });
    await expect(api.revokeSession("a/b?")).resolves.toBeUndefined();
    expect(fetch.calls).toHaveLength(1);
  });

  it("reports a 404 for an unknown session in the API's words", async () => {
    api.setAccessToken(accessToken("1"));
    mockFetch({ "DELETE /api/auth/sessions/nope": () => json(404, { detail: "Not found." }) });
    await expect(api.revokeSession("nope")).rejects.toMatchObject({ status: 404, message: "Not found." });
  });

  it("signs out everywhere else with scope=others and keeps this session", async () => {
    const token = accessToken("1");
    api.setAccessToken(token, { ready: true });
    const fetch = mockFetch({ "POST /api/auth/logout": () => new Response(null, { status: 205 }) });
    await expect(api.logoutOthers()).resolves.toBeUndefined();
    expect(fetch.calls[0].body).toEqual({ scope: "others" });
    expect(fetch.calls[0].headers.authorization).toBe(`Bearer ${token}`);
    expect(fetch.fn.mock.calls[0][1]).toMatchObject({ credentials: "same-origin" });
    expect(api.getAccessToken()).toBe(token);
  });
});

describe("registration with verification mandatory", () => {
  const INPUT = {
    username: "bob",
    email: "bob@example.com",
    password: "pw",
    password2: "pw",
    first_name: "",
    last_name: "",
    phone: "",
  };

  it("is not signed in when the API answers 201 without tokens", async () => {
    mockFetch({ "POST /api/auth/register": () => json(201, { detail: "Verification e-mail sent." }) });
    await expect(api.register(INPUT)).resolves.toEqual({ signedIn: false, detail: "Verification e-mail sent." });
    expect(api.getAccessToken()).toBeNull();
  });

  it("is signed in when the API answers tokens, as before", async () => {
    mockFetch({ "POST /api/auth/register": () => json(201, { access: accessToken("5"), refresh: "r" }) });
    await expect(api.register(INPUT)).resolves.toEqual({ signedIn: true });
    expect(api.getSnapshot()).toMatchObject({ userId: "5", ready: true });
  });
});

describe("password and e-mail flows", () => {
  it("changes the password with the access token and answers the API's words", async () => {
    const token = accessToken("1");
    api.setAccessToken(token, { ready: true });
    const fetch = mockFetch({
      "POST /api/auth/password/change": () => json(200, { detail: "New password has been saved." }),
    });
    const change = { old_password: "old", new_password1: "new-horse-9", new_password2: "new-horse-9" };
    await expect(api.changePassword(change)).resolves.toBe("New password has been saved.");
    expect(fetch.calls[0].body).toEqual(change);
    expect(fetch.calls[0].headers.authorization).toBe(`Bearer ${token}`);
    // This session goes on.
    expect(api.getAccessToken()).toBe(token);
  });

  it("sends the reset, confirm, verify and resend calls without a token, even when signed in", async () => {
    api.setAccessToken(accessToken("1"), { ready: true });
    const fetch = mockFetch({
      "POST /api/auth/password/reset": () => json(200, { detail: "Password reset e-mail has been sent." }),
      "POST /api/auth/password/reset/confirm": () =>
        json(200, { detail: "Password has been reset with the new password." }),
      "POST /api/auth/email/verify": () => json(200, { detail: "ok" }),
      "POST /api/auth/email/resend": () => json(200, { detail: "ok" }),
    });
    await expect(api.requestPasswordReset("alice@example.com")).resolves.toBe("Password reset e-mail has been sent.");
    const confirm = { uid: "MQ", token: "t0k", new_password1: "a-new-horse-9", new_password2: "a-new-horse-9" };
    await expect(api.confirmPasswordReset(confirm)).resolves.toBe("Password has been reset with the new password.");
    await expect(api.verifyEmail("k3y")).resolves.toBeUndefined();
    await expect(api.resendVerification("alice@example.com")).resolves.toBeUndefined();
    expect(fetch.calls.map((c) => c.body)).toEqual([
      { email: "alice@example.com" },
      confirm,
      { key: "k3y" },
      { email: "alice@example.com" },
    ]);
    expect(fetch.calls.map((c) => c.headers.authorization)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("reports a bad verification key as the API's 404", async () => {
    mockFetch({ "POST /api/auth/email/verify": () => json(404, { detail: "Not found." }) });
    await expect(api.verifyEmail("used")).rejects.toMatchObject({ status: 404, message: "Not found." });
  });
});

describe("account deletion", () => {
  it("deletes with the password and the access token, then forgets the session as sign-out does", async () => {
    const token = accessToken("1");
    api.setAccessToken(token, { ready: true });
    const fetch = mockFetch({ "POST /api/auth/account/delete": () => new Response(null, { status: 204 }) });
    await expect(api.deleteAccount("correct-horse-9")).resolves.toBeUndefined();
    expect(fetch.calls[0].body).toEqual({ password: "correct-horse-9" });
    expect(fetch.calls[0].headers.authorization).toBe(`Bearer ${token}`);
    expect(api.getSnapshot()).toEqual({ accessToken: null, userId: null, ready: true });
  });

  it("keeps the session when the password is wrong", async () => {
    const token = accessToken("1");
    api.setAccessToken(token, { ready: true });
    mockFetch({
      "POST /api/auth/account/delete": () => json(400, { password: ["Your password was entered incorrectly."] }),
    });
    await expect(api.deleteAccount("wrong")).rejects.toMatchObject({ status: 400 });
    expect(api.getAccessToken()).toBe(token);
  });

  it("does not let a refresh that was in flight bring the deleted session back", async () => {
    api.setAccessToken(accessToken("1"), { ready: true });
    const refreshAnswer = deferred<Response>();
    mockFetch({
      "POST /api/auth/refresh": () => refreshAnswer.promise,
      "POST /api/auth/account/delete": () => new Response(null, { status: 204 }),
    });
    const refreshing = api.refreshSession();
    await api.deleteAccount("correct-horse-9");
    refreshAnswer.resolve(json(200, { access: accessToken("1") }));
    await refreshing;
    expect(api.getAccessToken()).toBeNull();
  });
});
