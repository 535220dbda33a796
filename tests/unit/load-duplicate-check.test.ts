import { describe, expect, test } from "bun:test";
import { type Answer, answerAsk, type Found, findElsewhere, judge, type Verdict } from "../../src/load/duplicate-check.ts";
import { IdempotencyWindow } from "../../src/load/idempotency.ts";
import type { Member } from "../../src/membership/types.ts";
import { FakePeers, member } from "../support/fake-peers.ts";

const SELF = "10.0.0.1:5000";
const alive = new Set(["a:1", "b:1"]);

describe("judge", () => {
  const seen = (at: string, handledBy: string, pending = false): Answer => ({ at, r: { kind: "seen", handledBy, pending } });

  test("a definite record elsewhere beats one in progress; our own record echoed back counts for nothing", () => {
    expect(judge([seen("a:1", "a:1", true), seen("b:1", "b:1")], SELF, alive)).toEqual({ kind: "found", at: "b:1" });
    expect(judge([seen("a:1", "a:1", true)], SELF, alive)).toEqual({ kind: "in-progress", maybeAt: ["a:1"] });
    expect(judge([seen("a:1", SELF)], SELF, alive)).toEqual({ kind: "none" });
  });

  test("silence from a live member is unknown; from a dead one, or a refusal, it is none", () => {
    expect(judge([{ at: "a:1", r: { kind: "silent" } }], SELF, alive)).toEqual({ kind: "unknown", maybeAt: ["a:1"] });
    expect(judge([{ at: "z:1", r: { kind: "silent" } }], SELF, alive)).toEqual({ kind: "none" });
    expect(
      judge(
        [
          { at: "a:1", r: { kind: "gone" } },
          { at: "b:1", r: { kind: "new" } },
        ],
        SELF,
        alive,
      ),
    ).toEqual({ kind: "none" });
  });

  test('"none" is not a Found: the code that settles a found packet cannot be handed it', () => {
    const v: Verdict = { kind: "none" };
    // @ts-expect-error a verdict of none is not something found
    const f: Found = v;
    expect(f as Verdict).toEqual({ kind: "none" });
  });
});

describe("findElsewhere", () => {
  function cluster() {
    const client = new FakePeers();
    const [a, b, c] = ["a:1", "b:1", "c:1"].map((h) => client.add(h));
    const members: Member[] = [member(SELF), member("a:1"), member("b:1"), member("c:1")];
    return { client, a: a!, b: b!, c: c!, members, ctx: { self: SELF, members, client, askTimeoutMs: 50 } };
  }

  test("asks only the tried nodes when they answer clearly", async () => {
    const { a, b, c, ctx } = cluster();
    const { verdict } = await findElsewhere(ctx, "p", ["a:1", SELF]);
    expect(verdict).toEqual({ kind: "none" });
    expect([a.asked, b.asked, c.asked]).toEqual([1, 0, 0]);
  });

  test("a tried node that is gone may have forwarded it anywhere: everyone is asked", async () => {
    const { a, b, c, ctx } = cluster();
    a.ask = "gone";
    c.ask = { seen: true, handled_by: "c:1" };
    const { verdict } = await findElsewhere(ctx, "p", ["a:1"]);
    expect(verdict).toEqual({ kind: "found", at: "c:1" });
    expect([a.asked, b.asked, c.asked]).toEqual([1, 1, 1]);
  });

  test("hints are followed once, and only to members", async () => {
    const { client, a, b, ctx } = cluster();
    const outsider = client.add("x:1", { seen: true, handled_by: "x:1" });
    a.ask = { seen: false, maybe_at: ["b:1", "x:1"] };
    b.ask = { seen: false, maybe_at: ["c:1"] };
    const { verdict, answers } = await findElsewhere(ctx, "p", ["a:1"]);
    expect(verdict).toEqual({ kind: "none" });
    expect(answers.map(({ at }) => at)).toEqual(["a:1", "b:1"]); // c:1 was named by a hint's answer: no further
    expect(outsider.asked).toBe(0);
  });
});

test("answerAsk remembers askers and points later askers at earlier ones", () => {
  const w = new IdempotencyWindow(60_000, 100);
  expect(answerAsk(w, 0, "p", "a:1")).toEqual({ seen: false });
  expect(answerAsk(w, 1, "p", "b:1")).toEqual({ seen: false, maybe_at: ["a:1"] });
  w.begin(2, "q", SELF);
  expect(answerAsk(w, 3, "q", "a:1")).toEqual({ seen: true, handled_by: SELF, pending: true });
  w.settle("q", "c:1");
  expect(answerAsk(w, 4, "q", "a:1")).toEqual({ seen: true, handled_by: "c:1" });
});
