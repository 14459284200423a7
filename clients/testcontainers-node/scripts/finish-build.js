// After both compilations: dist/cjs is CommonJS whatever this package's "type" says (a
// package.json of its own tells Node and TypeScript so), and the package carries the
// project's license file.
import { copyFileSync, writeFileSync } from "node:fs";

writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), '{ "type": "commonjs" }\n');
copyFileSync(new URL("../../../LICENSE", import.meta.url), new URL("../LICENSE", import.meta.url));
