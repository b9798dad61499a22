"use strict";
// The package installs from its folder without a registry, and ES modules can import it by name.
const assert = require("node:assert/strict");
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { after, test } = require("node:test");

const PACKAGE = path.resolve(__dirname, "..");
const npmMissing = spawnSync("npm", ["--version"]).status !== 0;
const app = fs.mkdtempSync(path.join(os.tmpdir(), "jobgate-node-app-"));
after(() => fs.rmSync(app, { recursive: true, force: true }));

test("the package has no dependencies of any kind", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, "package.json"), "utf8"));
  for (const field of ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]) {
    assert.equal(manifest[field], undefined, `package.json has ${field}`);
  }
});

test("npm installs the folder offline, and both require and import find it", { skip: npmMissing && "npm is not installed" }, () => {
  fs.writeFileSync(path.join(app, "package.json"), '{"name":"app","private":true}\n');
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", PACKAGE],
    { cwd: app, stdio: ["ignore", "ignore", "pipe"] });
  const names = "[Client, Worker, JobgateError, ConnectionError].map((f) => f.name).join()";
  const expected = "Client,Worker,JobgateError,ConnectionError\n";
  const viaRequire = execFileSync(process.execPath, ["-e",
    `const { Client, Worker, JobgateError, ConnectionError } = require("jobgate"); console.log(${names})`],
  { cwd: app, encoding: "utf8" });
  const viaImport = execFileSync(process.execPath, ["--input-type=module", "-e",
    `import { Client, Worker, JobgateError, ConnectionError } from "jobgate"; console.log(${names})`],
  { cwd: app, encoding: "utf8" });
  assert.deepEqual([viaRequire, viaImport], [expected, expected]);
});
