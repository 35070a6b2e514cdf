import { defineConfig } from "@playwright/test";
import { launchOptions } from "./e2e/chromium";

// `npm run screenshots`: the e2e set-up (real auth-server, built app), then one PNG per page in
// ../docs/screenshots/.
export default defineConfig({
  testDir: "./e2e",
  testMatch: "**/screenshots.spec.ts",
  globalSetup: "./e2e/global-setup.ts",
  workers: 1,
  timeout: 60_000,
  reporter: [["list"]],
  use: {
    baseURL: process.env.E2E_BASE_URL,
    browserName: "chromium",
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    colorScheme: "light",
    locale: "en-GB",
    timezoneId: "UTC",
    launchOptions,
  },
});
