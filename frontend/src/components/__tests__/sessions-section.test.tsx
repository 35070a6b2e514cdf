import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as api from "@/lib/api";
import type { SessionInfo } from "@/lib/api";
import { SessionsSection } from "../sessions-section";
import { accessToken, deferred, json, mockFetch } from "@/test/helpers";

const CHROME_LINUX =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

function session(id: string, overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id,
    created_at: minutesAgo(600),
    last_used_at: minutesAgo(5),
    expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    ip_address: "203.0.113.7",
    user_agent: CHROME_LINUX,
    current: false,
    ...overrides,
  };
}

const THIS = session("s-this", { current: true, last_used_at: minutesAgo(0), ip_address: "198.51.100.1" });
const PHONE = session("s-phone", { user_agent: SAFARI_IPHONE, last_used_at: minutesAgo(5) });
const LAPTOP = session("s-laptop", { user_agent: FIREFOX_WINDOWS, last_used_at: minutesAgo(180), ip_address: null });

const noContent = (status: number) => () => new Response(null, { status });

beforeEach(() => {
  api.resetSessionForTests();
  api.setAccessToken(accessToken("1"), { ready: true });
});

afterEach(() => {
  api.resetSessionForTests();
});

function rows() {
  return within(screen.getByRole("list", { name: "Signed-in devices" })).getAllByRole("listitem");
}

describe("SessionsSection", () => {
  it("lists every session with its device, address and last use, and marks this device", async () => {
    const fetch = mockFetch({ "GET /api/auth/sessions": () => json(200, [THIS, PHONE, LAPTOP]) });
    render(<SessionsSection />);

    expect(screen.getByText("Loading your devices…")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Signed-in devices" })).toBeInTheDocument();
    await waitFor(() => expect(rows()).toHaveLength(3));
    const [first, second, third] = rows();

    // This device: marked, with no button to sign it out from here.
    expect(first).toHaveTextContent("Chrome on Linux");
    expect(within(first).getByText("This device")).toBeInTheDocument();
    expect(first).toHaveTextContent("198.51.100.1");
    expect(first).toHaveTextContent("Last used just now");
    expect(within(first).queryByRole("button")).toBeNull();

    expect(second).toHaveTextContent("Safari on iOS");
    expect(second).toHaveTextContent("203.0.113.7");
    expect(second).toHaveTextContent("Last used 5 minutes ago");
    expect(within(second).queryByText("This device")).toBeNull();
    expect(within(second).getByRole("button", { name: "Sign out Safari on iOS" })).toHaveTextContent("Sign out");
    // The exact time is in the markup for machines and as a tooltip for people.
    expect(within(second).getByText("5 minutes ago")).toHaveAttribute("datetime", PHONE.last_used_at);

    expect(third).toHaveTextContent("Firefox on Windows");
    expect(third).toHaveTextContent("Unknown address");
    expect(third).toHaveTextContent("Last used 3 hours ago");
    expect(within(third).getByRole("button", { name: "Sign out Firefox on Windows" })).toBeEnabled();

    expect(screen.getByRole("button", { name: "Sign out everywhere else" })).toBeEnabled();
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0].headers.authorization).toMatch(/^Bearer /);
  });

  it("falls back to the raw agent, or to 'Unknown device', and tells same-named devices apart", async () => {
    mockFetch({
      "GET /api/auth/sessions": () =>
        json(200, [
          THIS,
          session("a", { user_agent: "curl/8.5.0" }),
          session("b", { user_agent: null }),
          session("c", { user_agent: SAFARI_IPHONE, ip_address: "192.0.2.1" }),
          session("d", { user_agent: SAFARI_IPHONE, ip_address: "192.0.2.2" }),
        ]),
    });
    render(<SessionsSection />);
    await waitFor(() => expect(rows()).toHaveLength(5));
    expect(screen.getByRole("button", { name: "Sign out curl/8.5.0" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign out Unknown device" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign out Safari on iOS at 192.0.2.1" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign out Safari on iOS at 192.0.2.2" })).toBeInTheDocument();
  });

  it("has no sign-out-everywhere button when this is the only device", async () => {
    mockFetch({ "GET /api/auth/sessions": () => json(200, [THIS]) });
    render(<SessionsSection />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("signs out one other device with DELETE, says so, and reloads the list", async () => {
    const user = userEvent.setup();
    const answer = deferred<Response>();
    const fetch = mockFetch({
      "GET /api/auth/sessions": [() => json(200, [THIS, PHONE, LAPTOP]), () => json(200, [THIS, LAPTOP])],
      "DELETE /api/auth/sessions/s-phone": () => answer.promise,
    });
    render(<SessionsSection />);
    await user.click(await screen.findByRole("button", { name: "Sign out Safari on iOS" }));

    // While in flight: progress text, and no second action can start.
    expect(screen.getByRole("button", { name: "Sign out Safari on iOS" })).toHaveTextContent("Signing out…");
    for (const button of screen.getAllByRole("button")) expect(button).toBeDisabled();

    await act(async () => answer.resolve(noContent(204)()));
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(screen.queryByText("Safari on iOS")).toBeNull();
    expect(screen.getByRole("status")).toHaveTextContent("Signed out Safari on iOS.");
    expect(screen.getByRole("alert")).toBeEmptyDOMElement();
    // The button that had focus went with its row: focus stays in the section.
    expect(screen.getByRole("heading", { name: "Signed-in devices" })).toHaveFocus();
    expect(fetch.callsTo("DELETE /api/auth/sessions/s-phone")).toHaveLength(1);
    expect(fetch.callsTo("GET /api/auth/sessions")).toHaveLength(2);
    expect(screen.getByRole("button", { name: "Sign out Firefox on Windows" })).toBeEnabled();
  });

  it("signs out everywhere else with scope=others and keeps this session", async () => {
    const user = userEvent.setup();
    const token = api.getAccessToken();
    const fetch = mockFetch({
      "GET /api/auth/sessions": [() => json(200, [THIS, PHONE, LAPTOP]), () => json(200, [THIS])],
      "POST /api/auth/logout": noContent(205),
    });
    render(<SessionsSection />);
    await user.click(await screen.findByRole("button", { name: "Sign out everywhere else" }));

    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(screen.getByRole("status")).toHaveTextContent("Signed out of every other device.");
    expect(within(rows()[0]).getByText("This device")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Sign out everywhere else" })).toBeNull();
    const [logout] = fetch.callsTo("POST /api/auth/logout");
    expect(logout.body).toEqual({ scope: "others" });
    expect(logout.headers.authorization).toBe(`Bearer ${token}`);
    // Still signed in here, with the same access token.
    expect(api.getAccessToken()).toBe(token);
  });

  it("shows the API's error in the alert region and keeps the list", async () => {
    const user = userEvent.setup();
    mockFetch({
      "GET /api/auth/sessions": () => json(200, [THIS, PHONE]),
      "POST /api/auth/logout": () => json(400, { scope: ['"others" is not a valid choice.'] }),
      "DELETE /api/auth/sessions/s-phone": () => json(500, { detail: "A server error occurred." }),
    });
    render(<SessionsSection />);

    await user.click(await screen.findByRole("button", { name: "Sign out Safari on iOS" }));
    const alert = screen.getByRole("alert");
    await waitFor(() => expect(alert).toHaveTextContent("A server error occurred."));
    await waitFor(() => expect(alert).toHaveFocus());
    expect(screen.getByRole("status")).toBeEmptyDOMElement();
    expect(rows()).toHaveLength(2);
    expect(screen.getByRole("button", { name: "Sign out Safari on iOS" })).toHaveTextContent("Sign out");

    await user.click(screen.getByRole("button", { name: "Sign out everywhere else" }));
    await waitFor(() => expect(alert).toHaveTextContent('Scope: "others" is not a valid choice.'));
    expect(alert).not.toHaveTextContent("A server error occurred.");
    expect(rows()).toHaveLength(2);
  });

  it("reports a device that was already signed out elsewhere (404) and updates the list", async () => {
    const user = userEvent.setup();
    mockFetch({
      "GET /api/auth/sessions": [() => json(200, [THIS, PHONE]), () => json(200, [THIS])],
      "DELETE /api/auth/sessions/s-phone": () => json(404, { detail: "Not found." }),
    });
    render(<SessionsSection />);
    await user.click(await screen.findByRole("button", { name: "Sign out Safari on iOS" }));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(screen.getByRole("status")).toHaveTextContent("Safari on iOS was already signed out.");
    expect(screen.getByRole("alert")).toBeEmptyDOMElement();
  });

  it("shows why the list could not be loaded, in the API's words, and can try again", async () => {
    const user = userEvent.setup();
    const fetch = mockFetch({
      "GET /api/auth/sessions": [
        () => json(429, { detail: "Request was throttled. Expected available in 3 seconds." }),
        () => json(200, [THIS, PHONE]),
      ],
    });
    render(<SessionsSection />);
    expect(await screen.findByText("Request was throttled. Expected available in 3 seconds.")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("Request was throttled. Expected available in 3 seconds.");
    expect(screen.queryByRole("list")).toBeNull();

    await user.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(screen.getByRole("alert")).toBeEmptyDOMElement();
    expect(fetch.callsTo("GET /api/auth/sessions")).toHaveLength(2);
  });

  it("shows a network failure in the alert region", async () => {
    mockFetch({
      "GET /api/auth/sessions": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    render(<SessionsSection />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not reach the server");
  });
});
