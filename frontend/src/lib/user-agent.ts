/**
 * A readable name for the device behind a User-Agent string, for the list of signed-in devices:
 * "Chrome on Linux", "Safari on iOS". Only the common browsers and systems are told apart; anything
 * else shows the raw agent (shortened), and no agent at all is "Unknown device".
 */

const BROWSERS: readonly [RegExp, string][] = [
  // Order matters: these all also say "Chrome" or "Safari".
  [/\bEdg(?:e|A|iOS)?\//, "Edge"],
  [/\bOPR\/|\bOpera\b/, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bVivaldi\//, "Vivaldi"],
  [/\bYaBrowser\//, "Yandex Browser"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\bChromium\//, "Chromium"],
  [/\b(?:Headless)?Chrome\/|\bCriOS\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\/|\bMobile\/\w+ Safari\//, "Safari"],
  [/\bMSIE |\bTrident\//, "Internet Explorer"],
];

const SYSTEMS: readonly [RegExp, string][] = [
  [/\bWindows Phone\b/, "Windows Phone"],
  [/\bWindows\b/, "Windows"],
  [/\biPad\b/, "iPadOS"],
  [/\biPhone\b|\biPod\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

/** The longest raw agent shown as a name; the rest is cut with an ellipsis. */
export const MAX_RAW_AGENT_LENGTH = 60;

function match(table: readonly [RegExp, string][], agent: string): string | null {
  for (const [pattern, name] of table) if (pattern.test(agent)) return name;
  return null;
}

export function deviceName(userAgent: string | null | undefined): string {
  const agent = (userAgent ?? "").trim();
  if (!agent) return "Unknown device";
  const browser = match(BROWSERS, agent);
  if (browser) {
    const system = match(SYSTEMS, agent);
    return system ? `${browser} on ${system}` : browser;
  }
  return agent.length > MAX_RAW_AGENT_LENGTH ? `${agent.slice(0, MAX_RAW_AGENT_LENGTH - 1).trimEnd()}…` : agent;
}
