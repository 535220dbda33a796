/** `dsef why`'s pure parts: the bounded evidence log, naming a member, the merged timeline; the reachability table. */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { answersBoth, type ReachRow, reachTable } from "../../src/cli/reachability-command.ts";
import { parseAnswer } from "../../src/cli/why-command.ts";
import { type WhyAnswer, whyText } from "../../src/cli/why-timeline.ts";
import { EvidenceLog } from "../../src/driver/evidence-log.ts";
import { ApiAuth } from "../../src/http/api-auth.ts";
import { forceLeaveAuth } from "../../src/http/member-routes.ts";
import type { Evidence, Member } from "../../src/membership/types.ts";
import { lookupMember } from "../../src/runtime/member-lookup.ts";
import { evidenceToJson, nodeReportSchema } from "../../src/wire/evidence-schema.ts";

const ev = (member: string, at: number, kind: Evidence["kind"] = "suspect"): Evidence => ({ at, member, kind, by: "x" });

describe("evidence log", () => {
  test("keeps the newest entries of each member, and the most recently changed members", () => {
    const log = new EvidenceLog({ members: 3, perMember: 4 });
    for (let t = 0; t < 10; t++) log.record(ev("a", t), "node-a");
    expect(log.of("a")!.entries.map((e) => e.at)).toEqual([6, 7, 8, 9]);
    log.record(ev("b", 10), "node-b");
    log.record(ev("c", 11));
    log.record(ev("a", 12)); // a is fresh again: b is now the oldest
    log.record(ev("d", 13), "node-d");
    expect(log.size).toBe(3);
    expect(log.of("b")).toBeUndefined();
    expect([...log.ids()].sort()).toEqual(["a", "c", "d"]);
    // A name outlives entries that came without one.
    expect(log.of("a")!.name).toBe("node-a");
    expect(log.of("c")!.name).toBeUndefined();
    expect(log.idsNamed("node-d")).toEqual(["d"]);
  });

  test("a flood of invented members costs no more than the bounds", () => {
    const log = new EvidenceLog();
    for (let i = 0; i < 100_000; i++) log.record(ev(`m${i}`, i));
    expect(log.size).toBe(log.limits.members);
  });
});

describe("naming a member", () => {
  const member = (id: string, name: string): Readonly<Member> => ({
    info: { id, name, gossip: "127.0.0.1:1", http: "127.0.0.1:1", capacity: 1 },
    state: "alive",
    incarnation: 1,
    changedAt: 0,
  });
  const members = [member("abcdef0123", "edge-1"), member("abcd99", "edge-2"), member("ffff0000", "twin"), member("eeee0000", "twin")];
  const log = new EvidenceLog();
  log.record(ev("0123456789", 1), "gone-node");

  test("by id, name, or the start of an id; a pruned member by the name its story kept", () => {
    expect(lookupMember("abcd99", members, log)).toEqual({ id: "abcd99" });
    expect(lookupMember("edge-1", members, log)).toEqual({ id: "abcdef0123" });
    expect(lookupMember("abcde", members, log)).toEqual({ id: "abcdef0123" });
    expect(lookupMember("gone-node", members, log)).toEqual({ id: "0123456789" });
  });
  test("unknown, too short or ambiguous: a clear refusal", () => {
    expect(lookupMember("nobody", members, log)).toMatchObject({ status: 404 });
    expect(lookupMember("abc", members, log)).toMatchObject({ status: 404 });
    const twin = lookupMember("twin", members, log);
    expect(twin).toMatchObject({ status: 409 });
    expect((twin as { error: string }).error).toContain("twin (ffff0000)");
    expect(lookupMember("abcd", members, log)).toMatchObject({ status: 409 });
  });
});

describe("the why timeline", () => {
  const wall = (t: number) => t;
  const t0 = Date.parse("2030-01-01T12:00:00.000Z");
  const report = (id: string, name: string, entries: Evidence[], state = "dead") =>
    v.parse(nodeReportSchema, {
      node: { id, name },
      view: { state, incarnation: 7, last_change: new Date(t0).toISOString() },
      entries: entries.map((e) => evidenceToJson(e, wall)),
      names: { c: "node-c", a: "node-a", b: "node-b" },
    });
  const answer: WhyAnswer = {
    member: "c",
    asked_by: "a",
    reports: [
      report("a", "node-a", [
        { at: t0, member: "c", kind: "ack-timeout", by: "a", relays: ["b"], detail: "no ack within 500 ms" },
        { at: t0 + 300, member: "c", kind: "nack", by: "b", detail: "no ack" },
        { at: t0 + 400, member: "c", kind: "http", by: "a", detail: "silent" },
        { at: t0 + 500, member: "c", kind: "probe-failed", by: "a", relays: [], detail: "no proof of life: 1 relays asked, 1 nacks" },
        { at: t0 + 500, member: "c", kind: "suspect", by: "a", incarnation: 7, detail: "probe timeout" },
        { at: t0 + 2500, member: "c", kind: "dead", by: "a", incarnation: 7, suspectedMs: 2000, detail: "suspicion timeout" },
      ]),
      report("b", "node-b", [
        { at: t0 + 290, member: "c", kind: "nack", by: "b", relays: ["a"], detail: "no ack" },
        { at: t0 + 510, member: "c", kind: "suspect", by: "a", via: "a", incarnation: 7 },
        { at: t0 + 900, member: "c", kind: "refuted", by: "c", via: "c", incarnation: 8, suspectedMs: 390, detail: "incarnation 7 → 8" },
      ]),
    ],
    unanswered: [{ id: "d", name: "node-d", why: "no answer within 2000 ms" }],
  };

  test("one timeline in time order, each line said by the node that saw it, then each node's suspicions", () => {
    const text = whyText(answer);
    expect(text.split("\n")).toEqual([
      "node-c (c)",
      "now: node-a: dead (incarnation 7); node-b: dead (incarnation 7)",
      "no answer from: node-d (no answer within 2000 ms)",
      "",
      "TIME (UTC)    SEEN BY  WHAT",
      "12:00:00.000  node-a   probe: no ack within 500 ms; asked relays node-b and its HTTP port",
      "12:00:00.290  node-b   relay: no answer for node-a's probe (no ack), said so in a nack",
      "12:00:00.300  node-a   nack from node-b: no ack",
      "12:00:00.400  node-a   HTTP challenge: silent",
      "12:00:00.500  node-a   probe failed: no proof of life: 1 relays asked, 1 nacks; silent relays: none",
      "12:00:00.500  node-a   SUSPECT at incarnation 7 by this node (probe timeout)",
      "12:00:00.510  node-b   SUSPECT at incarnation 7 by node-a, via node-a",
      "12:00:00.900  node-b   REFUTED by itself (incarnation 7 → 8), via node-c, after 0.4 s of suspicion",
      "12:00:02.500  node-a   DEAD at incarnation 7 by this node (suspicion timeout), after 2.0 s of suspicion",
      "",
      "suspicions:",
      "  node-a: suspected at 12:00:00.500 by node-a (probe timeout); dead (suspicion timeout) at 12:00:02.500, after 2.0 s",
      "  node-b: suspected at 12:00:00.510 by node-a; refuted by itself (incarnation 7 → 8) at 12:00:00.900, after 0.4 s",
    ]);
  });

  test("the CLI reads the node's answer through the reports' schema; anything else is refused", () => {
    expect(parseAnswer(JSON.parse(JSON.stringify(answer)))).toEqual(answer);
    expect(parseAnswer({ member: "c" })).toBeUndefined();
    expect(parseAnswer({ ...answer, reports: [{ node: { id: "a" } }] })).toBeUndefined();
  });

  test("a large cluster: the node says it asked a sample", () => {
    expect(whyText({ ...answer, asked: 64, live: 200 })).toContain("asked 64 of 200 other live members (a sample)");
    expect(whyText({ ...answer, asked: 3, live: 3 })).not.toContain("a sample");
  });

  test("no evidence anywhere says so", () => {
    expect(whyText({ ...answer, reports: [report("a", "node-a", [], "alive")], unanswered: [] })).toContain("no evidence:");
  });
});

describe("the reachability table", () => {
  const row = (name: string, udp: boolean, http: string, answered_as?: string): ReachRow => ({
    id: `${name}-id`,
    name,
    state: "alive",
    gossip: "127.0.0.1:1",
    http: "127.0.0.1:1",
    udp: udp ? { answered: true, ms: 1.5 } : { answered: false },
    http_check: { result: http, ms: 2, ...(answered_as ? { answered_as } : {}) },
  });

  test("members that do not answer on both come first, with what answered and as whom", () => {
    const rows = [row("b", true, "answered"), row("c", false, "silent"), row("a", false, "unproven", "0123456789abcdef0123")];
    expect(rows.map(answersBoth)).toEqual([true, false, false]);
    expect(reachTable(rows).split("\n")).toEqual([
      "NAME  STATE  UDP         HTTP      IDENTITY                 ID",
      "a     alive  no ack      unproven  other: 0123456789abcdef  a-id",
      "c     alive  no ack      silent    -                        c-id",
      "b     alive  ack 1.5 ms  ok 2 ms   proven                   b-id",
      "2 of 3 members do not answer on both",
    ]);
    expect(reachTable([])).toBe("no other member to probe");
  });
});

describe("who may force a member out", () => {
  const TOKEN = "force-leave-token-0123456789";
  const req = (token?: string) => new Request("http://n/force-leave", { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} });
  test("with an API token: only its bearer", () => {
    const api = new ApiAuth(TOKEN);
    for (const mode of ["open", "secret", "ca"] as const) {
      expect(forceLeaveAuth(req(TOKEN), api, mode)).toBeUndefined();
      expect(forceLeaveAuth(req(), api, mode)!.status).toBe(401);
      expect(forceLeaveAuth(req("wrong-token-0123456789"), api, mode)!.status).toBe(401);
    }
  });
  test("without one: anyone in an open cluster (as anyone may join it); nobody in a secured one", () => {
    expect(forceLeaveAuth(req(), undefined, "open")).toBeUndefined();
    for (const mode of ["secret", "ca", "secret+ca"] as const) expect(forceLeaveAuth(req(TOKEN), undefined, mode)!.status).toBe(403);
  });
});
