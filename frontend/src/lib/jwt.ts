/** The claims auth-server puts in its tokens (simplejwt's). */
export interface JwtClaims {
  token_type?: string;
  exp?: number;
  iat?: number;
  jti?: string;
  user_id?: string;
}

function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * Reads a JWT's payload without verifying it: the app only uses it to know when the access token
 * expires and whose it is. The API verifies every token it receives.
 */
export function decodeJwt(token: string): JwtClaims | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
    return payload && typeof payload === "object" ? (payload as JwtClaims) : null;
  } catch {
    return null;
  }
}
