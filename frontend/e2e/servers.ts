/**
 * Starts what the end-to-end suite runs against: the real auth-server (fresh SQLite database in a
 * temporary folder, refresh cookie on, refresh-token rotation on, 3-second access tokens, e-mail
 * written as files to a fresh folder) and this app built with `next build` and served with
 * `next start`, each on a free port of 127.0.0.1.
 *
 * A second pair serves the specs that need e-mail verification to be mandatory, a setting the
 * server reads at start-up: another auth-server (its own database, ACCOUNT_EMAIL_VERIFICATION=
 * mandatory) and a second `next start` of the same build. The build's API origin is fixed when it
 * is built (the rewrite is in the build output), so it points at a small router here, which sends
 * each request to the API that belongs to the web app it came through (by the X-Forwarded-Host
 * that the Next.js proxy adds): one build for both.
 *
 * Environment:
 *   AUTH_SERVER_BIN   the auth-server binary (default ../target/release/auth-server)
 *   AUTH_CONFIG_DIR   auth-server's config folder (default ../config)
 *   E2E_API_PORT, E2E_WEB_PORT   fixed ports instead of free ones
 *   E2E_VERIFY_API_PORT, E2E_VERIFY_WEB_PORT   the same for the verification-mandatory pair
 *   E2E_ROUTER_PORT   fixed port of the router the build points at
 *   E2E_REUSE_BUILD=1 skip `next build` when .next was built by this harness for the same router
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from "node:http";
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
  /** The pair with ACCOUNT_EMAIL_VERIFICATION=mandatory. */
  verifyApiUrl: string;
  verifyWebUrl: string;
  /** Where both API servers write their e-mail, one .eml file per message. */
  mailDir: string;
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

/**
 * The API origin the build points at: forwards each request, as it is, to the API server of the
 * web app it came through, named by the Next.js proxy's X-Forwarded-Host (`127.0.0.1:<web port>`).
 * The API sees the Host it would see without the router: its own.
 */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "upgrade"];

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

function startRouter(port: number, apiFor: (forwardedHost: string) => URL): Promise<Server> {
  const server = createHttpServer((req, res) => {
    const forwarded = req.headers["x-forwarded-host"];
    const target = apiFor(Array.isArray(forwarded) ? forwarded[0] : (forwarded ?? ""));
    const upstream = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...withoutHopByHop(req.headers), host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, withoutHopByHop(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ detail: `e2e router: ${target.origin} did not answer (${error.message})` }));
    });
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function stopRouter(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
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
  const taken = new Set<number>();
  const port = async (name: string) => {
    let chosen = Number(process.env[name]) || (await freePort());
    // Ports freed one after the other can come back: every server gets its own.
    while (taken.has(chosen)) chosen = await freePort();
    taken.add(chosen);
    return chosen;
  };
  const apiPort = await port("E2E_API_PORT");
  const webPort = await port("E2E_WEB_PORT");
  const verifyApiPort = await port("E2E_VERIFY_API_PORT");
  const verifyWebPort = await port("E2E_VERIFY_WEB_PORT");
  const routerPort = await port("E2E_ROUTER_PORT");
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const webUrl = `http://127.0.0.1:${webPort}`;
  const verifyApiUrl = `http://127.0.0.1:${verifyApiPort}`;
  const verifyWebUrl = `http://127.0.0.1:${verifyWebPort}`;
  const routerUrl = `http://127.0.0.1:${routerPort}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), "auth-server-e2e-"));
  const mailDir = path.join(dataDir, "mail");
  mkdirSync(mailDir);
  const log = (name: string) => path.join(dataDir, name);
  console.log(`[e2e] data, mail and logs in ${dataDir}`);

  const children: (ChildProcess | undefined)[] = [];
  let router: Server | undefined;
  const stop = async () => {
    await Promise.all([...children.map(stopProcess), stopRouter(router)]);
    if (!process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const apiEnv = (name: string, ownPort: number, ownWebPort: number, verification: string): NodeJS.ProcessEnv => ({
      ...process.env,
      AUTH_ENV: "test",
      AUTH_CONFIG_DIR: configDir,
      DATABASE_URL: `sqlite://${dataDir}/${name}.sqlite3`,
      BIND_ADDRESS: `127.0.0.1:${ownPort}`,
      ALLOWED_HOSTS: "127.0.0.1,localhost",
      CORS_ALLOWED_ORIGINS: `http://127.0.0.1:${ownWebPort},http://localhost:${ownWebPort}`,
      AUTH__SECURITY__REFRESH_COOKIE: "true",
      AUTH__JWT__ACCESS_TOKEN_LIFETIME_SECS: String(ACCESS_TOKEN_LIFETIME_SECS),
      // Every refresh answers a new refresh token (and cookie), as in docker-compose.yml. A server
      // without rotation ignores the variable.
      ROTATE_REFRESH_TOKENS: "true",
      // The suite signs in and registers far more often from 127.0.0.1 than THROTTLE_RATES allows.
      THROTTLE_ENABLED: "false",
      // Mail as files the specs read (e2e/mail.ts); its links lead to this pair's web app.
      EMAIL_BACKEND: "file",
      EMAIL_FILE_PATH: mailDir,
      FRONTEND_URL: `http://127.0.0.1:${ownWebPort}`,
      ACCOUNT_EMAIL_VERIFICATION: verification,
      AUTH__LOG__LEVEL: process.env.AUTH__LOG__LEVEL ?? "info",
    });
    // A .env in the working directory would fill in unset variables: run from the data folder.
    const api = start(bin, ["serve"], apiEnv("e2e", apiPort, webPort, "none"), log("auth-server.log"), dataDir);
    const verifyApi = start(
      bin,
      ["serve"],
      apiEnv("e2e-verify", verifyApiPort, verifyWebPort, "mandatory"),
      log("auth-server-verify.log"),
      dataDir,
    );
    children.push(api, verifyApi);
    const apisUp = Promise.all([
      waitUntilUp(`${apiUrl}/health`, api, log("auth-server.log"), 30_000),
      waitUntilUp(`${verifyApiUrl}/health`, verifyApi, log("auth-server-verify.log"), 30_000),
    ]);
    router = await startRouter(routerPort, (forwardedHost) =>
      new URL(forwardedHost.endsWith(`:${verifyWebPort}`) ? verifyApiUrl : apiUrl),
    );

    const webEnv: NodeJS.ProcessEnv = { ...process.env, API_ORIGIN: routerUrl, NEXT_TELEMETRY_DISABLED: "1" };
    const reuse =
      process.env.E2E_REUSE_BUILD === "1" && existsSync(BUILD_MARKER) && readFileSync(BUILD_MARKER, "utf8") === routerUrl;
    if (!reuse) {
      console.log(`[e2e] next build (API_ORIGIN=${routerUrl}, the router in front of both API servers)…`);
      const build = spawnSync(NEXT_BIN, ["build"], { cwd: FRONTEND_DIR, env: webEnv, encoding: "utf8" });
      if (build.status !== 0) {
        throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
      }
      writeFileSync(BUILD_MARKER, routerUrl);
    }
    await apisUp;

    const serve = (ownPort: number) => ["start", "--hostname", "127.0.0.1", "--port", String(ownPort)];
    const web = start(NEXT_BIN, serve(webPort), webEnv, log("next.log"));
    const verifyWeb = start(NEXT_BIN, serve(verifyWebPort), webEnv, log("next-verify.log"));
    children.push(web, verifyWeb);
    await Promise.all([
      waitUntilUp(`${webUrl}/login`, web, log("next.log"), 60_000),
      waitUntilUp(`${verifyWebUrl}/login`, verifyWeb, log("next-verify.log"), 60_000),
    ]);
    console.log(`[e2e] auth-server at ${apiUrl}, web app at ${webUrl}`);
    console.log(`[e2e] with verification mandatory: auth-server at ${verifyApiUrl}, web app at ${verifyWebUrl}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { apiUrl, webUrl, verifyApiUrl, verifyWebUrl, mailDir, stop };
}
