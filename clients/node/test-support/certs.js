"use strict";
// Test certificates made with the openssl CLI: a CA, and server certificates it signs.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

function openssl(args, cwd) {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes ca.pem and ca.key in `dir`; returns the CA file's path. */
function makeCa(dir) {
  openssl(["req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
    "-subj", "/CN=jobgate test CA"], dir);
  return path.join(dir, "ca.pem");
}

/**
 * Makes NAME.pem and NAME.key, signed by the CA in `dir`, valid for `altNames`
 * (e.g. "IP:127.0.0.1,DNS:localhost"). Returns {cert, key} paths.
 */
function makeServerCert(dir, name, altNames) {
  const extensions = path.join(dir, `${name}.ext`);
  fs.writeFileSync(extensions, `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth\n`);
  openssl(["req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", `${name}.pem`, "-days", "2", "-extfile", extensions], dir);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

module.exports = { makeCa, makeServerCert };
