/**
 * The dashboard of a cluster with --api-token, in a real Chromium: without the token the page
 * asks for it and shows no data; ?token= logs in once (the token leaves the address bar) and the
 * page goes live; when the node serving the page dies, the page carries on through the other
 * node with the ticket from its stream. Skips when Chromium is absent.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { startSecuredCluster } from "../support/identity.ts";
import { type NodeProcess, stopAll, waitUntil } from "../support/processes.ts";

const CHROMIUM = process.env.DSEF_CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "browser-api-token-0123456789abcdef";
const nodes: NodeProcess[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await stopAll(nodes);
});

test.skipIf(!existsSync(CHROMIUM))(
  "with --api-token the page asks for the token, logs in once, and fails over with a ticket",
  async () => {
    nodes.push(
      ...(await startSecuredCluster(2, () => ({ args: ["--cluster-key", "browser-token-test-cluster-key-0123456789", "--api-token", TOKEN] }), {
        apiToken: TOKEN,
      })),
    );
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    const errors: string[] = [];

    const stranger = await browser.newPage();
    await stranger.goto(`${a.url}/`);
    await stranger.locator("#conn form.login input").waitFor({ timeout: 10_000 });
    expect(await stranger.locator("#members tbody tr").count()).toBe(0);

    const page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${a.url}/?token=${TOKEN}`);
    await waitUntil(
      async () => (await page.locator('#members tbody tr[data-state="alive"]').count()) === 2,
      10_000,
      () => "page never showed 2 alive rows",
    );
    expect(page.url()).toBe(`${a.url}/`);
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("live");

    a.kill("SIGKILL");
    await waitUntil(
      async () => (await page.locator("#conn").getAttribute("data-state")) === "failover",
      15_000,
      () => "page did not fail over",
    );
    expect(await page.locator("#conn").textContent()).toContain(`reconnected via 127.0.0.1:${b.port}`);
    expect(errors).toEqual([]);
  },
  90_000,
);
