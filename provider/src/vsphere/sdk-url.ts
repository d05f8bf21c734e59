/** The vCenter SDK URL from what a user writes: a host name, `host:port` or an http(s) URL. */
import { VSphereError } from "./faults";

/**
 * Turns `host`, `host:port` or an http(s) URL into the SDK URL (`https://host/sdk`; a URL
 * without a path gets `/sdk`). Throws a VSphereError that says what is wrong otherwise.
 */
export function sdkUrl(input: string): URL {
  const trimmed = input.trim();
  const invalid = () =>
    new VSphereError(`"${input}" is not a vCenter address: use a host name, host:port or https://host/sdk`);
  if (trimmed.length === 0 || /\s/.test(trimmed)) throw invalid();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid();
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new VSphereError(
      `"${input}" uses ${url.protocol}; vCenter is reached over https:// (or http:// through a proxy)`,
    );
  }
  if (
    url.hostname === "" ||
    url.username !== "" ||
    url.password !== "" ||
    url.search !== "" ||
    url.hash !== ""
  ) {
    throw invalid();
  }
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/sdk";
  return url;
}
