import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, fillRegisterForm, newAccount, registerThroughApi, test } from "./fixtures";
import { FRONTEND_DIR } from "./servers";

const OUT_DIR = path.resolve(FRONTEND_DIR, process.env.SCREENSHOTS_DIR ?? "../docs/screenshots");

async function shoot(page: Page, name: string) {
  // Let transitions settle, and take the whole page.
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(OUT_DIR, `${name}.png`), fullPage: true, animations: "disabled" });
}

test("screenshots of every page", async ({ page, request }) => {
  // "alice" is taken, so that the register page can show the API's duplicate-username message.
  await registerThroughApi(request, { ...newAccount(), username: "alice", email: "alice.taken@example.com" });

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Welcome" })).toBeVisible();
  await shoot(page, "home-signed-out");

  await page.goto("/login");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await shoot(page, "login");

  await page.goto("/register");
  await fillRegisterForm(page, {
    ...newAccount(),
    username: "alice",
    email: "alice@example",
    phone: "+44 20 7946 0000 ext. 1234",
  });
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByLabel("Username")).toHaveAttribute("aria-invalid", "true");
  await shoot(page, "register-errors");

  const account = {
    ...newAccount(),
    username: "lewis",
    email: "lewis.carroll@example.com",
    first_name: "Lewis",
    last_name: "Carroll",
    phone: "+44 1865 270000",
  };
  await page.goto("/register");
  await fillRegisterForm(page, account);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Signed in as lewis" })).toBeVisible();
  await shoot(page, "home-signed-in");

  await page.getByRole("link", { name: "View and edit your profile" }).click();
  await expect(page.getByLabel("Email")).toHaveValue(account.email);
  await page.getByLabel(/^Phone/).fill("+44 1865 270001");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("form", { name: "Edit profile" }).getByRole("status")).toHaveText("Profile saved.");
  await page.mouse.move(0, 0);
  await shoot(page, "profile");

  // The same page on a phone-sized screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await expect(page.getByLabel("Email")).toHaveValue(account.email);
  await shoot(page, "profile-phone");
});
