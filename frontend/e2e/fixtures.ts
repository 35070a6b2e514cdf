import { test as base, expect, type APIRequestContext, type Page } from "@playwright/test";

export { expect };

export const PASSWORD = "correct-horse-battery-9";

let counter = 0;
/** A username no other test (or earlier run against the same database) has used. */
export function uniqueUsername(prefix = "user"): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`;
}

export interface Account {
  username: string;
  email: string;
  password: string;
  first_name: string;
  last_name: string;
  phone: string;
}

export function newAccount(prefix = "user"): Account {
  const username = uniqueUsername(prefix);
  return {
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
    first_name: "Alice",
    last_name: "Liddell",
    phone: "555-0100",
  };
}

/** The web app of the default pair (its API runs with ACCOUNT_EMAIL_VERIFICATION=none): FRONTEND_URL of its mail. */
export function webUrl(): string {
  const url = process.env.E2E_BASE_URL;
  if (!url) throw new Error("E2E_BASE_URL is not set: run the suite through playwright.config.ts");
  return url;
}

/** The web app whose API runs with ACCOUNT_EMAIL_VERIFICATION=mandatory (e2e/servers.ts). */
export function verifyWebUrl(): string {
  const url = process.env.E2E_VERIFY_BASE_URL;
  if (!url) throw new Error("E2E_VERIFY_BASE_URL is not set: run the suite through playwright.config.ts");
  return url;
}

export function apiUrl(): string {
  const url = process.env.E2E_API_URL;
  if (!url) throw new Error("E2E_API_URL is not set: run the suite through playwright.config.ts");
  return url;
}

/** Creates an account directly through the API, outside the browser. */
export async function registerThroughApi(request: APIRequestContext, account: Account): Promise<void> {
  const { phone, ...rest } = account;
  // With the refresh cookie on, the API takes a sign-up only from an allowed origin or its own,
  // as a browser sends it; this request comes from the API's own origin.
  const res = await request.post(`${apiUrl()}/api/auth/register`, {
    data: { ...rest, password2: account.password, profile: { phone } },
    headers: { Origin: new URL(apiUrl()).origin },
  });
  expect(res.status(), await res.text()).toBe(201);
}

export async function fillRegisterForm(page: Page, account: Account, password2 = account.password) {
  await page.getByLabel("Username").fill(account.username);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel(/^First name/).fill(account.first_name);
  await page.getByLabel(/^Last name/).fill(account.last_name);
  await page.getByLabel(/^Phone/).fill(account.phone);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByLabel("Confirm password").fill(password2);
}

/** Registers in the browser, on whichever web app the page is on, and lands signed in. */
export async function registerInBrowser(page: Page, account: Account) {
  await page.goto("/register");
  await fillRegisterForm(page, account);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
}

export async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** A Content-Security-Policy violation as the page saw it (securitypolicyviolation) or logged it. */
export interface CspViolation {
  source: "event" | "console";
  directive: string;
  blocked: string;
  url: string;
}

declare global {
  interface Window {
    __reportCspViolation?: (violation: Omit<CspViolation, "source">) => Promise<void>;
  }
}

export const test = base.extend<{ cspViolations: CspViolation[] }>({
  // Every test, on every page it opens, fails on a CSP violation: the policy must never block
  // what the app itself does. A test that provokes one on purpose takes it out of the list.
  cspViolations: [
    async ({ page }, use) => {
      const violations: CspViolation[] = [];
      await page.exposeFunction("__reportCspViolation", (v: Omit<CspViolation, "source">) => {
        violations.push({ source: "event", ...v });
      });
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
          void window.__reportCspViolation?.({
            directive: e.effectiveDirective,
            blocked: e.blockedURI,
            url: e.documentURI,
          });
        });
      });
      page.on("console", (message) => {
        if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
          violations.push({ source: "console", directive: "", blocked: message.text(), url: page.url() });
        }
      });
      await use(violations);
      expect(violations, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});
