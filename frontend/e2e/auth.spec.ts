import { ACCESS_TOKEN_LIFETIME_SECS } from "./servers";
import { expect, fillRegisterForm, newAccount, registerThroughApi, signIn, test } from "./fixtures";

test.describe("the whole journey", () => {
  test("register, reload, edit the profile, sign out, sign in again @phone", async ({ page, context }) => {
    const account = newAccount("alice");

    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Welcome" })).toBeVisible();
    await page.getByRole("main").getByRole("link", { name: "Create an account" }).click();
    await expect(page).toHaveURL(/\/register$/);

    await fillRegisterForm(page, account);
    await page.getByRole("button", { name: "Create account" }).click();

    // Lands signed in.
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();

    // The refresh token is an HttpOnly cookie the page cannot read; nothing is in web storage.
    const cookie = (await context.cookies()).find((c) => c.name === "refresh_token");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/api/auth" });
    expect(
      await page.evaluate(() => ({
        local: localStorage.length,
        session: sessionStorage.length,
        cookie: document.cookie,
      })),
    ).toEqual({ local: 0, session: 0, cookie: "" });

    // A reload keeps the session (the access token is in memory only: it comes back from the cookie).
    await page.reload();
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();

    // Edit the profile.
    await page.getByRole("link", { name: "View and edit your profile" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByLabel("Email")).toHaveValue(account.email);
    const newEmail = `new.${account.email}`;
    await page.getByLabel("Email").fill(newEmail);
    await page.getByLabel(/^First name/).fill("Alicia");
    await page.getByLabel(/^Last name/).fill("Pleasance");
    await page.getByLabel(/^Phone/).fill("+44 20 7946 0000");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("form", { name: "Edit profile" }).getByRole("status")).toHaveText("Profile saved.");

    // The values persist after a reload.
    await page.reload();
    await expect(page.getByLabel("Email")).toHaveValue(newEmail);
    await expect(page.getByLabel(/^First name/)).toHaveValue("Alicia");
    await expect(page.getByLabel(/^Last name/)).toHaveValue("Pleasance");
    await expect(page.getByLabel(/^Phone/)).toHaveValue("+44 20 7946 0000");

    // Sign out: back to the sign-in page, cookie gone.
    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    expect((await context.cookies()).find((c) => c.name === "refresh_token")).toBeUndefined();

    // The profile page now sends to sign-in, even after a reload.
    await page.goto("/profile");
    await expect(page).toHaveURL(/\/login\?next=%2Fprofile$|\/login\?next=\/profile$/);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

    // Sign in again: back to the profile, with the saved values.
    await signIn(page, account.username, account.password);
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByLabel("Email")).toHaveValue(newEmail);
    await page.goto("/");
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
  });
});

test.describe("the API's messages", () => {
  test("a duplicate username is reported next to the username field", async ({ page, request }) => {
    const taken = newAccount("taken");
    await registerThroughApi(request, taken);

    await page.goto("/register");
    await fillRegisterForm(page, { ...newAccount("other"), username: taken.username });
    await page.getByRole("button", { name: "Create account" }).click();

    const username = page.getByLabel("Username");
    await expect(username).toHaveAttribute("aria-invalid", "true");
    await expect(username).toHaveAccessibleDescription(/A user with that username already exists\./);
    await expect(username).toBeFocused();
    await expect(page).toHaveURL(/\/register$/);
  });

  test("a weak password is reported next to the password field, every reason", async ({ page }) => {
    const account = { ...newAccount("weak"), password: "123456" };
    await page.goto("/register");
    await fillRegisterForm(page, account);
    await page.getByRole("button", { name: "Create account" }).click();

    const password = page.getByLabel("Password", { exact: true });
    await expect(password).toHaveAttribute("aria-invalid", "true");
    for (const message of [
      "This password is too short. It must contain at least 8 characters.",
      "This password is too common.",
      "This password is entirely numeric.",
    ]) {
      await expect(password).toHaveAccessibleDescription(new RegExp(message.replace(/\./g, "\\.")));
    }
    await expect(page.getByLabel("Username")).not.toHaveAttribute("aria-invalid", "true");
  });

  test("a long phone number, then mismatched passwords, are reported on their fields", async ({ page }) => {
    const account = { ...newAccount("mismatch"), phone: "0".repeat(21) };
    await page.goto("/register");
    await fillRegisterForm(page, account, "something-else-entirely");
    await page.getByRole("button", { name: "Create account" }).click();

    // The nested profile.phone error lands on the phone field.
    const phone = page.getByLabel(/^Phone/);
    await expect(phone).toHaveAccessibleDescription(/Ensure this field has no more than 20 characters\./);
    await expect(phone).toBeFocused();

    // The API compares the passwords only once every field is valid on its own.
    await phone.fill("555-0100");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByLabel("Password", { exact: true })).toHaveAccessibleDescription(
      /Password fields didn't match\./,
    );
    await expect(phone).not.toHaveAttribute("aria-invalid", "true");
  });

  test("a wrong password shows the login error", async ({ page, request }) => {
    const account = newAccount("bob");
    await registerThroughApi(request, account);

    await page.goto("/login");
    await signIn(page, account.username, "not-the-password");
    // (Next.js adds a route announcer with role=alert of its own: look inside the page's main.)
    await expect(page.getByRole("main").getByRole("alert")).toHaveText(
      "No active account found with the given credentials",
    );
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
  });
});

test.describe("keyboard", () => {
  test("signing in works with the keyboard alone", async ({ page, request }) => {
    const account = newAccount("keys");
    await registerThroughApi(request, account);

    await page.goto("/login");
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    // The first Tab reaches the skip link, which jumps to the main content.
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.locator("main")).toBeFocused();

    // From there, Tab reaches the form (past its "Create an account" link) within a few presses.
    const username = page.getByLabel("Username");
    for (let i = 0; i < 5 && !(await username.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press("Tab");
    }
    await expect(username).toBeFocused();
    await page.keyboard.type(account.username);
    await page.keyboard.press("Tab");
    await expect(page.getByLabel("Password", { exact: true })).toBeFocused();
    await page.keyboard.type(account.password);
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
  });
});

test.describe("token refresh", () => {
  test("an expired access token is refreshed without a sign-in prompt", async ({ page }) => {
    const account = newAccount("carol");
    const refreshes: number[] = [];
    page.on("response", (res) => {
      if (res.url().endsWith("/api/auth/refresh")) refreshes.push(res.status());
    });

    await page.goto("/register");
    await fillRegisterForm(page, account);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
    // (The refresh attempted when /register first loaded, before any cookie existed, does not count.)
    refreshes.length = 0;

    // Outlive the access token, then use the session without reloading.
    await page.waitForTimeout((ACCESS_TOKEN_LIFETIME_SECS + 1.5) * 1000);
    await page.getByRole("link", { name: "View and edit your profile" }).click();
    await expect(page.getByLabel(/^Phone/)).toHaveValue(account.phone);
    await page.getByLabel(/^Phone/).fill("555-0199");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("form", { name: "Edit profile" }).getByRole("status")).toHaveText("Profile saved.");
    await expect(page).toHaveURL(/\/profile$/);
    expect(refreshes.length).toBeGreaterThan(0);
    expect(refreshes.every((status) => status === 200)).toBe(true);

    await page.waitForTimeout((ACCESS_TOKEN_LIFETIME_SECS + 1.5) * 1000);
    await page.reload();
    await expect(page.getByLabel(/^Phone/)).toHaveValue("555-0199");
  });

  test("a call that gets 401 with a stale token is refreshed and retried once", async ({ page }) => {
    const account = newAccount("dave");
    const seen: string[] = [];
    page.on("response", (res) => {
      const path = new URL(res.url()).pathname;
      if (path.startsWith("/api/")) seen.push(`${res.request().method()} ${path} ${res.status()}`);
    });

    // Freeze the page's clock so that neither the proactive timer nor the expiry check can act:
    // the app sends the expired token, the API answers 401, and the client must recover.
    await page.clock.install();
    await page.goto("/register");
    await fillRegisterForm(page, account);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();
    await page.clock.pauseAt(new Date(Date.now() + 1000));

    await page.waitForTimeout((ACCESS_TOKEN_LIFETIME_SECS + 1.5) * 1000);
    seen.length = 0;
    await page.getByRole("link", { name: "View and edit your profile" }).click();
    await expect(page.getByLabel(/^Phone/)).toHaveValue(account.phone);
    // (The signed-in devices below the form load after the profile, with the new token.)
    expect(seen.filter((line) => !line.startsWith("GET /api/auth/sessions "))).toEqual([
      "GET /api/auth/profile 401",
      "POST /api/auth/refresh 200",
      "GET /api/auth/profile 200",
    ]);
  });
});
