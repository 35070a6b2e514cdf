/**
 * Starts what the end-to-end suite runs against: the real auth-server (fresh SQLite database in a
 * temporary folder, refresh cookie on, refresh-token rotation on, 3-second access tokens) and this
 * app built with `next build` and served with `next start`, each on a free port of 127.0.0.1.
 *
 * Environment:
 *   AUTH_SERVER_BIN   the auth-server binary (default ../target/release/auth-server)
 *   AUTH_CONFIG_DIR   auth-server's config folder (default ../config)
 *   E2E_API_PORT, E2E_WEB_PORT   fixed ports instead of free ones
 *   E2E_REUSE_BUILD=1 skip `next build` when .next was built by this harness for the same API origin
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export const FRONTEND_DIR = path.resolve(__dirname, "..");
const REPO_DIR = path.resolve(FRONTEND_DIR, "..");
const NEXT_BIN = path.join(FRONTEND_DIR, "node_modules", ".bin", "next");
const BUILD_MARKER = path.join(FRONTEND_DIR, ".next", "e2e-api-origin");

/** The access-token lifetime the suite configures, for the refresh scenario. */
export const ACCESS_TOKEN_LIFETIME_SECS = 3;

export interface Servers {
  apiUrl: string;
  webUrl: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function waitUntilUp(url: string, child: ChildProcess, log: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: the process exited (${child.exitCode ?? child.signalCode}). Its log:\n${tail(log)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up within ${timeoutMs / 1000} s. Its log:\n${tail(log)}`);
}

/** Starts a process in its own process group, so stopping it stops whatever it started. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv, log: string, cwd = FRONTEND_DIR): ChildProcess {
  const out = createWriteStream(log, { flags: "a" });
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

export function authServerBin(): string {
  return path.resolve(FRONTEND_DIR, process.env.AUTH_SERVER_BIN ?? path.join(REPO_DIR, "target", "release", "auth-server"));
}

export async function startServers(): Promise<Servers> {
  const bin = authServerBin();
  if (!existsSync(bin)) {
    throw new Error(
      `auth-server binary not found at ${bin}. Build it with \`cargo build --release --bin auth-server\` ` +
        "in the repository root, or point AUTH_SERVER_BIN at it.",
    );
  }
  const configDir = path.resolve(FRONTEND_DIR, process.env.AUTH_CONFIG_DIR ?? path.join(REPO_DIR, "config"));
  const apiPort = Number(process.env.E2E_API_PORT) || (await freePort());
  const webPort = Number(process.env.E2E_WEB_PORT) || (await freePort());
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const webUrl = `http://127.0.0.1:${webPort}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), "auth-server-e2e-"));
  const apiLog = path.join(dataDir, "auth-server.log");
  const webLog = path.join(dataDir, "next.log");
  console.log(`[e2e] data and logs in ${dataDir}`);

  let api: ChildProcess | undefined;
  let web: ChildProcess | undefined;
  const stop = async () => {
    await Promise.all([stopProcess(web), stopProcess(api)]);
    if (!process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const apiEnv: NodeJS.ProcessEnv = {
      ...process.env,
      AUTH_ENV: "test",
      AUTH_CONFIG_DIR: configDir,
      DATABASE_URL: `sqlite://${dataDir}/e2e.sqlite3`,
      BIND_ADDRESS: `127.0.0.1:${apiPort}`,
      ALLOWED_HOSTS: "127.0.0.1,localhost",
      CORS_ALLOWED_ORIGINS: `http://127.0.0.1:${webPort},http://localhost:${webPort}`,
      AUTH__SECURITY__REFRESH_COOKIE: "true",
      AUTH__JWT__ACCESS_TOKEN_LIFETIME_SECS: String(ACCESS_TOKEN_LIFETIME_SECS),
      // Every refresh answers a new refresh token (and cookie), as in docker-compose.yml. A server
      // without rotation ignores the variable.
      ROTATE_REFRESH_TOKENS: "true",
      // The suite signs in and registers far more often from 127.0.0.1 than THROTTLE_RATES allows.
      THROTTLE_ENABLED: "false",
      AUTH__LOG__LEVEL: process.env.AUTH__LOG__LEVEL ?? "info",
    };
    // A .env in the working directory would fill in unset variables: run from the data folder.
    api = start(bin, ["serve"], apiEnv, apiLog, dataDir);
    const apiUp = waitUntilUp(`${apiUrl}/health`, api, apiLog, 30_000);

    const webEnv: NodeJS.ProcessEnv = { ...process.env, API_ORIGIN: apiUrl, NEXT_TELEMETRY_DISABLED: "1" };
    const reuse =
      process.env.E2E_REUSE_BUILD === "1" && existsSync(BUILD_MARKER) && readFileSync(BUILD_MARKER, "utf8") === apiUrl;
    if (!reuse) {
      console.log(`[e2e] next build (API_ORIGIN=${apiUrl})…`);
      const build = spawnSync(NEXT_BIN, ["build"], { cwd: FRONTEND_DIR, env: webEnv, encoding: "utf8" });
      if (build.status !== 0) {
        throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
      }
      writeFileSync(BUILD_MARKER, apiUrl);
    }
    await apiUp;

    web = start(NEXT_BIN, ["start", "--hostname", "127.0.0.1", "--port", String(webPort)], webEnv, webLog);
    await waitUntilUp(`${webUrl}/login`, web, webLog, 60_000);
    console.log(`[e2e] auth-server at ${apiUrl}, web app at ${webUrl}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { apiUrl, webUrl, stop };
}
