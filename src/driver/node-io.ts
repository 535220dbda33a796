import type { Address, CheckResult, MemberSnapshot, NodeId, Nonce, Proof } from "../membership/types.ts";

/** What a member's HTTP port said to a health challenge: when it answered, as whom, with what proof. */
export interface HealthAnswer {
  readonly result: CheckResult;
  readonly id?: NodeId;
  readonly proof?: Proof;
}

/**
 * Everything a node driver asks of the world, and nothing more. The real runtime implements it
 * with a UDP socket, setTimeout and fetch; the simulator with a virtual clock and a simulated
 * network. Completions are callbacks, not promises: the simulator runs a whole cluster inside
 * one synchronous loop, where a promise would only settle after the loop ends.
 */
export interface NodeIo {
  /** Milliseconds on a clock that never goes back. */
  now(): number;
  /** Send one sealed datagram (fire and forget: loss is the protocol's business). */
  send(to: Address, datagram: Uint8Array): void;
  /** Arm the node's one wake-up timer at `at`, replacing any earlier one; Infinity disarms. */
  setTimer(at: number, fire: () => void): void;
  /** Ask the member's HTTP port for /health within `timeoutMs`, challenging it with `nonce`. */
  checkHttp(http: Address, timeoutMs: number, nonce: Nonce, done: (answer: HealthAnswer) => void): void;
  /** Full-state exchange over HTTP; `done` gets the peer's state, or why it failed. */
  exchange(http: Address, members: readonly MemberSnapshot[], join: boolean, done: (result: MemberSnapshot[] | Error) => void): void;
}
