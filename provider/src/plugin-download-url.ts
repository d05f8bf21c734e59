/**
 * Where the Pulumi engine downloads the `bonneville` resource plugin from when a program needs it
 * and it is not installed: the package schema's top-level `pluginDownloadURL`, and the matching
 * `pulumi.server` of the Node.js SDK's package.json.
 *
 * The value is chosen when the package is built: it is provider/package.json's
 * `bonneville.pluginDownloadURL` (`make schema sdk plugin PLUGIN_DOWNLOAD_URL=<url>` records another
 * one there before it regenerates). The engine replaces `${VERSION}`, `${OS}` and `${ARCH}` in it and
 * appends `/pulumi-resource-bonneville-v<version>-<os>-<arch>.tar.gz` (pulumi/pulumi
 * sdk/go/common/workspace/plugins.go, `httpSource.Download` and `interpolateURL`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InternalError } from "./resources/errors";

/** The npm name of the package whose package.json carries the setting. */
const PROVIDER_PACKAGE_NAME = "@bonneville/provider";

/**
 * provider/package.json's `bonneville.pluginDownloadURL`. The file is found by walking up from this
 * module: it is two levels up from `src/` or `dist/` and from the plugin tarball's bundle alike.
 */
export function pluginDownloadUrl(): string {
  const file = providerPackageJson();
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as {
    bonneville?: { pluginDownloadURL?: unknown };
  };
  const url = parsed.bonneville?.pluginDownloadURL;
  if (typeof url !== "string" || !/^(https?|github|gitlab):\/\/\S+$/.test(url)) {
    throw new InternalError(
      `${file}: "bonneville.pluginDownloadURL" is ${JSON.stringify(url)}; expected an http(s)://, github:// or gitlab:// URL`,
    );
  }
  return url;
}

function providerPackageJson(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "package.json");
    if (fs.existsSync(candidate)) {
      const { name } = JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: unknown };
      if (name === PROVIDER_PACKAGE_NAME) return candidate;
    }
    if (dir === path.dirname(dir)) {
      throw new InternalError(`no package.json of ${PROVIDER_PACKAGE_NAME} above ${__dirname}`);
    }
  }
}
