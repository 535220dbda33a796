/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core): three real
 * nodes, one killed with SIGKILL, the page follows without a reload; then the node serving the
 * page is killed and the page carries on through another node. Skips when Chromium is absent.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { type NodeProcess, ROOT, startCluster, stopAll, waitUntil } from "../support/processes.ts";

const CHROMIUM = process.env.DSEF_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const nodes: NodeProcess[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await stopAll(nodes);
});

// .ci/run installs Chromium: in CI a missing browser is a failure, not a skip.
test.if(process.env.CI === "true" && !haveChromium)("Chromium is installed for the browser test", () => {
  throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
});

test.skipIf(!haveChromium)(
  "dashboard shows a node dying live, logs it, and survives the death of its own node",
  async () => {
    nodes.push(...(await startCluster(3, { capacities: [1000, 800, 500] })));
    const ids = await Promise.all(nodes.map(async (n) => (await n.status()).id as string));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1250 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${nodes[0]!.url}/`);

    const aliveRows = () => page.locator('#members tbody tr[data-state="alive"]').count();
    await waitUntil(
      async () => (await aliveRows()) === 3,
      10_000,
      () => "page never showed 3 alive rows",
    );
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("live");

    // For the README picture, let the charts gather some history first.
    if (process.env.DSEF_SCREENSHOT) await page.waitForTimeout(25_000);

    // Kill a node that is not serving the page; watch the page and the serving node's /peers.
    const victim = nodes[2]!;
    const victimId = ids[2]!;
    const killedAt = performance.now();
    victim.kill("SIGKILL");
    let apiDeadAt = 0;
    const apiWatch = waitUntil(async () => {
      const dead = (await nodes[0]!.peers()).some((p) => p.id === victimId && p.state === "dead");
      if (dead) apiDeadAt = performance.now();
      return dead;
    }, 30_000);
    await page.locator(`#members tbody tr[data-id="${victimId}"][data-state="dead"]`).waitFor({ timeout: 30_000 });
    const pageDeadAt = performance.now();
    await apiWatch;
    console.log(`kill -9 -> dead in /peers ${(apiDeadAt - killedAt).toFixed(0)} ms, in the page ${(pageDeadAt - killedAt).toFixed(0)} ms`);
    // The page learns of the death by push, not by polling: within a second of the node itself.
    expect(pageDeadAt - apiDeadAt).toBeLessThan(1000);
    await page.locator(`#timeline li[data-kind="dead"][data-id="${victimId}"]`).waitFor({ timeout: 5_000 });
    expect(await aliveRows()).toBe(2);

    // DSEF_SCREENSHOT=docs/dashboard.png refreshes the README's picture.
    const shot = process.env.DSEF_SCREENSHOT ? join(ROOT, process.env.DSEF_SCREENSHOT) : join(tmpdir(), "dsef-dashboard.png");
    mkdirSync(dirname(shot), { recursive: true });
    await page.waitForTimeout(1500); // let the charts draw a few more points after the death
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // Now kill the node serving the page: the feed moves to the surviving node and says so.
    nodes[0]!.kill("SIGKILL");
    const conn = page.locator("#conn");
    await waitUntil(
      async () => (await conn.getAttribute("data-state")) === "failover",
      15_000,
      () => "page did not fail over",
    );
    expect(await conn.textContent()).toContain(`reconnected via 127.0.0.1:${nodes[1]!.port}`);
    // Still live after the switch: the surviving node soon reports the serving node dead.
    await page.locator(`#members tbody tr[data-id="${ids[0]}"][data-state="dead"]`).waitFor({ timeout: 30_000 });
    expect(errors).toEqual([]);
  },
  120_000,
);
