import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StrictMode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "@/lib/api";
import { LoginForm } from "../login-form";
import { RegisterForm } from "../register-form";
import { ResendVerificationForm } from "../resend-verification-form";
import { SessionProvider } from "../session";
import { VerifyEmailView } from "../verify-email-view";
import { accessToken, deferred, json, mockFetch } from "@/test/helpers";

let search = new URLSearchParams();
const router = { push: vi.fn(), replace: vi.fn(), back: vi.fn(), forward: vi.fn(), refresh: vi.fn(), prefetch: vi.fn() };
vi.mock("next/navigation", () => ({
  useRouter: () => router,
  usePathname: () => "/",
  useSearchParams: () => search,
}));

const PROFILE = {
  id: 1,
  user: { id: 1, username: "alice", email: "alice@example.com", first_name: "Alice", last_name: "Liddell" },
  phone: "",
  created_at: "2026-01-21T10:00:00.123456Z",
  updated_at: "2026-01-21T10:00:00.123456Z",
};
const RESENT = "If that address needs verifying, a new link is on its way.";
const signedOut = () => json(401, { detail: "Token is invalid", code: "token_not_valid" });

/** The messages shown for an input: what its aria-describedby points at. */
function describedText(input: HTMLElement): string {
  const ids = (input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean);
  return ids.map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
}

/** Keys are used once per page load (see verify-email-view): every test gets its own. */
let keyCounter = 0;
function newKey(): string {
  keyCounter += 1;
  return `key-${keyCounter}-${Math.random().toString(36).slice(2)}`;
}

function renderWithSession(ui: React.ReactElement) {
  return render(
    <StrictMode>
      <SessionProvider>{ui}</SessionProvider>
    </StrictMode>,
  );
}

beforeEach(() => {
  api.resetSessionForTests();
  search = new URLSearchParams();
  for (const fn of Object.values(router)) fn.mockReset();
});

afterEach(() => {
  api.resetSessionForTests();
});

describe("VerifyEmailView", () => {
  it("verifies the link's key exactly once, even in strict mode, and links to sign-in", async () => {
    const key = newKey();
    search = new URLSearchParams({ key });
    const answer = deferred<Response>();
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/email/verify": () => answer.promise,
    });
    renderWithSession(<VerifyEmailView />);
    expect(screen.getByText("Verifying your e-mail address…")).toBeInTheDocument();

    await act(async () => answer.resolve(json(200, { detail: "ok" })));
    expect(await screen.findByRole("status")).toHaveTextContent("Your e-mail address is verified.");
    await waitFor(() => expect(screen.getByRole("link", { name: "Sign in" })).toHaveAttribute("href", "/login"));
    expect(fetch.callsTo("POST /api/auth/email/verify")).toHaveLength(1);
    expect(fetch.callsTo("POST /api/auth/email/verify")[0].body).toEqual({ key });
    expect(fetch.callsTo("POST /api/auth/email/verify")[0].headers.authorization).toBeUndefined();
  });

  it("a remount shows the first answer again instead of spending the key a second time", async () => {
    const key = newKey();
    search = new URLSearchParams({ key });
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/email/verify": [() => json(200, { detail: "ok" }), () => json(404, { detail: "Not found." })],
    });
    const first = renderWithSession(<VerifyEmailView />);
    expect(await screen.findByText("Your e-mail address is verified.")).toBeInTheDocument();
    first.unmount();
    renderWithSession(<VerifyEmailView />);
    expect(await screen.findByText("Your e-mail address is verified.")).toBeInTheDocument();
    expect(fetch.callsTo("POST /api/auth/email/verify")).toHaveLength(1);
  });

  it("links to the profile when signed in, and reloads it (a changed address now shows)", async () => {
    search = new URLSearchParams({ key: newKey() });
    const fetch = mockFetch({
      "POST /api/auth/refresh": () => json(200, { access: accessToken("1") }),
      "GET /api/auth/profile": () => json(200, PROFILE),
      "POST /api/auth/email/verify": () => json(200, { detail: "ok" }),
    });
    renderWithSession(<VerifyEmailView />);
    expect(await screen.findByText("Your e-mail address is verified.")).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByRole("link", { name: "Go to your profile" })).toHaveAttribute("href", "/profile"),
    );
    expect(screen.queryByRole("link", { name: "Sign in" })).toBeNull();
    await waitFor(() => expect(fetch.callsTo("GET /api/auth/profile").length).toBeGreaterThanOrEqual(1));
  });

  it("on 404 says the link is invalid or expired and offers a new one", async () => {
    const user = userEvent.setup();
    search = new URLSearchParams({ key: newKey() });
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/email/verify": () => json(404, { detail: "Not found." }),
      "POST /api/auth/email/resend": () => json(200, { detail: "ok" }),
    });
    renderWithSession(<VerifyEmailView />);
    expect(await screen.findByText("This link is invalid or has expired.")).toBeInTheDocument();
    expect(screen.queryByText("Not found.")).toBeNull();

    const form = screen.getByRole("form", { name: "Send a new verification link" });
    await user.type(within(form).getByLabelText("Email"), "alice@example.com");
    await user.click(within(form).getByRole("button", { name: "Send a new link" }));
    expect(await within(form).findByText(RESENT)).toBeInTheDocument();
    expect(within(form).getByRole("status")).toHaveTextContent(RESENT);
    expect(fetch.callsTo("POST /api/auth/email/resend")[0].body).toEqual({ email: "alice@example.com" });
    expect(fetch.callsTo("POST /api/auth/email/verify")).toHaveLength(1);
  });

  it("without a key says the link is invalid and asks the API nothing", async () => {
    const fetch = mockFetch({ "POST /api/auth/refresh": signedOut });
    renderWithSession(<VerifyEmailView />);
    expect(screen.getByText("This link is invalid or has expired.")).toBeInTheDocument();
    expect(screen.getByRole("form", { name: "Send a new verification link" })).toBeInTheDocument();
    await waitFor(() => expect(fetch.callsTo("POST /api/auth/refresh")).toHaveLength(1));
    expect(fetch.callsTo("POST /api/auth/email/verify")).toHaveLength(0);
  });

  it("shows a failure that decided nothing in the API's words, and can try again", async () => {
    const user = userEvent.setup();
    search = new URLSearchParams({ key: newKey() });
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/email/verify": [
        () => json(429, { detail: "Request was throttled. Expected available in 1 second." }),
        () => json(200, { detail: "ok" }),
      ],
    });
    renderWithSession(<VerifyEmailView />);
    expect(await screen.findByText("Request was throttled. Expected available in 1 second.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("Your e-mail address is verified.")).toBeInTheDocument();
    expect(fetch.callsTo("POST /api/auth/email/verify")).toHaveLength(2);
  });
});

describe("ResendVerificationForm", () => {
  it("shows an invalid address beside the field and throttling in the alert", async () => {
    const user = userEvent.setup();
    mockFetch({
      "POST /api/auth/email/resend": [
        () => json(400, { email: ["Enter a valid email address."] }),
        () => json(429, { detail: "Request was throttled. Expected available in 9 seconds." }),
      ],
    });
    render(<ResendVerificationForm defaultEmail="alice@" />);
    const email = screen.getByLabelText("Email");
    expect(email).toHaveValue("alice@");
    await user.click(screen.getByRole("button", { name: "Send a new link" }));
    await waitFor(() => expect(describedText(email)).toContain("Enter a valid email address."));
    await waitFor(() => expect(email).toHaveFocus());

    await user.click(screen.getByRole("button", { name: "Send a new link" }));
    await waitFor(() =>
      expect(screen.getByRole("alert")).toHaveTextContent("Request was throttled. Expected available in 9 seconds."),
    );
    expect(screen.getByRole("status")).toBeEmptyDOMElement();
  });
});

async function fillRegister(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText("Username"), "alice");
  await user.type(screen.getByLabelText("Email"), "alice@example.com");
  await user.type(screen.getByLabelText("Password"), "correct-horse-9");
  await user.type(screen.getByLabelText("Confirm password"), "correct-horse-9");
}

describe("RegisterForm with verification mandatory", () => {
  it("shows 'check your e-mail' instead of signing in when the API answers without tokens", async () => {
    const user = userEvent.setup();
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/register": () => json(201, { detail: "Verification e-mail sent." }),
      "POST /api/auth/email/resend": () => json(200, { detail: "ok" }),
    });
    renderWithSession(<RegisterForm />);
    await fillRegister(user);
    await user.click(screen.getByRole("button", { name: "Create account" }));

    const heading = await screen.findByRole("heading", { name: "Check your e-mail" });
    await waitFor(() => expect(heading).toHaveFocus());
    expect(screen.getAllByRole("status")[0]).toHaveTextContent("Verification e-mail sent.");
    expect(screen.getByText(/We sent a link to/)).toHaveTextContent(
      "We sent a link to alice@example.com. Follow it to verify your address, then sign in.",
    );
    expect(screen.getByRole("link", { name: "sign in" })).toHaveAttribute("href", "/login");
    // Not signed in: no token, no profile request, no redirect.
    expect(api.getAccessToken()).toBeNull();
    expect(fetch.callsTo("GET /api/auth/profile")).toHaveLength(0);
    expect(router.replace).not.toHaveBeenCalled();

    // The resend form already has the address.
    const form = screen.getByRole("form", { name: "Send a new verification link" });
    expect(within(form).getByLabelText("Email")).toHaveValue("alice@example.com");
    await user.click(within(form).getByRole("button", { name: "Send a new link" }));
    expect(await within(form).findByText(RESENT)).toBeInTheDocument();
    expect(fetch.callsTo("POST /api/auth/email/resend")[0].body).toEqual({ email: "alice@example.com" });
  });

  it("with tokens in the answer signs in and leaves, as before", async () => {
    const user = userEvent.setup();
    mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/register": () => json(201, { access: accessToken("1"), refresh: "r" }),
      "GET /api/auth/profile": () => json(200, PROFILE),
    });
    renderWithSession(<RegisterForm />);
    await fillRegister(user);
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/"));
    expect(screen.queryByRole("heading", { name: "Check your e-mail" })).toBeNull();
  });
});

describe("LoginForm with an unverified address", () => {
  it("shows the API's message in the alert and offers a new verification link", async () => {
    const user = userEvent.setup();
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/login": [
        () => json(400, { non_field_errors: ["E-mail is not verified."] }),
        () => json(401, { detail: "No active account found with the given credentials" }),
      ],
      "POST /api/auth/email/resend": () => json(200, { detail: "ok" }),
    });
    renderWithSession(<LoginForm />);
    expect(screen.queryByRole("form", { name: "Send a new verification link" })).toBeNull();

    await user.type(screen.getByLabelText("Username"), "alice");
    await user.type(screen.getByLabelText("Password"), "correct-horse-9");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    const signInForm = screen.getByRole("form", { name: "Sign in" });
    await waitFor(() => expect(within(signInForm).getByRole("alert")).toHaveTextContent("E-mail is not verified."));
    expect(screen.getByRole("heading", { name: "Verify your e-mail address" })).toBeInTheDocument();
    const resend = screen.getByRole("form", { name: "Send a new verification link" });
    await user.type(within(resend).getByLabelText("Email"), "alice@example.com");
    await user.click(within(resend).getByRole("button", { name: "Send a new link" }));
    expect(await within(resend).findByText(RESENT)).toBeInTheDocument();
    expect(fetch.callsTo("POST /api/auth/email/resend")).toHaveLength(1);
    expect(api.getAccessToken()).toBeNull();

    // Another failure (a wrong password) is not about verification: the offer goes away.
    await user.click(within(signInForm).getByRole("button", { name: "Sign in" }));
    await waitFor(() =>
      expect(within(signInForm).getByRole("alert")).toHaveTextContent(
        "No active account found with the given credentials",
      ),
    );
    expect(screen.queryByRole("form", { name: "Send a new verification link" })).toBeNull();
  });
});
