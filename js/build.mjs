// Bundles each widget's TypeScript entry into ../dkist_widgets/static/<name>.js
// as a self-contained ES module that anywidget loads (no labextension needed).
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const entries = readdirSync("src/widgets")
  .filter((name) => name.endsWith(".ts"))
  .map((name) => `src/widgets/${name}`);

await build({
  entryPoints: entries,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  sourcemap: false,
  outdir: "../dkist_widgets/static",
  logLevel: "info",
});
