import { startServers } from "./servers";

/**
 * Starts auth-server and the built app once for the whole run; the URLs reach the test workers
 * through the environment (workers start after this and read playwright.config.ts again).
 */
export default async function globalSetup() {
  const servers = await startServers();
  process.env.E2E_BASE_URL = servers.webUrl;
  process.env.E2E_API_URL = servers.apiUrl;
  process.env.E2E_VERIFY_BASE_URL = servers.verifyWebUrl;
  process.env.E2E_VERIFY_API_URL = servers.verifyApiUrl;
  process.env.E2E_MAIL_DIR = servers.mailDir;
  return async () => {
    await servers.stop();
  };
}
