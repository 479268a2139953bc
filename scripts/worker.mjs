// Runs the Worker in workerd through Miniflare's API, with no proxy in front:
// what the tests and benchmarks talk to. (`scripts/dev` uses `wrangler dev`,
// which adds a reloading proxy: convenient while editing, but it answers 503
// during reloads and resets connections a client is still sending on.)
//
// Usage: node scripts/worker.mjs '<json options>'
//   {"port": 8787, "persist": "<dir given to wrangler --persist-to>",
//    "databaseId": "<d1 database_id>", "vars": {"NAME": "value", ...},
//    "src": "<folder of .py modules, with entry.py; default: src>",
//    "assets": "<folder of static files served beside the Worker; default: none>"}
import { Log, LogLevel, Miniflare } from "miniflare";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const options = JSON.parse(process.argv[2] ?? "{}");
// Another Worker (e.g. a benchmark's baseline) can be served the same way.
const src = path.resolve(root, options.src ?? "src");
// Static assets, as `[assets]` in wrangler.toml: a request for an existing
// file is answered from the folder, every other request reaches the Worker.
// Off unless asked for: this Miniflare's asset router clones every request,
// and a clone turns a client that drops a chunked body into a clean end of
// body for the Worker (see wrangler.toml), which the upload tests must see.
const assets = options.assets ? path.resolve(root, options.assets) : null;

// entry.py first: the first module is the Worker's main module.
const names = fs.readdirSync(src).filter((f) => f.endsWith(".py")).sort();
const ordered = ["entry.py", ...names.filter((f) => f !== "entry.py")];
const modules = ordered.map((f) => ({ type: "PythonModule", path: path.join(src, f) }));

const mf = new Miniflare({
  host: "127.0.0.1",
  port: options.port ?? 0,
  modules,
  modulesRoot: src,
  // The pinned runtime's newest date (see README): newer ones fall back anyway.
  compatibilityDate: "2024-11-06",
  compatibilityFlags: ["python_workers"],
  bindings: options.vars ?? {},
  d1Databases: { DB: options.databaseId },
  d1Persist: path.join(options.persist, "v3", "d1"),
  log: new Log(LogLevel.WARN),
  ...(assets && {
    assets: { directory: assets, routingConfig: { has_user_worker: true } },
  }),
});

const url = await mf.ready;
console.log(`worker ready on ${url.href.replace(/\/$/, "")}`);

async function stop() {
  await mf.dispose();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
