import { defineConfig, devices } from "@playwright/test";
import { launchOptions } from "./e2e/chromium";

// End-to-end tests against the real auth-server and the production build of this app; both are
// started by e2e/global-setup.ts (see e2e/servers.ts for the environment it reads).
export default defineConfig({
  testDir: "./e2e",
  testMatch: "**/*.spec.ts",
  testIgnore: "**/screenshots.spec.ts",
  globalSetup: "./e2e/global-setup.ts",
  // One worker: the machine is shared with Rust builds, and the tests share one server.
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  use: {
    baseURL: process.env.E2E_BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions,
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], channel: undefined, launchOptions } },
    {
      name: "phone",
      use: { ...devices["Pixel 7"], launchOptions },
      // The whole journey on a phone-sized screen; the other scenarios run on the desktop only.
      grep: /@phone/,
    },
  ],
});
