/**
 * The server the app talks to, as an origin (`https://host[:port]`). Served by the Kluis server
 * itself, the page talks to its own origin; served by `kluis web --server URL` (from the user's
 * own computer), `/config.json` names the remote server (client_sdk/webserve.py), the page shows
 * it, and the CSP's connect-src allows exactly it. The config carries an address, never code.
 */

export const CONFIG_FORMAT = "kluis-web-config/1";

/** `value` if it is exactly an http(s) origin as a browser writes it; else null. */
export function serverOrigin(value: unknown): string | null {
  if (typeof value !== "string" || value.length > 300) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username !== "" || url.password !== "") return null;
  return url.origin === value ? value : null;
}

/**
 * Read `/config.json`'s answer: `null` for this page's own server (`"server": null`), the
 * remote server's origin, or an Error for anything else (the app then does not start: it does
 * not guess where to send a passphrase's login key).
 */
export function readConfig(text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error("the app's configuration is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("the app's configuration is not an object");
  const config = body as Record<string, unknown>;
  if (config["format"] !== CONFIG_FORMAT) throw new Error(`the app's configuration is not ${CONFIG_FORMAT}`);
  if (config["server"] === null) return null;
  const origin = serverOrigin(config["server"]);
  if (origin === null) throw new Error("the app's configuration names no server origin");
  return origin;
}
