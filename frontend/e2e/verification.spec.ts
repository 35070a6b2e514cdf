import { expect, fillRegisterForm, newAccount, signIn, test, verifyWebUrl } from "./fixtures";
import { waitForLink } from "./mail";

// Against the second pair of e2e/servers.ts: an auth-server with ACCOUNT_EMAIL_VERIFICATION=
// mandatory, and a second `next start` of the same build, which the router in front of both API
// servers sends to it. Needs the e-mail verification endpoints of shared/API.md.
// (Read from the environment, not through verifyWebUrl(): the runner loads this file to list the
// tests before the global set-up has started the servers; the workers see it set.)
test.use({ baseURL: process.env.E2E_VERIFY_BASE_URL });

test.describe("e-mail verification mandatory", () => {
  test("register, check your e-mail, follow the link, then sign in", async ({ page, context }) => {
    const account = newAccount("verify");
    await page.goto("/register");
    await fillRegisterForm(page, account);
    await page.getByRole("button", { name: "Create account" }).click();

    // Not signed in: told to check the mail instead.
    await expect(page.getByRole("heading", { name: "Check your e-mail" })).toBeVisible();
    await expect(page.getByRole("main").getByRole("status").first()).toHaveText("Verification e-mail sent.");
    await expect(page.getByRole("main")).toContainText(`We sent a link to ${account.email}.`);
    await expect(page.getByRole("form", { name: "Send a new verification link" }).getByLabel("Email")).toHaveValue(
      account.email,
    );
    await expect(page.getByRole("banner").getByRole("link", { name: "Sign in" })).toBeVisible();
    expect((await context.cookies()).find((c) => c.name === "refresh_token")).toBeUndefined();

    // Signing in before verifying is refused, with a way to get a new link.
    await page.goto("/login");
    await signIn(page, account.username, account.password);
    await expect(page.getByRole("form", { name: "Sign in" }).getByRole("alert")).toHaveText("E-mail is not verified.");
    await expect(page.getByRole("form", { name: "Send a new verification link" })).toBeVisible();

    // The link in the mail verifies the address.
    const link = await waitForLink(account.email, `${verifyWebUrl()}/verify-email?`);
    await page.goto(link);
    await expect(page.getByRole("main").getByRole("status")).toHaveText("Your e-mail address is verified.");
    await page.getByRole("main").getByRole("link", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await signIn(page, account.username, account.password);
    await expect(page.getByRole("heading", { name: `Signed in as ${account.username}` })).toBeVisible();

    // The key was spent: the same link now offers a new one.
    await page.goto(link);
    // (The resend form's own alert region is there too, empty.)
    await expect(page.getByRole("main").getByRole("alert").first()).toHaveText("This link is invalid or has expired.");
    const resend = page.getByRole("form", { name: "Send a new verification link" });
    await resend.getByLabel("Email").fill(account.email);
    await resend.getByRole("button", { name: "Send a new link" }).click();
    await expect(resend.getByRole("status")).toHaveText("If that address needs verifying, a new link is on its way.");
  });
});
