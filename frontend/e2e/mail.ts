/**
 * The e-mail auth-server sent during the run, read from EMAIL_FILE_PATH (the `file` backend: one
 * RFC 5322 .eml file per message, multipart/alternative with a text/plain and a text/html part).
 * Mail goes out from a background worker, so the helpers poll until it is there.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export interface Mail {
  file: string;
  to: string;
  subject: string;
  /** The decoded text/plain part ("" if none). */
  text: string;
  /** The decoded text/html part ("" if none). */
  html: string;
}

export function mailDir(): string {
  const dir = process.env.E2E_MAIL_DIR;
  if (!dir) throw new Error("E2E_MAIL_DIR is not set: run the suite through playwright.config.ts");
  return dir;
}

/** Header name (lower case) → value, folded lines unfolded; and what follows the blank line. */
function splitHeaders(raw: string): { headers: Map<string, string>; body: string } {
  const normalised = raw.replace(/\r\n/g, "\n");
  const end = normalised.indexOf("\n\n");
  const head = end === -1 ? normalised : normalised.slice(0, end);
  const body = end === -1 ? "" : normalised.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const input = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < input.length; i++) {
    const hex = input.slice(i + 1, i + 3);
    if (input[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(input[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? "").toLowerCase()) {
    case "quoted-printable":
      return decodeQuotedPrintable(body);
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    default:
      return body;
  }
}

/** RFC 2047 encoded words (`=?utf-8?q?…?=`, `=?utf-8?b?…?=`) in a header. */
function decodeHeader(value: string): string {
  return value.replace(/=\?([^?]+)\?([bqBQ])\?([^?]*)\?=/g, (_, _charset: string, kind: string, data: string) =>
    kind.toLowerCase() === "b"
      ? Buffer.from(data, "base64").toString("utf8")
      : decodeQuotedPrintable(data.replace(/_/g, " ")),
  );
}

function boundaryOf(contentType: string): string | null {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  return match ? match[1] : null;
}

/** Collects the text/plain and text/html parts, however deep the multipart nesting goes. */
function collectParts(headers: Map<string, string>, body: string, into: { text: string; html: string }) {
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = boundaryOf(type);
  if (/^multipart\//i.test(type) && boundary) {
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith("--")) break;
      const part = splitHeaders(section.replace(/^\n/, ""));
      collectParts(part.headers, part.body, into);
    }
    return;
  }
  const decoded = decodeBody(body, headers.get("content-transfer-encoding"));
  if (/^text\/html/i.test(type)) into.html ||= decoded;
  else if (/^text\/plain/i.test(type)) into.text ||= decoded;
}

export function parseMail(file: string, raw: string): Mail {
  const { headers, body } = splitHeaders(raw);
  const parts = { text: "", html: "" };
  collectParts(headers, body, parts);
  return {
    file,
    to: decodeHeader(headers.get("to") ?? ""),
    subject: decodeHeader(headers.get("subject") ?? ""),
    ...parts,
  };
}

function addressesIn(header: string): string[] {
  return (header.match(/[^\s<>,;"]+@[^\s<>,;"]+/g) ?? []).map((a) => a.toLowerCase());
}

/** Every mail to `address` in the folder now, oldest first; files still being written are skipped. */
export function mailTo(address: string): Mail[] {
  const dir = mailDir();
  const wanted = address.toLowerCase();
  const files = readdirSync(dir)
    .filter((name) => !name.startsWith("."))
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile())
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || a.localeCompare(b));
  const mails: Mail[] = [];
  for (const file of files) {
    const mail = parseMail(file, readFileSync(file, "utf8"));
    if (addressesIn(mail.to).includes(wanted)) mails.push(mail);
  }
  return mails;
}

/** Links in a mail: the plain text's first, then the HTML's hrefs (entities decoded). */
export function linksIn(mail: Mail): string[] {
  const fromText = (mail.text.match(/https?:\/\/[^\s<>"')\]]+/g) ?? []).map((url) => url.replace(/[.,;:!?]+$/, ""));
  const fromHtml = [...mail.html.matchAll(/href="([^"]+)"/gi)].map((m) =>
    m[1].replace(/&amp;/g, "&").replace(/&#x3d;|&#61;/gi, "="),
  );
  return [...fromText, ...fromHtml];
}

/**
 * Waits (up to `timeoutMs`) for a mail to `address` that `matches`, not one of `ignore` (files seen
 * before), and returns the newest such mail.
 */
export async function waitForMail(
  address: string,
  { matches = () => true, ignore = new Set<string>(), timeoutMs = 10_000 }: {
    matches?: (mail: Mail) => boolean;
    ignore?: Set<string>;
    timeoutMs?: number;
  } = {},
): Promise<Mail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = mailTo(address).filter((mail) => !ignore.has(mail.file) && matches(mail));
    if (found.length > 0) return found[found.length - 1];
    if (Date.now() > deadline) {
      const seen = mailTo(address).map((m) => `${path.basename(m.file)}: ${m.subject}`);
      throw new Error(
        `no matching mail to ${address} in ${mailDir()} within ${timeoutMs / 1000} s` +
          (seen.length ? `; mail to that address: ${seen.join(", ")}` : "; none to that address at all"),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Waits for a mail to `address` with a link that starts with `prefix` (the FRONTEND_URL of the
 * server that sent it, plus a path such as `/reset-password`), and returns that link.
 */
export async function waitForLink(address: string, prefix: string, options: { ignore?: Set<string> } = {}): Promise<string> {
  const mail = await waitForMail(address, {
    ...options,
    matches: (m) => linksIn(m).some((link) => link.startsWith(prefix)),
  });
  return linksIn(mail).find((link) => link.startsWith(prefix))!;
}

/** The files of the mail to `address` so far, to `ignore` while waiting for the next one. */
export function mailSeen(address: string): Set<string> {
  return new Set(mailTo(address).map((m) => m.file));
}
