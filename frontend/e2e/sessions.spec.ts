import type { Browser, BrowserContext, Page, TestInfo } from "@playwright/test";
import { deviceName } from "../src/lib/user-agent";
import { ACCESS_TOKEN_LIFETIME_SECS } from "./servers";
import { expect, fillRegisterForm, newAccount, signIn, test, type Account } from "./fixtures";

// These need the sessions API and refresh-token rotation of shared/API.md ("Beyond the original
// system"); the suite starts auth-server with ROTATE_REFRESH_TOKENS=true (e2e/servers.ts).

const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

async function registerInBrowser(page: Page, account: Account) {
  await page.goto("/register");
  await fillRegisterForm(page, account);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
}

/**
 * Another browser (its own cookies) of the same user, with the given user agent, signed in. With
 * `frozenClock`, its page's clock stops once signed in, so that no refresh timer acts on its own:
 * whatever happens next is caused by the test's next action.
 */
async function signInElsewhere(
  browser: Browser,
  testInfo: TestInfo,
  account: Account,
  userAgent: string,
  { frozenClock = false } = {},
) {
  const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL, userAgent });
  const page = await context.newPage();
  if (frozenClock) await page.clock.install();
  await page.goto("/login");
  await signIn(page, account.username, account.password);
  await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
  if (frozenClock) await page.clock.pauseAt(new Date(Date.now() + 1000));
  return { context, page };
}

function devices(page: Page) {
  return page.getByRole("list", { name: "Signed-in devices" }).getByRole("listitem");
}

function devicesSection(page: Page) {
  return page.getByRole("region", { name: "Signed-in devices" });
}

/** Where the page ends up when its session is over: the sign-in page, asked to come back. */
async function expectSentToSignIn(page: Page) {
  await expect(page).toHaveURL(/\/login\?next=(%2F|\/)profile$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
}

test.describe("signed-in devices", () => {
  let others: BrowserContext[] = [];
  test.afterEach(async () => {
    await Promise.all(others.map((c) => c.close()));
    others = [];
  });

  test("lists both devices, ends the other one, which is then signed out", async ({ page, browser }, testInfo) => {
    const account = newAccount("devices");
    await registerInBrowser(page, account);
    const other = await signInElsewhere(browser, testInfo, account, FIREFOX_WINDOWS, { frozenClock: true });
    others.push(other.context);
    // (A link, not a new page load: the frozen clock stays in force.)
    await other.page.getByRole("link", { name: "View and edit your profile" }).click();
    await expect(other.page.getByLabel("Email")).toHaveValue(account.email);

    // The first browser sees both sessions, its own marked, most recently used first.
    await page.goto("/profile");
    const here = deviceName(await page.evaluate(() => navigator.userAgent));
    await expect(devices(page)).toHaveCount(2);
    const mine = devices(page).filter({ hasText: "This device" });
    await expect(mine).toHaveCount(1);
    await expect(mine).toContainText(here);
    await expect(mine.getByRole("button")).toHaveCount(0);
    const theirs = devices(page).filter({ hasNotText: "This device" });
    await expect(theirs).toContainText("Firefox on Windows");
    await expect(theirs).toContainText("127.0.0.1");
    await expect(theirs).toContainText(/Last used (just now|\d+ minutes? ago)/);

    // End the other session from here.
    await page.getByRole("button", { name: "Sign out Firefox on Windows" }).click();
    await expect(devicesSection(page).getByRole("status")).toHaveText("Signed out Firefox on Windows.");
    await expect(devices(page)).toHaveCount(1);
    await expect(devices(page)).toContainText("This device");
    await expect(page.getByRole("button", { name: "Sign out everywhere else" })).toHaveCount(0);

    // The other browser is signed out at its next action: a save on the page it still shows…
    await other.page.getByLabel(/^Phone/).fill("555-0142");
    await other.page.getByRole("button", { name: "Save changes" }).click();
    await expectSentToSignIn(other.page);
    // …and for good: a reload of the profile page also lands on sign-in.
    await other.page.goto("/profile");
    await expectSentToSignIn(other.page);

    // This browser is still signed in, even after a reload, and nothing was saved over there.
    await page.reload();
    await expect(page.getByLabel(/^Phone/)).toHaveValue(account.phone);
    await expect(devices(page)).toHaveCount(1);

    // The section fits a phone-sized screen: nothing sticks out sideways.
    await page.setViewportSize({ width: 360, height: 740 });
    await expect(devicesSection(page)).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  });

  test("'Sign out everywhere else' ends every other session and keeps this one", async ({ page, browser }, testInfo) => {
    const account = newAccount("everywhere");
    await registerInBrowser(page, account);
    const phone = await signInElsewhere(browser, testInfo, account, SAFARI_IPHONE);
    const laptop = await signInElsewhere(browser, testInfo, account, FIREFOX_WINDOWS);
    others.push(phone.context, laptop.context);

    await page.goto("/profile");
    await expect(devices(page)).toHaveCount(3);
    await expect(page.getByRole("button", { name: "Sign out Safari on iOS" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Sign out Firefox on Windows" })).toBeVisible();

    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await expect(devicesSection(page).getByRole("status")).toHaveText("Signed out of every other device.");
    await expect(devices(page)).toHaveCount(1);
    await expect(devices(page)).toContainText("This device");

    for (const other of [phone, laptop]) {
      await other.page.goto("/profile");
      await expectSentToSignIn(other.page);
    }
    // This one keeps its session, cookie included.
    await page.reload();
    await expect(page.getByLabel("Email")).toHaveValue(account.email);
    await expect(devices(page)).toHaveCount(1);
  });
});

test.describe("refresh-token rotation", () => {
  test("a reload, and two tabs refreshing at once, stay signed in", async ({ page, context }) => {
    const account = newAccount("rotate");
    // Each refresh answer, its body read at once (a page that reloads takes its bodies with it).
    const refreshes: { status: number; body: Promise<unknown> }[] = [];
    context.on("response", (res) => {
      if (new URL(res.url()).pathname !== "/api/auth/refresh") return;
      refreshes.push({ status: res.status(), body: res.json().catch(() => null) });
    });

    await registerInBrowser(page, account);
    await page.getByRole("link", { name: "View and edit your profile" }).click();
    await expect(page.getByLabel("Email")).toHaveValue(account.email);
    // (The refresh attempted when /register first loaded, before any cookie existed, does not count.)
    refreshes.length = 0;

    // A reload refreshes from the cookie; with rotation on the answer carries a new refresh token.
    const cookieBefore = (await context.cookies()).find((c) => c.name === "refresh_token")?.value;
    await page.reload();
    await expect(page.getByLabel("Email")).toHaveValue(account.email);
    await expect.poll(() => refreshes.length).toBeGreaterThan(0);
    const bodies = (await Promise.all(refreshes.map((r) => r.body))) as { access?: unknown; refresh?: unknown }[];
    expect(
      bodies.some((b) => typeof b?.access === "string" && typeof b?.refresh === "string"),
      "the server rotates refresh tokens (ROTATE_REFRESH_TOKENS=true): /refresh answers {access, refresh}",
    ).toBe(true);
    const cookieAfter = (await context.cookies()).find((c) => c.name === "refresh_token")?.value;
    expect(cookieAfter).toBeTruthy();
    expect(cookieAfter).not.toBe(cookieBefore);

    // A second tab on the same cookie. Both reload at once, and their refreshes are held until both
    // have been asked for, then sent together (by route.fetch, with the context's cookie as it is
    // then): the API gets the same refresh token twice at the same moment. Without this the first
    // answer's new cookie is usually in place before the second tab asks.
    const tab = await context.newPage();
    await tab.goto("/profile");
    await expect(tab.getByLabel("Email")).toHaveValue(account.email);
    let held = 0;
    let release!: () => void;
    const bothAsked = new Promise<void>((resolve) => (release = resolve));
    const together: { status: number; body: { refresh?: unknown } | null }[] = [];
    await context.route("**/api/auth/refresh", async (route) => {
      held += 1;
      if (held === 2) release();
      await Promise.race([bothAsked, new Promise((r) => setTimeout(r, 5000))]);
      const response = await route.fetch();
      together.push({ status: response.status(), body: await response.json().catch(() => null) });
      await route.fulfill({ response });
    });
    const cookieShared = (await context.cookies()).find((c) => c.name === "refresh_token")?.value;
    await Promise.all([page.reload(), tab.reload()]);
    await expect(page.getByLabel("Email")).toHaveValue(account.email);
    await expect(tab.getByLabel("Email")).toHaveValue(account.email);
    await context.unroute("**/api/auth/refresh");
    expect(held, "both tabs refreshed while held").toBe(2);
    // The API gave both the same successor (its reuse interval): one cookie, one session.
    expect(together.map((t) => t.status)).toEqual([200, 200]);
    expect(typeof together[0].body?.refresh).toBe("string");
    expect(together[1].body?.refresh).toBe(together[0].body?.refresh);
    const cookieNow = (await context.cookies()).find((c) => c.name === "refresh_token")?.value;
    expect(cookieNow).toBe(together[0].body?.refresh);
    expect(cookieNow).not.toBe(cookieShared);

    // Their access tokens came at the same time, so their refresh timers fire together: let that
    // happen a few times, then use both tabs.
    await page.waitForTimeout((ACCESS_TOKEN_LIFETIME_SECS * 2 + 1.5) * 1000);
    await page.getByLabel(/^Phone/).fill("555-0177");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("form", { name: "Edit profile" }).getByRole("status")).toHaveText("Profile saved.");
    await tab.reload();
    await expect(tab.getByLabel(/^Phone/)).toHaveValue("555-0177");
    await expect(devices(tab)).toHaveCount(1);
    await page.reload();
    await expect(page.getByLabel(/^Phone/)).toHaveValue("555-0177");
    await expect(page).toHaveURL(/\/profile$/);
    await expect(tab).toHaveURL(/\/profile$/);

    // Every refresh along the way succeeded: no tab was ever refused as a reuse.
    const statuses = refreshes.map((r) => r.status);
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(statuses.every((s) => s === 200), `refresh answers: ${statuses.join(", ")}`).toBe(true);
  });
});
