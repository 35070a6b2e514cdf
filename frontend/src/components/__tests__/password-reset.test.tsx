import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "@/lib/api";
import { ForgotPasswordForm } from "../forgot-password-form";
import { LoginForm } from "../login-form";
import { ResetPasswordForm } from "../reset-password-form";
import { SessionProvider } from "../session";
import { deferred, json, mockFetch } from "@/test/helpers";

let search = new URLSearchParams();
const router = { push: vi.fn(), replace: vi.fn(), back: vi.fn(), forward: vi.fn(), refresh: vi.fn(), prefetch: vi.fn() };
vi.mock("next/navigation", () => ({
  useRouter: () => router,
  usePathname: () => "/",
  useSearchParams: () => search,
}));

const THROTTLED = "Request was throttled. Expected available in 42 seconds.";

/** The messages shown for an input: what its aria-describedby points at. */
function describedText(input: HTMLElement): string {
  const ids = (input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean);
  return ids.map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
}

beforeEach(() => {
  api.resetSessionForTests();
  search = new URLSearchParams();
});

afterEach(() => {
  api.resetSessionForTests();
});

describe("the sign-in page", () => {
  it("links to the forgotten-password page", () => {
    mockFetch({ "POST /api/auth/refresh": () => json(401, { detail: "Token is invalid", code: "token_not_valid" }) });
    render(
      <SessionProvider>
        <LoginForm />
      </SessionProvider>,
    );
    expect(screen.getByRole("link", { name: "Forgot password?" })).toHaveAttribute("href", "/forgot-password");
  });
});

describe("ForgotPasswordForm", () => {
  it("posts the address, then shows the API's words and a hint that gives nothing away", async () => {
    const user = userEvent.setup();
    const answer = deferred<Response>();
    const fetch = mockFetch({ "POST /api/auth/password/reset": () => answer.promise });
    render(<ForgotPasswordForm />);

    await user.type(screen.getByLabelText("Email"), "alice@example.com");
    await user.click(screen.getByRole("button", { name: "Send reset link" }));
    expect(screen.getByRole("button", { name: "Sending…" })).toBeDisabled();
    await user.click(screen.getByRole("button", { name: "Sending…" }));
    expect(fetch.calls).toHaveLength(1);

    await act(async () => answer.resolve(json(200, { detail: "Password reset e-mail has been sent." })));
    expect(await screen.findByRole("status")).toHaveTextContent("Password reset e-mail has been sent.");
    expect(screen.getByText(/If an account has the address/)).toHaveTextContent(
      "If an account has the address alice@example.com, a link to choose a new password arrives there shortly.",
    );
    expect(screen.getByRole("heading", { name: "Check your e-mail" })).toHaveFocus();
    expect(screen.getByRole("link", { name: "Back to sign in" })).toHaveAttribute("href", "/login");
    expect(fetch.calls[0].body).toEqual({ email: "alice@example.com" });
    expect(fetch.calls[0].headers.authorization).toBeUndefined();

    // "try again" brings the form back.
    await user.click(screen.getByRole("button", { name: "try again" }));
    expect(screen.getByLabelText("Email")).toBeInTheDocument();
  });

  it("shows the API's 400 beside the e-mail field", async () => {
    const user = userEvent.setup();
    mockFetch({ "POST /api/auth/password/reset": () => json(400, { email: ["Enter a valid email address."] }) });
    render(<ForgotPasswordForm />);
    await user.type(screen.getByLabelText("Email"), "alice@");
    await user.click(screen.getByRole("button", { name: "Send reset link" }));

    const email = screen.getByLabelText("Email");
    await waitFor(() => expect(email).toHaveAttribute("aria-invalid", "true"));
    expect(describedText(email)).toContain("Enter a valid email address.");
    await waitFor(() => expect(email).toHaveFocus());
    expect(screen.getByRole("alert")).toBeEmptyDOMElement();
  });

  it("shows throttling in the alert region, in the API's words", async () => {
    const user = userEvent.setup();
    mockFetch({ "POST /api/auth/password/reset": () => json(429, { detail: THROTTLED }, { "Retry-After": "42" }) });
    render(<ForgotPasswordForm />);
    await user.type(screen.getByLabelText("Email"), "alice@example.com{Enter}");
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent(THROTTLED));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveFocus());
    expect(screen.getByRole("button", { name: "Send reset link" })).toBeEnabled();
  });
});

describe("ResetPasswordForm", () => {
  async function fillAndSubmit(user: ReturnType<typeof userEvent.setup>, confirm = "a-new-horse-9") {
    await user.type(screen.getByLabelText("New password"), "a-new-horse-9");
    await user.type(screen.getByLabelText("Confirm new password"), confirm);
    await user.click(screen.getByRole("button", { name: "Reset password" }));
  }

  it("sends the link's uid and token with both passwords, then says so and links to sign-in", async () => {
    search = new URLSearchParams("uid=MQ&token=abc-123");
    const user = userEvent.setup();
    const answer = deferred<Response>();
    const fetch = mockFetch({ "POST /api/auth/password/reset/confirm": () => answer.promise });
    render(<ResetPasswordForm />);

    await fillAndSubmit(user);
    expect(screen.getByRole("button", { name: "Resetting password…" })).toBeDisabled();
    await act(async () => answer.resolve(json(200, { detail: "Password has been reset with the new password." })));

    expect(await screen.findByRole("status")).toHaveTextContent("Password has been reset with the new password.");
    expect(screen.getByRole("heading", { name: "Password reset" })).toHaveFocus();
    expect(screen.getByRole("link", { name: "Sign in" })).toHaveAttribute("href", "/login");
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0].body).toEqual({
      uid: "MQ",
      token: "abc-123",
      new_password1: "a-new-horse-9",
      new_password2: "a-new-horse-9",
    });
  });

  it.each([
    ["token", { token: ["Invalid value"] }],
    ["uid", { uid: ["Invalid value"] }],
  ])("turns a refused %s into 'This link is invalid or has expired' with a way to a new link", async (_, body) => {
    search = new URLSearchParams("uid=MQ&token=used");
    const user = userEvent.setup();
    mockFetch({ "POST /api/auth/password/reset/confirm": () => json(400, body) });
    render(<ResetPasswordForm />);
    await fillAndSubmit(user);

    const alert = await screen.findByText("This link is invalid or has expired.");
    expect(screen.getByRole("alert")).toHaveTextContent("This link is invalid or has expired.");
    expect(screen.getByRole("alert")).not.toHaveTextContent("Invalid value");
    await waitFor(() => expect(screen.getByRole("alert")).toHaveFocus());
    expect(alert).toBeVisible();
    expect(screen.getByRole("link", { name: "Ask for a new link" })).toHaveAttribute("href", "/forgot-password");
    expect(screen.queryByLabelText("New password")).toBeNull();
  });

  it("shows the password validators' messages beside the confirm field, where the API puts them", async () => {
    search = new URLSearchParams("uid=MQ&token=abc-123");
    const user = userEvent.setup();
    mockFetch({
      "POST /api/auth/password/reset/confirm": [
        () =>
          json(400, {
            new_password2: ["This password is too common.", "The password is too similar to the username."],
          }),
        () => json(400, { new_password2: ["The two password fields didn’t match."] }),
        () => json(400, { new_password1: ["This field may not be blank."] }),
      ],
    });
    render(<ResetPasswordForm />);
    await fillAndSubmit(user);

    const confirm = screen.getByLabelText("Confirm new password");
    await waitFor(() => expect(confirm).toHaveAttribute("aria-invalid", "true"));
    expect(describedText(confirm)).toContain("This password is too common.");
    expect(describedText(confirm)).toContain("The password is too similar to the username.");
    expect(screen.getByLabelText("New password")).not.toHaveAttribute("aria-invalid");
    await waitFor(() => expect(confirm).toHaveFocus());

    await user.click(screen.getByRole("button", { name: "Reset password" }));
    await waitFor(() => expect(describedText(confirm)).toContain("The two password fields didn’t match."));
    expect(describedText(confirm)).not.toContain("This password is too common.");

    await user.click(screen.getByRole("button", { name: "Reset password" }));
    const password = screen.getByLabelText("New password");
    await waitFor(() => expect(describedText(password)).toContain("This field may not be blank."));
    expect(confirm).not.toHaveAttribute("aria-invalid");
  });

  it("shows throttling and other answers in the alert region and keeps the form", async () => {
    search = new URLSearchParams("uid=MQ&token=abc-123");
    const user = userEvent.setup();
    mockFetch({ "POST /api/auth/password/reset/confirm": () => json(429, { detail: THROTTLED }) });
    render(<ResetPasswordForm />);
    await fillAndSubmit(user);
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent(THROTTLED));
    expect(screen.getByLabelText("New password")).toBeInTheDocument();
  });

  it.each(["", "uid=MQ", "token=abc-123", "uid=&token=abc-123"])(
    "without both uid and token (%j) says the link is invalid and asks the API nothing",
    (query) => {
      search = new URLSearchParams(query);
      const fetch = mockFetch({});
      render(<ResetPasswordForm />);
      expect(screen.getByRole("alert")).toHaveTextContent("This link is invalid or has expired.");
      expect(screen.getByRole("link", { name: "Ask for a new link" })).toHaveAttribute("href", "/forgot-password");
      expect(screen.queryByLabelText("New password")).toBeNull();
      expect(fetch.calls).toHaveLength(0);
    },
  );
});
