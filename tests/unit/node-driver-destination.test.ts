/** The node driver seals each datagram for the node it is meant for: captured, it opens nowhere else. */
import { expect, test } from "bun:test";
import { NodeDriver } from "../../src/driver/node-driver.ts";
import type { NodeIo } from "../../src/driver/node-io.ts";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { NodeInfo } from "../../src/membership/types.ts";

const KEY = "driver-destination-secret-0001";
const info = (i: number): NodeInfo => ({ id: `00000000000000a${i}`, name: `n${i}`, gossip: `10.0.0.${i}:7946`, http: `10.0.0.${i}:5000`, capacity: 1000 });

function node(i: number, peers: number[], now: () => number) {
  const sent: { to: string; datagram: Uint8Array }[] = [];
  let fire: (() => void) | undefined;
  const io: NodeIo = {
    now,
    send: (to, datagram) => sent.push({ to, datagram }),
    setTimer: (_at, f) => void (fire = f),
    checkHttp: () => {},
    exchange: () => {},
  };
  const guard = new AeadGuard(new Keyring([keyFromSecret(KEY)]), 60, () => 1_700_000_000_000 + now());
  const driver = new NodeDriver({
    core: {
      self: info(i),
      timing: profiles.lan,
      random: () => 0.5,
      now: now(),
      initialIncarnation: 100,
      initialMembers: peers.map((p) => ({ info: info(p), state: "alive", incarnation: 100 })),
    },
    io,
    guard,
  });
  return { driver, guard, sent, fire: () => fire?.() };
}

test("a ping captured on its way to B is refused by C; B opens it", () => {
  let t = 0;
  const now = () => t;
  const a = node(1, [2], now);
  const b = node(2, [1, 3], now);
  const c = node(3, [1, 2], now);
  a.driver.tick();
  t += 1000;
  a.fire();
  const ping = a.sent.find((s) => s.to === info(2).gossip)!;
  expect(ping).toBeDefined();
  c.driver.receive(info(1).gossip, ping.datagram);
  expect(c.driver.stats.drops.replayed).toBe(1);
  expect(c.guard.stats.refused.misdirected).toBe(1);
  b.driver.receive(info(1).gossip, ping.datagram);
  expect(b.driver.swim.stats.messagesIn).toBe(1);
  // B's ack goes back bound to A (learned from the ping): it opens at A, not at C.
  const ack = b.sent.find((s) => s.to === info(1).gossip)!;
  c.driver.receive(info(2).gossip, ack.datagram);
  expect(c.guard.stats.refused.misdirected).toBe(2);
  a.driver.receive(info(2).gossip, ack.datagram);
  expect(a.guard.stats.opened).toBe(1);
  expect(a.guard.stats.unbound).toBe(0);
});
