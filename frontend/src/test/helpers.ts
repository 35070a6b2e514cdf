import { vi } from "vitest";

/** A JWT-shaped token (unsigned: the app never verifies tokens) with the given claims. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const enc = (value: unknown) =>
    Buffer.from(JSON.stringify(value)).toString("base64").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${enc({ alg: "HS256", typ: "JWT" })}.${enc(claims)}.signature`;
}

export function accessToken(userId = "1", lifetimeSecs = 3600, jti = Math.random().toString(16).slice(2)): string {
  const now = Math.floor(Date.now() / 1000);
  return fakeJwt({ token_type: "access", iat: now, exp: now + lifetimeSecs, jti, user_id: userId });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Handler = (init: RequestInit & { url: string }) => Response | Promise<Response>;

/**
 * A fetch stand-in that routes by "METHOD /path" and records every call. Unrouted calls fail the
 * test loudly.
 */
export function mockFetch(routes: Record<string, Handler | Handler[]>) {
  const calls: { method: string; url: string; headers: Record<string, string>; body: unknown }[] = [];
  const queues = new Map(Object.entries(routes).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]));
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? "GET").toUpperCase();
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = typeof init.body === "string" ? JSON.parse(init.body) : init.body;
    calls.push({ method, url, headers, body });
    const key = `${method} ${url}`;
    const route = queues.get(key);
    if (!route) throw new Error(`unexpected fetch: ${key}`);
    const handler = Array.isArray(route) ? (route.length > 1 ? route.shift()! : route[0]) : route;
    return handler({ ...init, url });
  });
  vi.stubGlobal("fetch", fn);
  return { fn, calls, callsTo: (key: string) => calls.filter((c) => `${c.method} ${c.url}` === key) };
}
