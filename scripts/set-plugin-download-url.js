#!/usr/bin/env node
// `make … PLUGIN_DOWNLOAD_URL=<url>`: records <url> as provider/package.json's
// bonneville.pluginDownloadURL, where schema.json, the SDK and the plugin tarballs take it from
// (provider/src/plugin-download-url.ts). `${VERSION}`, `${OS}` and `${ARCH}` stay as written: the
// Pulumi engine fills them in.
"use strict";
const fs = require("fs");
const path = require("path");

const url = process.argv[2];
if (!url || !/^(https?|github|gitlab):\/\/\S+$/.test(url)) {
  process.stderr.write(
    `set-plugin-download-url: ${JSON.stringify(url)} is not an http(s)://, github:// or gitlab:// URL\n`,
  );
  process.exit(2);
}
const file = path.join(__dirname, "..", "provider", "package.json");
const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
manifest.bonneville = { ...manifest.bonneville, pluginDownloadURL: url };
fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`provider/package.json: bonneville.pluginDownloadURL is now ${url}\n`);
