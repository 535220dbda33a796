import { describe, expect, test } from "bun:test";
import { backupCandidates } from "../../src/load/backup-ring.ts";
import { LoadService } from "../../src/load/load-service.ts";
import type { ReplicateOutcome } from "../../src/load/peer-protocol.ts";
import { ReplicaStore } from "../../src/load/replica-store.ts";
import { Replicator } from "../../src/load/replicator.ts";
import type { Member } from "../../src/membership/types.ts";
import { FakePeers, member, silentLog } from "../support/fake-peers.ts";

const byId = (id: string, state: Member["state"] = "alive"): Member => ({ ...member(`${id}:1`, state), info: { ...member(`${id}:1`).info, id } });

describe("the backup ring", () => {
  test("the next alive member by id after us, wrapping around; suspects and the dead are skipped", () => {
    const ms = [byId("a"), byId("c"), byId("e", "dead"), byId("g"), byId("b", "suspect")];
    expect(backupCandidates("d", ms).map((m) => m.info.id)).toEqual(["g", "a", "c"]);
    expect(backupCandidates("g", ms).map((m) => m.info.id)).toEqual(["a", "c"]);
    expect(backupCandidates("a", [byId("a")])).toEqual([]);
  });
});

describe("ReplicaStore", () => {
  test("keeps packets per owner until done; hands them over when the owner is gone", () => {
    const s = new ReplicaStore(10, 1000);
    expect(
      s.receive(
        "o1",
        "10.0.0.1:1",
        "b1",
        [
          { id: "p1", units: 5 },
          { id: "p2", units: 5, payload: { x: 1 } },
        ],
        [],
      ).kept,
    ).toBe(true);
    expect(s.ownerOf("p2")).toBe("10.0.0.1:1");
    s.receive("o1", "10.0.0.1:1", "b1", [], ["p1"]);
    expect(s.size).toBe(1);
    expect(s.takeOver("o1")).toEqual([{ id: "p2", units: 5, payload: { x: 1 } }]);
    expect(s.size).toBe(0);
    expect(s.ownerOf("p2")).toBeUndefined();
  });

  test("a new boot token from the owner means it restarted: its previous packets come back as orphans", () => {
    const s = new ReplicaStore(10, 1000);
    s.receive("o1", "10.0.0.1:1", "b1", [{ id: "p1", units: 5 }], []);
    const r = s.receive("o1", "10.0.0.1:1", "b2", [{ id: "p9", units: 1 }], []);
    expect(r.orphans.map((p) => p.id)).toEqual(["p1"]);
    expect(s.ownerOf("p9")).toBe("10.0.0.1:1");
  });

  test("bounded: a batch that does not fit is refused as a whole", () => {
    const s = new ReplicaStore(2, 10);
    expect(
      s.receive(
        "o",
        "h:1",
        "b",
        [
          { id: "a", units: 1 },
          { id: "b", units: 1 },
          { id: "c", units: 1 },
        ],
        [],
      ).kept,
    ).toBe(false);
    expect(s.receive("o", "h:1", "b", [{ id: "a", units: 1, payload: "x".repeat(20) }], []).kept).toBe(false);
    expect(s.size).toBe(0);
  });
});

describe("Replicator", () => {
  function setup(members: Member[]) {
    const client = new FakePeers();
    const r = new Replicator({ selfId: "a", selfHttp: "a:1", boot: "b1", client, timeoutMs: 100, log: silentLog, members: () => members });
    return { r, client };
  }

  test("a lone node has no one to hand packets to", () => {
    expect(setup([byId("a")]).r.keep({ id: "p", units: 1 })).toBe("alone");
  });

  test("group commit: packets arriving while a batch is in flight ride in the next one", async () => {
    const { r, client } = setup([byId("a"), byId("b"), byId("c")]);
    const held: (() => void)[] = [];
    client.replicateAnswer = () => new Promise<ReplicateOutcome>((res) => held.push(() => res({ kind: "kept" })));
    const first = [r.keep({ id: "p1", units: 1 }), r.keep({ id: "p2", units: 1 })]; // two batches in flight at most
    const rest = Array.from({ length: 50 }, (_, i) => r.keep({ id: `q${i}`, units: 1 }));
    expect(client.batches.map((b) => b.batch.keep.length)).toEqual([1, 1]);
    client.replicateAnswer = () => ({ kind: "kept" });
    for (const release of held) release();
    await Promise.all([...first, ...rest] as Promise<boolean>[]);
    expect(client.batches.length).toBe(3);
    expect(client.batches[2]!.batch.keep.length).toBe(50);
    expect(client.batches.every((b) => b.http === "b:1")).toBe(true);
  });

  test("a backup that refuses: the next on the ring; none would: not kept", async () => {
    const { r, client } = setup([byId("a"), byId("b"), byId("c")]);
    client.replicateAnswer = (http) => (http === "b:1" ? { kind: "refused", reason: "HTTP 503" } : { kind: "kept" });
    expect(await r.keep({ id: "p", units: 1 })).toBe(true);
    expect(client.batches.map((b) => b.http)).toEqual(["b:1", "c:1"]);
    client.replicateAnswer = () => ({ kind: "refused", reason: "refused" });
    expect(await r.keep({ id: "q", units: 1 })).toBe(false);
    expect(r.counts.not_kept).toBe(1);
  });

  test("done notices go to the backup that keeps the packet; one with no clear answer is told to drop what it may keep", async () => {
    const { r, client } = setup([byId("a"), byId("b"), byId("c")]);
    client.replicateAnswer = (http) => (http === "b:1" ? { kind: "failed", reason: "TimeoutError" } : { kind: "kept" });
    expect(await r.keep({ id: "p", units: 1 })).toBe(true); // b timed out, c kept it
    client.replicateAnswer = () => ({ kind: "kept" });
    r.done("p");
    await Bun.sleep(600); // b's notices wait a little after its failure
    const toB = client.batches.filter((b) => b.http === "b:1").flatMap((b) => b.batch.done);
    const toC = client.batches.filter((b) => b.http === "c:1").flatMap((b) => b.batch.done);
    expect(toB).toEqual(["p"]);
    expect(toC).toEqual(["p"]);
    expect(r.unfinished).toBe(0);
  });

  test("when the backup dies, unfinished packets are handed to the next one", async () => {
    const members = [byId("a"), byId("b"), byId("c")];
    const { r, client } = setup(members);
    await r.keep({ id: "p", units: 1 });
    members[1]!.state = "dead";
    r.rebalance();
    await Bun.sleep(0);
    expect(client.batches.at(-1)).toMatchObject({ http: "c:1", batch: { keep: [{ id: "p" }] } });
    expect(r.counts.rehanded).toBe(1);
  });
});

describe("LoadService with a backup", () => {
  function node(members: Member[], client = new FakePeers()) {
    const svc = new LoadService(
      {
        selfId: "a",
        selfHttp: "a:1",
        capacity: 100,
        policy: { forwardAbove: 0.5, margin: 0.25, maxBacklog: 5 },
        forwardTimeoutMs: 100,
        askTimeoutMs: 100,
        windowTtlMs: 60_000,
        windowMaxEntries: 1000,
        publishEveryMs: 1000,
        publishThresholdS: 0.1,
      },
      { members: () => members, publish: () => {}, peerClient: client, log: silentLog },
      { ticker: () => () => {} },
    );
    return { svc, client };
  }

  test("a packet is acknowledged only once its backup keeps it; if none would, 503 and not queued", async () => {
    const { svc, client } = node([byId("a"), byId("b")]);
    const ok = await svc.handle({ processing_load: 1, packet_id: "p1" }, 0);
    expect(ok.status).toBe(200);
    expect(client.batches[0]).toMatchObject({ http: "b:1", batch: { owner: "a", keep: [{ id: "p1", units: 1 }] } });
    client.replicateAnswer = () => ({ kind: "refused", reason: "refused" });
    const no = await svc.handle({ processing_load: 1, packet_id: "p2" }, 0);
    expect(no.status).toBe(503);
    expect(svc.queue.state("p2")).toBeUndefined();
    expect(svc.stats()).toMatchObject({ accepted: 1, not_kept: 1 });
    // The refusal was not an outcome: a retry is handled afresh.
    client.replicateAnswer = () => ({ kind: "kept" });
    expect((await svc.handle({ processing_load: 1, packet_id: "p2" }, 0)).status).toBe(200);
  });

  test("as a backup: a dead owner's unfinished packets run here, marked as taken over, answered for", async () => {
    const members = [byId("a"), byId("b")];
    const { svc } = node(members);
    expect(
      svc.receiveReplicas({
        owner: "b",
        owner_http: "b:1",
        boot: "x",
        keep: [
          { id: "q1", units: 10 },
          { id: "q2", units: 10 },
        ],
        done: [],
      }),
    ).toEqual({ ok: true });
    expect(svc.receiveReplicas({ owner: "b", owner_http: "b:1", boot: "x", keep: [], done: ["q2"] })).toEqual({ ok: true });
    // Asked meanwhile, we say its owner has it; a device's retry sent to us is acknowledged as
    // the owner's, not taken a second time.
    expect(svc.answerAsk("q1", "c:1")).toEqual({ seen: true, handled_by: "b:1" });
    expect((await svc.handle({ processing_load: 10, packet_id: "q1", tried: ["b:1"] }, 0)).body).toMatchObject({ duplicate: true, handled_by: "b:1" });
    expect(svc.stats()).toMatchObject({ accepted: 0 });
    members[1]!.state = "dead";
    svc.memberChanged({ type: "dead", at: 0, member: members[1]! });
    expect(svc.queue.state("q1")?.state).toBe("running");
    expect(svc.queue.state("q2")).toBeUndefined();
    expect(svc.answerAsk("q1", "c:1")).toEqual({ seen: true, handled_by: "a:1" });
    expect(svc.stats()).toMatchObject({ taken_over: 1 });
    // Outsiders cannot hand packets over as someone else.
    expect(svc.receiveReplicas({ owner: "zz", owner_http: "b:1", boot: "x", keep: [{ id: "evil", units: 1 }], done: [] })).toMatchObject({
      ok: false,
      status: 403,
    });
  });
});
