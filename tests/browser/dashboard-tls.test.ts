/**
 * The dashboard over https (--tls-cert) in a real Chromium: the page, its stream, and the
 * failover to another node all on https. Chromium does not know the test CA, so the page's
 * context accepts it (the nodes themselves verify each other against it). Skips without Chromium.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { startSecuredCluster } from "../support/identity.ts";
import { type NodeProcess, stopAll, waitUntil } from "../support/processes.ts";
import { testAuthority, tlsDataDir, tlsFlags } from "../support/tls.ts";

const CHROMIUM = process.env.DSEF_CHROMIUM ?? "/usr/bin/chromium";
const nodes: NodeProcess[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await stopAll(nodes);
});

test.skipIf(!existsSync(CHROMIUM))(
  "the dashboard over https goes live and fails over to another node over https",
  async () => {
    const ca = testAuthority();
    nodes.push(
      ...(await startSecuredCluster(
        2,
        () => {
          const dir = tlsDataDir();
          return { dataDir: dir, args: ["--cluster-key", "browser-tls-test-cluster-key-0123456789", ...tlsFlags(dir)] };
        },
        { tlsCa: ca.caPem },
      )),
    );
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${a.url}/`);
    expect(a.url).toStartWith("https://");
    await waitUntil(
      async () => (await page.locator('#members tbody tr[data-state="alive"]').count()) === 2,
      10_000,
      () => "page never showed 2 alive rows",
    );
    a.kill("SIGKILL");
    await waitUntil(
      async () => (await page.locator("#conn").getAttribute("data-state")) === "failover",
      15_000,
      () => "page did not fail over",
    );
    expect(await page.locator("#conn").textContent()).toContain(`127.0.0.1:${b.port}`);
    expect(errors).toEqual([]);
  },
  90_000,
);
