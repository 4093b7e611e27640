// Streams a generated 300 MB users.csv through the element's Worker in headless Chromium,
// twice, and prints the figures. The first run is timed and not observed (throughput, as a
// user meets it). The second is observed: peak JS heap (the page's through CDP
// Runtime.getHeapUsage; the Worker's through Target.setAutoAttach +
// Target.sendMessageToTarget, as performance.memory is window-only), wasm memory, renderer
// RSS. Longest main-thread task (PerformanceObserver "longtask") over both. It fails only
// on gross violations: heap growth over 1 GB or a main-thread block over 1 s. The tight
// goals (< 256 MB, < 50 ms) are for the benchmark to measure, not for this test to assert.
// The wasm linear memory (the core's bundle index: ids, claims, pending references) is
// printed, not asserted: it is the core's budget, and ARCHITECTURE.md lets it grow with
// the number of distinct ids.
//   PREFLIGHT_E2E_MB=300 node --test web-demo/e2e/large.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { openSync, writeSync, closeSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { artifacts, check, demoSuite, longestTask } from "./harness.mjs";

const MB = Number(process.env.PREFLIGHT_E2E_MB ?? 300);

/** Writes a valid Canvas users.csv of about `mb` MB, with one bad status every 100,000 rows. */
function generate(path, mb) {
  const fd = openSync(path, "w");
  const target = mb * 1e6;
  let written = 0;
  let i = 0;
  let buf = "user_id,login_id,first_name,last_name,email,status\n";
  while (written + buf.length < target) {
    for (let k = 0; k < 20000; k++, i++) {
      const status = i % 100000 === 99999 ? "actve" : "active";
      buf += `u${i},login${i},First${i},Last${i},user${i}@example.edu,${status}\n`;
    }
    writeSync(fd, buf);
    written += Buffer.byteLength(buf);
    buf = "";
  }
  closeSync(fd);
  return { bytes: written, rows: i };
}

/** Resident memory of Chromium's renderer processes (the page and its Worker live there). */
function rendererRss() {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("--type=renderer") || !cmd.includes("preflight-e2e-")) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // the process ended
    }
  }
  return total;
}

const suite = demoSuite("preflight-e2e-large-");

test(`a ${MB} MB file streams through the Worker with flat memory and a free main thread`, async () => {
  const t0 = Date.now();
  const file = join(suite.tmp, "users.csv");
  const made = generate(file, MB);
  console.log(`# generated ${(made.bytes / 1e6).toFixed(0)} MB, ${made.rows} rows in ${Date.now() - t0} ms`);
  const page = suite.b.page;
  // The timed run first, as a user meets it: no CDP session of ours on the page or the
  // Worker, no sampling, the wasm memory not grown yet. (The sampled run below, second,
  // took 2.79-2.89 s where this one took 2.87-3.21 s: sampling costs less than growing
  // the memory, which a user's first check pays. 2026-12-07.)
  const timed = await check(page, "files", file, { full: false });
  const longestTimed = await longestTask(page);
  const cdp = await suite.b.context.newCDPSession(page);
  const heapNow = async () => (await cdp.send("Runtime.getHeapUsage")).usedSize;
  // The Worker's isolate: attach to it through the page's CDP session (non-flattened).
  const workers = [];
  const replies = new Map();
  let seq = 0;
  cdp.on("Target.attachedToTarget", (e) => e.targetInfo.type === "worker" && workers.push(e.sessionId));
  cdp.on("Target.receivedMessageFromTarget", (e) => {
    const m = JSON.parse(e.message);
    replies.get(m.id)?.(m);
    replies.delete(m.id);
  });
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const workerHeapNow = async () => {
    let total = 0;
    for (const sessionId of workers) {
      const id = ++seq;
      const reply = new Promise((ok) => {
        replies.set(id, ok);
        setTimeout(() => ok(null), 2000);
      });
      await cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method: "Runtime.getHeapUsage" }) });
      total += (await reply)?.result?.usedSize ?? 0;
    }
    return total;
  };
  for (let i = 0; i < 50 && !workers.length; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(workers.length, "attached to the Worker");
  await page.evaluate(() => {
    window.__longTasks.length = 0;
    window.__peak = { wasm: 0, progress: 0 };
    document.querySelector("preflight-check").addEventListener("preflight-progress", (e) => {
      const p = window.__peak;
      p.progress++;
      p.wasm = Math.max(p.wasm, e.detail.wasmMemory ?? 0);
    });
  });
  const pageHeapStart = await heapNow();
  let pageHeapPeak = pageHeapStart;
  const workerHeapStart = await workerHeapNow();
  let workerHeapPeak = workerHeapStart;
  const rssStart = rendererRss();
  let rssPeak = rssStart;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      pageHeapPeak = Math.max(pageHeapPeak, await heapNow());
      workerHeapPeak = Math.max(workerHeapPeak, await workerHeapNow());
      rssPeak = Math.max(rssPeak, rendererRss());
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const sampled = await check(page, "files", file, { full: false });
  sampling = false;
  await sampler;
  const peak = await page.evaluate(() => window.__peak);
  const longest = Math.max(longestTimed, await longestTask(page));
  const { summary, stats } = timed;
  const mbps = stats.bytes / 1e6 / (stats.ms / 1000);
  const f = (n) => `${(n / 1048576).toFixed(1)} MiB`;
  console.log(`# ${MB} MB file: ${(stats.bytes / 1e6).toFixed(0)} MB, ${summary.rows} rows in ${(stats.ms / 1000).toFixed(2)} s = ${mbps.toFixed(0)} MB/s in the Worker (${(sampled.stats.ms / 1000).toFixed(2)} s again while its memory was sampled)`);
  console.log(`# peak JS heap: page ${f(pageHeapPeak)} (start ${f(pageHeapStart)}); Worker ${f(workerHeapPeak)} (start ${f(workerHeapStart)}); wasm linear memory ${f(peak.wasm)} (core index)`);
  console.log(`# renderer RSS: start ${f(rssStart)}, peak ${f(rssPeak)}; ${peak.progress} progress events`);
  console.log(`# longest main-thread task: ${longest.toFixed(0)} ms`);
  // With PREFLIGHT_NATIVE (a `preflight` binary; the bench passes the one it times), the
  // same file through it on one thread, as the Worker is one thread: the ratio the bench
  // reports. Best of two, process start to exit; the Worker's time starts at the first
  // chunk read. Not by default: a stale build in target/ would be timed.
  const native = process.env.PREFLIGHT_NATIVE;
  if (native && existsSync(native)) {
    let best = Infinity;
    for (let run = 0; run < 2; run++) {
      const t = process.hrtime.bigint();
      const r = spawnSync(native, ["check", "--threads", "1", "--format", "json", file], { maxBuffer: 1 << 28 });
      assert.ok(r.status === 0 || r.status === 1, `native check exit ${r.status}: ${r.stderr}`);
      best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
    }
    const nativeMbps = stats.bytes / 1e6 / best;
    console.log(`# native check --threads 1 of the same file: ${best.toFixed(2)} s = ${nativeMbps.toFixed(0)} MB/s; Chromium Worker / native = ${(mbps / nativeMbps).toFixed(3)}`);
  }
  await page.screenshot({ path: join(artifacts, "large-file.png") });
  for (const { summary } of [timed, sampled]) {
    assert.equal(summary.rows, made.rows);
    assert.equal(summary.errors, Math.floor(made.rows / 100000));
  }
  assert.ok(peak.progress > 0, "progress was posted");
  const growth = pageHeapPeak - pageHeapStart + (workerHeapPeak - workerHeapStart);
  assert.ok(growth < 1024 ** 3, `JS heap grew by ${f(growth)}`);
  assert.ok(longest < 1000, `main thread blocked ${longest} ms`);
});
