import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "@/lib/api";
import type { SessionInfo } from "@/lib/api";
import { ChangePasswordSection } from "../change-password-section";
import { DeleteAccountSection } from "../delete-account-section";
import { HomeView } from "../home-view";
import { ProfileForm, ProfileView } from "../profile-view";
import { SessionProvider } from "../session";
import { accessToken, deferred, json, mockFetch } from "@/test/helpers";

let search = new URLSearchParams();
const router = { push: vi.fn(), replace: vi.fn(), back: vi.fn(), forward: vi.fn(), refresh: vi.fn(), prefetch: vi.fn() };
vi.mock("next/navigation", () => ({
  useRouter: () => router,
  usePathname: () => "/profile",
  useSearchParams: () => search,
}));

const PROFILE = {
  id: 1,
  user: { id: 1, username: "alice", email: "alice@example.com", first_name: "Alice", last_name: "Liddell" },
  phone: "1234567890",
  created_at: "2026-01-21T10:00:00.123456Z",
  updated_at: "2026-01-21T10:00:00.123456Z",
};

function session(id: string, current: boolean, userAgent: string): SessionInfo {
  const now = new Date().toISOString();
  return { id, created_at: now, last_used_at: now, expires_at: now, ip_address: "203.0.113.7", user_agent: userAgent, current };
}
const THIS = session("s-this", true, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36");
const OTHER = session("s-other", false, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0");

/** The messages shown for an input: what its aria-describedby points at. */
function describedText(input: HTMLElement): string {
  const ids = (input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean);
  return ids.map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
}

beforeEach(() => {
  api.resetSessionForTests();
  search = new URLSearchParams();
  for (const fn of Object.values(router)) fn.mockReset();
});

afterEach(() => {
  api.resetSessionForTests();
});

async function fillPasswords(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText("Current password"), "correct-horse-9");
  await user.type(screen.getByLabelText("New password"), "a-new-horse-9");
  await user.type(screen.getByLabelText("Confirm new password"), "a-new-horse-9");
}

describe("ChangePasswordSection", () => {
  it("posts the three fields with the access token, shows the API's words and clears the fields", async () => {
    const user = userEvent.setup();
    const token = accessToken("1");
    api.setAccessToken(token, { ready: true });
    const answer = deferred<Response>();
    const fetch = mockFetch({ "POST /api/auth/password/change": () => answer.promise });
    const onChanged = vi.fn();
    render(<ChangePasswordSection onChanged={onChanged} />);
    expect(screen.getByRole("heading", { name: "Change password" })).toBeInTheDocument();

    await fillPasswords(user);
    await user.click(screen.getByRole("button", { name: "Change password" }));
    expect(screen.getByRole("button", { name: "Changing password…" })).toBeDisabled();
    await user.click(screen.getByRole("button", { name: "Changing password…" }));
    expect(fetch.calls).toHaveLength(1);

    await act(async () => answer.resolve(json(200, { detail: "New password has been saved." })));
    expect(await screen.findByRole("status")).toHaveTextContent("New password has been saved.");
    for (const label of ["Current password", "New password", "Confirm new password"]) {
      expect(screen.getByLabelText(label)).toHaveValue("");
    }
    expect(onChanged).toHaveBeenCalledTimes(1);
    expect(fetch.calls[0].body).toEqual({
      old_password: "correct-horse-9",
      new_password1: "a-new-horse-9",
      new_password2: "a-new-horse-9",
    });
    expect(fetch.calls[0].headers.authorization).toBe(`Bearer ${token}`);
    expect(api.getAccessToken()).toBe(token);
  });

  it("shows a wrong current password beside its field, and the validators' messages beside the confirm field", async () => {
    const user = userEvent.setup();
    api.setAccessToken(accessToken("1"), { ready: true });
    mockFetch({
      "POST /api/auth/password/change": [
        () => json(400, { old_password: ["Your old password was entered incorrectly. Please enter it again."] }),
        () => json(400, { new_password2: ["The two password fields didn’t match."] }),
        () =>
          json(400, {
            new_password2: [
              "This password is too short. It must contain at least 8 characters.",
              "This password is too common.",
            ],
          }),
      ],
    });
    const onChanged = vi.fn();
    render(<ChangePasswordSection onChanged={onChanged} />);
    await fillPasswords(user);
    await user.click(screen.getByRole("button", { name: "Change password" }));

    const old = screen.getByLabelText("Current password");
    await waitFor(() => expect(old).toHaveAttribute("aria-invalid", "true"));
    expect(describedText(old)).toContain("Your old password was entered incorrectly. Please enter it again.");
    await waitFor(() => expect(old).toHaveFocus());
    // What was typed stays, so it can be corrected.
    expect(screen.getByLabelText("New password")).toHaveValue("a-new-horse-9");

    const confirm = screen.getByLabelText("Confirm new password");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(describedText(confirm)).toContain("The two password fields didn’t match."));
    expect(old).not.toHaveAttribute("aria-invalid");

    await user.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(describedText(confirm)).toContain("This password is too common."));
    expect(describedText(confirm)).toContain("This password is too short. It must contain at least 8 characters.");
    expect(screen.getByRole("status")).toBeEmptyDOMElement();
    expect(onChanged).not.toHaveBeenCalled();
  });

  it("shows throttling and network failures in the alert region", async () => {
    const user = userEvent.setup();
    api.setAccessToken(accessToken("1"), { ready: true });
    mockFetch({
      "POST /api/auth/password/change": [
        () => json(429, { detail: "Request was throttled. Expected available in 5 seconds." }),
        () => {
          throw new TypeError("Failed to fetch");
        },
      ],
    });
    render(<ChangePasswordSection />);
    await fillPasswords(user);
    await user.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() =>
      expect(screen.getByRole("alert")).toHaveTextContent("Request was throttled. Expected available in 5 seconds."),
    );
    await user.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("Could not reach the server"));
  });
});

describe("DeleteAccountSection", () => {
  it("asks first, then wants the password; a wrong one is shown beside the field", async () => {
    const user = userEvent.setup();
    const token = accessToken("1");
    api.setAccessToken(token, { ready: true });
    const fetch = mockFetch({
      "POST /api/auth/account/delete": () => json(400, { password: ["Your password was entered incorrectly."] }),
    });
    render(<DeleteAccountSection />);
    expect(screen.queryByLabelText("Password")).toBeNull();

    await user.click(screen.getByRole("button", { name: "Delete account…" }));
    const password = screen.getByLabelText("Password");
    await waitFor(() => expect(password).toHaveFocus());
    await user.type(password, "wrong-password");
    await user.click(screen.getByRole("button", { name: "Delete my account" }));

    await waitFor(() => expect(password).toHaveAttribute("aria-invalid", "true"));
    expect(describedText(password)).toContain("Your password was entered incorrectly.");
    expect(fetch.calls[0].body).toEqual({ password: "wrong-password" });
    expect(fetch.calls[0].headers.authorization).toBe(`Bearer ${token}`);
    expect(api.getAccessToken()).toBe(token);

    // Cancel: back to the first step, the error gone, focus on the button that opened it.
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByLabelText("Password")).toBeNull();
    await waitFor(() => expect(screen.getByRole("button", { name: "Delete account…" })).toHaveFocus());
    await user.click(screen.getByRole("button", { name: "Delete account…" }));
    expect(screen.getByLabelText("Password")).toHaveValue("");
    expect(screen.getByLabelText("Password")).not.toHaveAttribute("aria-invalid");
  });
});

function renderProfilePage() {
  return render(
    <SessionProvider>
      <ProfileView />
    </SessionProvider>,
  );
}

describe("ProfileView", () => {
  it("after deleting the account, forgets the session and goes home with a notice, not to sign-in", async () => {
    const user = userEvent.setup();
    const answer = deferred<Response>();
    const fetch = mockFetch({
      "POST /api/auth/refresh": () => json(200, { access: accessToken("1") }),
      "GET /api/auth/profile": () => json(200, PROFILE),
      "GET /api/auth/sessions": () => json(200, [THIS]),
      "POST /api/auth/account/delete": () => answer.promise,
    });
    renderProfilePage();
    await user.click(await screen.findByRole("button", { name: "Delete account…" }));
    await user.type(screen.getByLabelText("Password"), "correct-horse-9");
    await user.click(screen.getByRole("button", { name: "Delete my account" }));
    expect(screen.getByRole("button", { name: "Deleting account…" })).toBeDisabled();

    await act(async () => answer.resolve(new Response(null, { status: 204 })));
    await waitFor(() => expect(router.replace).toHaveBeenCalled());
    expect(router.replace.mock.calls).toEqual([["/?account=deleted"]]);
    expect(api.getSnapshot()).toEqual({ accessToken: null, userId: null, ready: true });
    // Nothing was logged out: there is no session left to end.
    expect(fetch.callsTo("POST /api/auth/logout")).toHaveLength(0);
  });

  it("a refused deletion keeps the user signed in, and an ended session still goes to sign-in", async () => {
    const user = userEvent.setup();
    mockFetch({
      "POST /api/auth/refresh": () => json(200, { access: accessToken("1") }),
      "GET /api/auth/profile": () => json(200, PROFILE),
      "GET /api/auth/sessions": () => json(200, [THIS]),
      "POST /api/auth/account/delete": () => json(400, { password: ["Your password was entered incorrectly."] }),
      "POST /api/auth/logout": () => new Response(null, { status: 205 }),
    });
    renderProfilePage();
    await user.click(await screen.findByRole("button", { name: "Delete account…" }));
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Delete my account" }));
    await waitFor(() =>
      expect(describedText(screen.getByLabelText("Password"))).toContain("Your password was entered incorrectly."),
    );
    expect(api.getAccessToken()).not.toBeNull();

    await act(async () => {
      await api.logout();
    });
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/login?next=/profile"));
  });

  it("reloads the signed-in devices after a password change, which ended the others", async () => {
    const user = userEvent.setup();
    const fetch = mockFetch({
      "POST /api/auth/refresh": () => json(200, { access: accessToken("1") }),
      "GET /api/auth/profile": () => json(200, PROFILE),
      "GET /api/auth/sessions": [() => json(200, [THIS, OTHER]), () => json(200, [THIS])],
      "POST /api/auth/password/change": () => json(200, { detail: "New password has been saved." }),
    });
    renderProfilePage();
    const devices = () => within(screen.getByRole("list", { name: "Signed-in devices" })).getAllByRole("listitem");
    await waitFor(() => expect(devices()).toHaveLength(2));

    await fillPasswords(user);
    await user.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(devices()).toHaveLength(1));
    expect(within(devices()[0]).getByText("This device")).toBeInTheDocument();
    expect(within(screen.getByRole("form", { name: "Change password" })).getByRole("status")).toHaveTextContent(
      "New password has been saved.",
    );
    expect(fetch.callsTo("GET /api/auth/sessions")).toHaveLength(2);
  });
});

describe("HomeView", () => {
  it("says the account was deleted when the profile page sent the user there", async () => {
    search = new URLSearchParams("account=deleted");
    mockFetch({ "POST /api/auth/refresh": () => json(401, { detail: "Token is blacklisted", code: "token_not_valid" }) });
    render(
      <SessionProvider>
        <HomeView />
      </SessionProvider>,
    );
    expect(await screen.findByRole("heading", { name: "Welcome" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Your account has been deleted.");
  });

  it("has no such notice otherwise", async () => {
    mockFetch({ "POST /api/auth/refresh": () => json(401, { detail: "Token is blacklisted", code: "token_not_valid" }) });
    render(
      <SessionProvider>
        <HomeView />
      </SessionProvider>,
    );
    expect(await screen.findByRole("heading", { name: "Welcome" })).toBeInTheDocument();
    expect(screen.queryByText("Your account has been deleted.")).toBeNull();
  });
});

describe("ProfileForm with e-mail verification on", () => {
  it("says where the link went when the API still answers the old address", async () => {
    const user = userEvent.setup();
    api.setAccessToken(accessToken("1"), { ready: true });
    const updated = { ...PROFILE, phone: "555", updated_at: "2026-01-22T10:00:00.000000Z" };
    mockFetch({ "PATCH /api/auth/profile": () => json(200, updated) });
    const onSaved = vi.fn();
    render(<ProfileForm profile={PROFILE} onSaved={onSaved} />);

    const email = screen.getByLabelText("Email");
    await user.clear(email);
    await user.type(email, "new.alice@example.com");
    await user.clear(screen.getByLabelText(/^Phone/));
    await user.type(screen.getByLabelText(/^Phone/), "555");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    const status = await screen.findByRole("status");
    await waitFor(() => expect(status).toHaveTextContent("Profile saved."));
    expect(status).toHaveTextContent(
      "We sent a link to new.alice@example.com; the change takes effect once you follow it.",
    );
    // The field shows the address in force until then.
    expect(email).toHaveValue("alice@example.com");
    expect(onSaved).toHaveBeenCalledWith(updated);

    // Editing again takes the note away.
    await user.type(screen.getByLabelText(/^Phone/), "5");
    expect(status).toBeEmptyDOMElement();
  });

  it("says nothing more when the address changed at once (verification off)", async () => {
    const user = userEvent.setup();
    api.setAccessToken(accessToken("1"), { ready: true });
    const updated = { ...PROFILE, user: { ...PROFILE.user, email: "new.alice@example.com" } };
    mockFetch({ "PATCH /api/auth/profile": () => json(200, updated) });
    render(<ProfileForm profile={PROFILE} onSaved={vi.fn()} />);
    const email = screen.getByLabelText("Email");
    await user.clear(email);
    await user.type(email, "new.alice@example.com");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Profile saved."));
    expect(screen.getByRole("status")).toHaveTextContent(/^Profile saved\.$/);
    expect(email).toHaveValue("new.alice@example.com");
  });
});
