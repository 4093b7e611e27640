// Cross-host conformance: replays every tests/data case through the web-demo/pkg module in
// Node or in headless Chromium and prints the reports, for tests/tests/hosts.rs to compare
// byte for byte with the native core and wasmtime.
//
//   node web-demo/e2e/conformance.mjs node|chromium [DATA_DIR [SETUP.json]]
//
// Prints one JSON object: {"<target>/<case>": "<JSON.stringify(session.finish())>", ...}.
// Each case is pushed exactly as the Rust side pushes it (tests::load_dir): every file under
// <case>/input, sorted by relative `/`-separated path, in 64 KiB chunks, then finishFile.
// SETUP.json ({"<target>/<case>": {"target": name or target object, "options": {...}}}, as
// tests/tests/hosts.rs writes it from target.toml / params.json) gives each case's Session
// arguments; without it a case uses the built-in target named by its folder and its
// params.json.
import { readFileSync, readdirSync, statSync, mkdtempSync, rmSync } from "node:fs";
import { join, relative, sep, extname } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

const CHUNK = 65536;
const here = fileURLToPath(new URL(".", import.meta.url));
const demo = join(here, "..");
const [host, dataArg, setupArg] = process.argv.slice(2);
const setup = setupArg ? JSON.parse(readFileSync(setupArg, "utf8")) : {};
const data = dataArg ?? join(demo, "..", "tests", "data");
if (host !== "node" && host !== "chromium") {
  console.error("usage: node web-demo/e2e/conformance.mjs node|chromium [DATA_DIR [SETUP.json]]");
  process.exit(2);
}
const pkgWasm = join(demo, "pkg", "validator_wasm_bg.wasm");
try {
  statSync(pkgWasm);
} catch {
  console.error(`${pkgWasm} is missing: build it with bash web-demo/build.sh`);
  process.exit(2);
}

function walk(d, out = []) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

// Byte order of UTF-8 paths, as Rust's String ordering.
const enc = new TextEncoder();
function byteCompare(a, b) {
  const x = enc.encode(a);
  const y = enc.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** [{name: "canvas/01-x", target: "canvas", files: [[path, Uint8Array], ...]}], sorted. */
function cases() {
  const out = [];
  for (const target of readdirSync(data).sort()) {
    if (!statSync(join(data, target)).isDirectory()) continue;
    for (const c of readdirSync(join(data, target)).sort()) {
      const input = join(data, target, c, "input");
      try {
        if (!statSync(input).isDirectory()) continue;
      } catch {
        continue;
      }
      const files = walk(input)
        .map((p) => [relative(input, p).split(sep).join("/"), new Uint8Array(readFileSync(p))])
        .sort((a, b) => byteCompare(a[0], b[0]));
      const name = `${target}/${c}`;
      let given = setup[name];
      if (!given) {
        let params;
        try {
          params = JSON.parse(readFileSync(join(data, target, c, "params.json"), "utf8"));
        } catch {}
        given = { target, options: params ? { params } : undefined };
      }
      out.push({ name, target: given.target, options: given.options, files });
    }
  }
  return out;
}

// Runs in Node and, serialised, in the page: the same code on both hosts.
async function replay(mod, all) {
  const result = {};
  for (const c of all) {
    const session = new mod.Session(c.target, c.options);
    for (const [path, bytes] of c.files) {
      for (let i = 0; i < bytes.length; i += 65536) session.push(path, bytes.subarray(i, i + 65536));
      session.finishFile(path);
    }
    result[c.name] = JSON.stringify(session.finish());
  }
  return result;
}

const all = cases();
let result;
if (host === "node") {
  const mod = await import(join(demo, "pkg", "validator_wasm.js"));
  await mod.default({ module_or_path: readFileSync(pkgWasm) });
  result = await replay(mod, all);
} else {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "pf-conformance-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    // The page and the package are served from disk by route handlers: no server, no port.
    const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
    await context.route("http://preflight.test/**", async (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === "/") {
        return route.fulfill({ contentType: "text/html", body: '<!doctype html><link rel="icon" href="data:,">' });
      }
      if (!path.startsWith("/pkg/")) return route.fulfill({ status: 404, body: "" });
      try {
        const body = readFileSync(join(demo, path));
        return route.fulfill({ contentType: types[extname(path)] ?? "application/octet-stream", body });
      } catch {
        return route.fulfill({ status: 404, body: "" });
      }
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto("http://preflight.test/");
    // Bytes cross into the page as base64 (evaluate arguments are JSON-like).
    const payload = all.map((c) => ({
      name: c.name,
      target: c.target,
      options: c.options,
      files: c.files.map(([p, b]) => [p, Buffer.from(b).toString("base64")]),
    }));
    result = await page.evaluate(
      async ([payload, replaySrc]) => {
        const mod = await import("/pkg/validator_wasm.js");
        await mod.default({ module_or_path: "/pkg/validator_wasm_bg.wasm" });
        const decode = (s) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
        const all = payload.map((c) => ({ ...c, files: c.files.map(([p, b]) => [p, decode(b)]) }));
        const replay = new Function(`return (${replaySrc})`)();
        return replay(mod, all);
      },
      [payload, replay.toString()],
    );
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
process.stdout.write(JSON.stringify(result));
console.error(`conformance.mjs: ${Object.keys(result).length} cases replayed in ${host}`);
