/**
 * Turns DRF-style error bodies into messages for a form: `{"username": ["..."]}`,
 * `{"profile": {"phone": ["..."]}}`, `{"user": {"email": ["..."]}}`, `{"non_field_errors": [...]}`
 * and `{"detail": "..."}`. Field messages are kept in the API's words.
 */

export type FieldErrors<F extends string = string> = Partial<Record<F, string[]>>;

export interface FormErrors<F extends string = string> {
  fields: FieldErrors<F>;
  /** Messages that belong to no field on the form: shown in the form's alert region. */
  general: string[];
}

export const NO_ERRORS: FormErrors<never> = Object.freeze({ fields: {}, general: [] }) as FormErrors<never>;

/** An HTTP answer the API gave with an error status. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    super(describeStatus(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** The request never got an answer (offline, server down, connection reset). */
export class NetworkError extends Error {
  constructor(message = "Could not reach the server. Check your connection and try again.") {
    super(message);
    this.name = "NetworkError";
  }
}

function describeStatus(status: number, body: unknown): string {
  if (body && typeof body === "object" && typeof (body as { detail?: unknown }).detail === "string") {
    return (body as { detail: string }).detail;
  }
  if (status >= 500) return `The server ran into a problem (HTTP ${status}). Please try again in a moment.`;
  if (status === 429) return "Too many attempts. Please wait a moment and try again.";
  return `The request failed (HTTP ${status}).`;
}

function toMessages(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap((v) => (typeof v === "string" ? [v] : toMessages(v)));
  if (value && typeof value === "object") return Object.values(value).flatMap(toMessages);
  return value == null ? [] : [String(value)];
}

/** Flattens a DRF error body into `path → messages`, e.g. `profile.phone → [...]`. */
export function flattenDrfErrors(body: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (path: string, messages: string[]) => {
    if (messages.length === 0) return;
    out.set(path, [...(out.get(path) ?? []), ...messages]);
  };
  const walk = (value: unknown, path: string) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) {
        walk(inner, path ? `${path}.${key}` : key);
      }
    } else {
      add(path, toMessages(value));
    }
  };
  if (body && typeof body === "object" && !Array.isArray(body)) {
    walk(body, "");
  } else {
    add("", toMessages(body));
  }
  return out;
}

const GENERAL_KEYS = new Set(["", "detail", "non_field_errors"]);
// simplejwt adds these beside "detail"; "detail" already says it in words.
const IGNORED_KEYS = new Set(["code", "messages"]);

function humanize(path: string): string {
  const last = path.split(".").pop() ?? path;
  const words = last.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Maps a DRF error body onto a form's fields. `fieldMap` names, for each API path, the form field
 * that shows its messages (`{"profile.phone": "phone"}`); unmapped paths go to `general`.
 */
export function mapApiErrors<F extends string>(body: unknown, fieldMap: Record<string, F>): FormErrors<F> {
  const fields: FieldErrors<F> = {};
  const general: string[] = [];
  for (const [path, messages] of flattenDrfErrors(body)) {
    const lastKey = path.split(".").pop() ?? "";
    if (IGNORED_KEYS.has(path)) continue;
    const field = fieldMap[path];
    if (field) {
      fields[field] = [...(fields[field] ?? []), ...messages];
    } else if (GENERAL_KEYS.has(path) || GENERAL_KEYS.has(lastKey)) {
      general.push(...messages);
    } else {
      general.push(...messages.map((m) => `${humanize(path)}: ${m}`));
    }
  }
  return { fields, general };
}

/** What a failed submit shows: field errors for a 400, one alert message for anything else. */
export function formErrorsFrom<F extends string>(error: unknown, fieldMap: Record<string, F>): FormErrors<F> {
  if (error instanceof ApiError) {
    if (error.body && typeof error.body === "object") {
      const mapped = mapApiErrors(error.body, fieldMap);
      if (mapped.general.length > 0 || Object.keys(mapped.fields).length > 0) return mapped;
    }
    return { fields: {}, general: [error.message] };
  }
  if (error instanceof NetworkError) return { fields: {}, general: [error.message] };
  return { fields: {}, general: ["Something went wrong. Please try again."] };
}

export function hasErrors(errors: FormErrors): boolean {
  return errors.general.length > 0 || Object.values(errors.fields).some((m) => (m?.length ?? 0) > 0);
}

/** The login answer (400, `non_field_errors`) when verification is mandatory and not yet done. */
export const EMAIL_NOT_VERIFIED = "E-mail is not verified.";

/** Whether a failed sign-in was refused only because the e-mail address is not verified yet. */
export function isEmailNotVerified(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 400) return false;
  const body = error.body;
  if (!body || typeof body !== "object") return false;
  const messages = (body as { non_field_errors?: unknown }).non_field_errors;
  return Array.isArray(messages) && messages.includes(EMAIL_NOT_VERIFIED);
}
