/**
 * A fresh directory outside the repository, for tests that must not find the repository's
 * node_modules by walking up (an unpacked plugin tarball, a project installing the packed SDK, a
 * project without @bonneville/provider).
 * `make test` points TMPDIR into build/tmp, inside the repository, so this falls back to the
 * system's /tmp then; the caller removes the directory when done.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");

/** Creates `<tmp>/<prefix>XXXXXX` where `<tmp>` is outside the repository. */
export function mkdtempOutsideRepo(prefix: string): string {
  const inside = (dir: string): boolean => {
    const relative = path.relative(repoRoot, fs.realpathSync(dir));
    return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
  };
  const base = inside(os.tmpdir()) ? "/tmp" : os.tmpdir();
  if (inside(base)) throw new Error(`no temporary directory outside ${repoRoot}: ${base} is inside it`);
  return fs.mkdtempSync(path.join(base, prefix));
}
