import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "@/lib/api";
import { LoginForm } from "../login-form";
import { ProfileForm } from "../profile-view";
import { RegisterForm } from "../register-form";
import { SessionProvider } from "../session";
import { accessToken, deferred, json, mockFetch } from "@/test/helpers";

const router = { push: vi.fn(), replace: vi.fn(), back: vi.fn(), forward: vi.fn(), refresh: vi.fn(), prefetch: vi.fn() };
vi.mock("next/navigation", () => ({
  useRouter: () => router,
  usePathname: () => "/",
}));

const PROFILE = {
  id: 1,
  user: { id: 1, username: "alice", email: "alice@example.com", first_name: "Alice", last_name: "Liddell" },
  phone: "1234567890",
  created_at: "2026-01-21T10:00:00.123456Z",
  updated_at: "2026-01-21T10:00:00.123456Z",
};

const signedOut = () => json(401, { detail: "Token is invalid", code: "token_not_valid" });

/** The messages shown for an input: what its aria-describedby points at. */
function describedText(input: HTMLElement): string {
  const ids = (input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean);
  return ids.map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
}

function renderWithSession(ui: React.ReactElement) {
  return render(<SessionProvider>{ui}</SessionProvider>);
}

beforeEach(() => {
  api.resetSessionForTests();
  vi.spyOn(Storage.prototype, "setItem");
  for (const fn of Object.values(router)) fn.mockReset();
});

afterEach(() => {
  expect(Storage.prototype.setItem).not.toHaveBeenCalled();
  api.resetSessionForTests();
});

async function fillRegister(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText("Username"), "alice");
  await user.type(screen.getByLabelText("Email"), "alice@example.com");
  await user.type(screen.getByLabelText(/^First name/), "Alice");
  await user.type(screen.getByLabelText(/^Last name/), "Liddell");
  await user.type(screen.getByLabelText(/^Phone/), "1234567890");
  await user.type(screen.getByLabelText("Password"), "password");
  await user.type(screen.getByLabelText("Confirm password"), "password");
}

describe("RegisterForm", () => {
  it("labels every field of the register body", () => {
    mockFetch({ "POST /api/auth/refresh": signedOut });
    renderWithSession(<RegisterForm />);
    for (const label of ["Username", "Email", /^First name/, /^Last name/, /^Phone/, "Password", "Confirm password"]) {
      expect(screen.getByLabelText(label)).toBeInTheDocument();
    }
  });

  it("shows each API error next to its field, nested ones included", async () => {
    const user = userEvent.setup();
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/register": () =>
        json(400, {
          username: ["A user with that username already exists."],
          password: ["This password is too common.", "The password is too similar to the username."],
          profile: { phone: ["Ensure this field has no more than 20 characters."] },
          non_field_errors: ["Registration is closed today."],
        }),
    });
    renderWithSession(<RegisterForm />);
    await fillRegister(user);
    await user.click(screen.getByRole("button", { name: "Create account" }));

    const username = screen.getByLabelText("Username");
    await waitFor(() => expect(username).toHaveAttribute("aria-invalid", "true"));
    expect(describedText(username)).toContain("A user with that username already exists.");

    const password = screen.getByLabelText("Password");
    expect(password).toHaveAttribute("aria-invalid", "true");
    expect(describedText(password)).toContain("This password is too common.");
    expect(describedText(password)).toContain("The password is too similar to the username.");

    const phone = screen.getByLabelText(/^Phone/);
    expect(phone).toHaveAttribute("aria-invalid", "true");
    expect(describedText(phone)).toContain("Ensure this field has no more than 20 characters.");

    // Fields without errors are not marked.
    expect(screen.getByLabelText("Email")).not.toHaveAttribute("aria-invalid");
    expect(describedText(screen.getByLabelText("Email"))).toBe("");

    // Non-field errors go to the one alert region.
    expect(screen.getByRole("alert")).toHaveTextContent("Registration is closed today.");

    // The first invalid field gets focus.
    await waitFor(() => expect(username).toHaveFocus());

    expect(fetch.callsTo("POST /api/auth/register")[0].body).toEqual({
      username: "alice",
      email: "alice@example.com",
      password: "password",
      password2: "password",
      first_name: "Alice",
      last_name: "Liddell",
      profile: { phone: "1234567890" },
    });
    expect(router.replace).not.toHaveBeenCalled();
  });

  it("disables the button with progress text while pending and submits once", async () => {
    const user = userEvent.setup();
    const answer = deferred<Response>();
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/register": () => answer.promise,
      "GET /api/auth/profile": () => json(200, PROFILE),
    });
    renderWithSession(<RegisterForm />);
    await fillRegister(user);

    await user.click(screen.getByRole("button", { name: "Create account" }));
    const button = screen.getByRole("button", { name: "Creating account…" });
    expect(button).toBeDisabled();

    // Neither a second click nor a second submit (Enter in a field) sends another request.
    await user.click(button);
    fireEvent.submit(button.closest("form")!);
    await user.type(screen.getByLabelText("Username"), "{Enter}");
    expect(fetch.callsTo("POST /api/auth/register")).toHaveLength(1);

    await act(async () => answer.resolve(json(201, { access: accessToken("1"), refresh: "r" })));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/"));
    expect(fetch.callsTo("POST /api/auth/register")).toHaveLength(1);
  });

  it("shows a network error in the alert region", async () => {
    const user = userEvent.setup();
    mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/register": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    renderWithSession(<RegisterForm />);
    await fillRegister(user);
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not reach the server");
    expect(screen.getByRole("button", { name: "Create account" })).toBeEnabled();
    await waitFor(() => expect(screen.getByRole("alert")).toHaveFocus());
  });
});

describe("LoginForm", () => {
  it("shows the API's login error in the alert region", async () => {
    const user = userEvent.setup();
    mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/login": () => json(401, { detail: "No active account found with the given credentials" }),
    });
    renderWithSession(<LoginForm />);
    await user.type(screen.getByLabelText("Username"), "alice");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("No active account found with the given credentials")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("No active account found with the given credentials");
  });

  it("shows required-field errors next to the fields", async () => {
    const user = userEvent.setup();
    mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/login": () =>
        json(400, { username: ["This field may not be blank."], password: ["This field may not be blank."] }),
    });
    renderWithSession(<LoginForm />);
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const username = screen.getByLabelText("Username");
    await waitFor(() => expect(describedText(username)).toBe("⚠This field may not be blank."));
    expect(describedText(screen.getByLabelText("Password"))).toContain("This field may not be blank.");
  });

  it("shows 'Signing in…' while pending, submits once, then leaves the page", async () => {
    const user = userEvent.setup();
    const answer = deferred<Response>();
    const fetch = mockFetch({
      "POST /api/auth/refresh": signedOut,
      "POST /api/auth/login": () => answer.promise,
      "GET /api/auth/profile": () => json(200, PROFILE),
    });
    renderWithSession(<LoginForm />);
    await user.type(screen.getByLabelText("Username"), "alice");
    await user.type(screen.getByLabelText("Password"), "correct-horse-9{Enter}");

    const button = screen.getByRole("button", { name: "Signing in…" });
    expect(button).toBeDisabled();
    await user.type(screen.getByLabelText("Password"), "{Enter}");
    fireEvent.submit(button.closest("form")!);
    expect(fetch.callsTo("POST /api/auth/login")).toHaveLength(1);

    await act(async () => answer.resolve(json(200, { access: accessToken("1"), refresh: "r" })));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/"));
  });

  it.each([
    ["?next=%2Fprofile%3Fx%3D1%23y", "/profile?x=1#y"],
    ["?next=/%09/evil.example/x", "/"],
    ["?next=/%0a/evil.example", "/"],
    ["?next=//evil.example", "/"],
  ])("after signing in with %s, goes to %s", async (search, target) => {
    window.history.replaceState(null, "", `/login${search}`);
    try {
      const user = userEvent.setup();
      mockFetch({
        "POST /api/auth/refresh": signedOut,
        "POST /api/auth/login": () => json(200, { access: accessToken("1"), refresh: "r" }),
        "GET /api/auth/profile": () => json(200, PROFILE),
      });
      renderWithSession(<LoginForm />);
      await user.type(screen.getByLabelText("Username"), "alice");
      await user.type(screen.getByLabelText("Password"), "correct-horse-9{Enter}");
      await waitFor(() => expect(router.replace).toHaveBeenCalled());
      expect(router.replace.mock.calls).toEqual([[target]]);
    } finally {
      window.history.replaceState(null, "", "/");
    }
  });
});

describe("ProfileForm", () => {
  it("sends a PATCH and maps user.email and phone errors to their fields", async () => {
    const user = userEvent.setup();
    api.setAccessToken(accessToken("1"), { ready: true });
    const fetch = mockFetch({
      "PATCH /api/auth/profile": () =>
        json(400, {
          user: { email: ["A user with that email already exists."] },
          phone: ["Ensure this field has no more than 20 characters."],
        }),
    });
    const onSaved = vi.fn();
    render(<ProfileForm profile={PROFILE} onSaved={onSaved} />);

    const email = screen.getByLabelText("Email");
    expect(email).toHaveValue("alice@example.com");
    await user.clear(email);
    await user.type(email, "bob@example.com");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    await waitFor(() => expect(email).toHaveAttribute("aria-invalid", "true"));
    expect(describedText(email)).toContain("A user with that email already exists.");
    expect(describedText(screen.getByLabelText(/^Phone/))).toContain("Ensure this field has no more than 20 characters.");
    expect(fetch.calls[0].body).toEqual({
      user: { email: "bob@example.com", first_name: "Alice", last_name: "Liddell" },
      phone: "1234567890",
    });
    expect(fetch.calls[0].headers.authorization).toMatch(/^Bearer /);
    expect(onSaved).not.toHaveBeenCalled();
  });

  it("shows 'Saving…' while pending and confirms when saved", async () => {
    const user = userEvent.setup();
    api.setAccessToken(accessToken("1"), { ready: true });
    const answer = deferred<Response>();
    const fetch = mockFetch({ "PATCH /api/auth/profile": () => answer.promise });
    const onSaved = vi.fn();
    render(<ProfileForm profile={PROFILE} onSaved={onSaved} />);

    await user.type(screen.getByLabelText(/^Phone/), "9");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(screen.getByRole("button", { name: "Saving…" })).toBeDisabled();
    await user.click(screen.getByRole("button", { name: "Saving…" }));
    expect(fetch.calls).toHaveLength(1);

    const updated = { ...PROFILE, phone: "12345678909", updated_at: "2026-01-22T10:00:00.000000Z" };
    await act(async () => answer.resolve(json(200, updated)));
    expect(await screen.findByRole("status")).toHaveTextContent("Profile saved.");
    expect(onSaved).toHaveBeenCalledWith(updated);
    expect(within(screen.getByRole("form", { name: "Edit profile" })).getByRole("button")).toBeEnabled();
  });
});
