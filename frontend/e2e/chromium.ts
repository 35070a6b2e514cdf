import { existsSync } from "node:fs";

/** Debian's Chromium (apt-get install chromium); Playwright's own browser builds are never downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

if (!existsSync(CHROMIUM_PATH)) {
  throw new Error(
    `Chromium not found at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) ` +
      "or set CHROMIUM_PATH. Do not run `npx playwright install`.",
  );
}

export const launchOptions = {
  executablePath: CHROMIUM_PATH,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};
