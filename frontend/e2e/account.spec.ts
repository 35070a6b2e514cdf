import type { Page } from "@playwright/test";
import { expect, newAccount, registerInBrowser, registerThroughApi, signIn, test, webUrl } from "./fixtures";
import { waitForLink, waitForMail } from "./mail";

// These need the password, reset and account-deletion endpoints of shared/API.md ("Beyond the
// original system") and the file e-mail backend (EMAIL_BACKEND=file, EMAIL_FILE_PATH, FRONTEND_URL:
// e2e/servers.ts).

const NEW_PASSWORD = "a-brand-new-horse-42";
const NO_ACCOUNT = "No active account found with the given credentials";
const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** The page's own alert (Next.js adds a route announcer with role=alert outside main). */
function alertOf(page: Page) {
  return page.getByRole("main").getByRole("alert");
}

async function expectSignInRefused(page: Page, username: string, password: string) {
  await signIn(page, username, password);
  await expect(alertOf(page)).toHaveText(NO_ACCOUNT);
  // Still on the sign-in page (after a deletion it keeps the `next` it was sent with).
  await expect(page).toHaveURL(/\/login(\?.*)?$/);
}

test.describe("forgotten password", () => {
  test("the mailed link sets a new password; the old one stops working, and the link works once", async ({
    page,
    request,
  }) => {
    const account = newAccount("forgot");
    await registerThroughApi(request, account);

    await page.goto("/login");
    await page.getByRole("link", { name: "Forgot password?" }).click();
    await expect(page).toHaveURL(/\/forgot-password$/);
    await page.getByLabel("Email").fill(account.email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByRole("main").getByRole("status")).toHaveText("Password reset e-mail has been sent.");
    await expect(page.getByRole("main")).toContainText(`If an account has the address ${account.email}`);

    const link = await waitForLink(account.email, `${webUrl()}/reset-password?`);
    await page.goto(link);
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Reset password" }).click();
    await expect(page.getByRole("main").getByRole("status")).toHaveText(
      "Password has been reset with the new password.",
    );

    await page.getByRole("main").getByRole("link", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expectSignInRefused(page, account.username, account.password);
    await signIn(page, account.username, NEW_PASSWORD);
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();

    // A second use of the same link is refused, in the page's words.
    await page.goto(link);
    await page.getByLabel("New password", { exact: true }).fill(`${NEW_PASSWORD}-again`);
    await page.getByLabel("Confirm new password").fill(`${NEW_PASSWORD}-again`);
    await page.getByRole("button", { name: "Reset password" }).click();
    await expect(alertOf(page)).toHaveText("This link is invalid or has expired.");
    await expect(page.getByRole("link", { name: "Ask for a new link" })).toHaveAttribute("href", "/forgot-password");
  });

  test("an address without an account gets the same answer, and a broken link never reaches the API", async ({
    page,
  }) => {
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(`${newAccount("nobody").username}@example.com`);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByRole("main").getByRole("status")).toHaveText("Password reset e-mail has been sent.");

    // An invalid address is reported beside the field.
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill("not-an-address");
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByLabel("Email")).toHaveAccessibleDescription(/Enter a valid email address\./);

    const calls: string[] = [];
    page.on("request", (req) => {
      if (new URL(req.url()).pathname.startsWith("/api/auth/password")) calls.push(req.url());
    });
    await page.goto("/reset-password?uid=MQ");
    await expect(alertOf(page)).toHaveText("This link is invalid or has expired.");
    expect(calls).toEqual([]);
  });
});

test.describe("change password", () => {
  test("on the profile page: other devices are signed out, then only the new password works", async ({
    page,
    browser,
  }, testInfo) => {
    const account = newAccount("change");
    await registerInBrowser(page, account);

    // Another device, to see it go.
    const other = await browser.newContext({ baseURL: testInfo.project.use.baseURL, userAgent: FIREFOX_WINDOWS });
    try {
      const otherPage = await other.newPage();
      await otherPage.goto("/login");
      await signIn(otherPage, account.username, account.password);
      await expect(otherPage.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();

      await page.goto("/profile");
      const devices = page.getByRole("list", { name: "Signed-in devices" }).getByRole("listitem");
      await expect(devices).toHaveCount(2);

      const form = page.getByRole("form", { name: "Change password" });
      await form.getByLabel("Current password").fill("not-the-password");
      await form.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await form.getByLabel("Confirm new password").fill(NEW_PASSWORD);
      await form.getByRole("button", { name: "Change password", exact: true }).click();
      await expect(form.getByLabel("Current password")).toHaveAccessibleDescription(
        /Your old password was entered incorrectly\. Please enter it again\./,
      );
      await expect(form.getByLabel("Current password")).toBeFocused();

      await form.getByLabel("Current password").fill(account.password);
      await form.getByRole("button", { name: "Change password", exact: true }).click();
      await expect(form.getByRole("status")).toHaveText("New password has been saved.");
      await expect(form.getByLabel("Current password")).toHaveValue("");
      await expect(form.getByLabel("New password", { exact: true })).toHaveValue("");
      await expect(form.getByLabel("Confirm new password")).toHaveValue("");
      // The API ended the other session; the list shows it without a reload.
      await expect(devices).toHaveCount(1);
      await expect(devices).toContainText("This device");

      await otherPage.goto("/profile");
      await expect(otherPage).toHaveURL(/\/login\?next=(%2F|\/)profile$/);
    } finally {
      await other.close();
    }

    // The user is told by e-mail.
    await waitForMail(account.email);

    // This device stayed signed in, even across a reload.
    await page.reload();
    await expect(page.getByLabel("Email")).toHaveValue(account.email);

    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expectSignInRefused(page, account.username, account.password);
    await signIn(page, account.username, NEW_PASSWORD);
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
  });
});

test.describe("delete account", () => {
  test("asks for the password, then the account is gone and signing in fails", async ({ page }) => {
    const account = newAccount("delete");
    await registerInBrowser(page, account);

    await page.goto("/profile");
    await page.getByRole("button", { name: "Delete account…" }).click();
    const form = page.getByRole("form", { name: "Delete account" });
    const password = form.getByLabel("Password", { exact: true });
    await expect(password).toBeFocused();
    await password.fill("not-the-password");
    await form.getByRole("button", { name: "Delete my account" }).click();
    await expect(password).toHaveAccessibleDescription(/Your password was entered incorrectly\./);
    await expect(page).toHaveURL(/\/profile$/);

    await password.fill(account.password);
    await form.getByRole("button", { name: "Delete my account" }).click();
    await expect(page).toHaveURL(/\/\?account=deleted$/);
    await expect(page.getByRole("main").getByRole("status")).toHaveText("Your account has been deleted.");
    await expect(page.getByRole("heading", { name: "Welcome" })).toBeVisible();
    await expect(page.getByRole("banner").getByRole("link", { name: "Sign in" })).toBeVisible();

    // Signed out for good: the refresh cookie the browser still holds is refused.
    await page.goto("/profile");
    await expect(page).toHaveURL(/\/login\?next=(%2F|\/)profile$/);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

    await expectSignInRefused(page, account.username, account.password);
  });
});
