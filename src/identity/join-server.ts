import { randomBytes } from "node:crypto";
import type { Logger } from "../log/logger.ts";
import type { Address, Member, MemberSnapshot, NodeId } from "../membership/types.ts";
import { peerFetch } from "../ports/peer-http.ts";
import { mismatch, PROTOCOL } from "../wire/protocol.ts";
import { snapshotToJson } from "../wire/sync-schema.ts";
import {
  type Credentials,
  checkCert,
  checkEarlyProof,
  checkKid,
  checkPeer,
  credentialFields,
  type Ephemeral,
  ephemeral,
  type Finish,
  type Hello,
  type HelloReply,
  idOfKey,
  JOIN_HEADER,
  Refusal,
  signTranscript,
  transcript,
  wrapKey,
} from "./handshake.ts";
import { deriveClusterKey, randomClusterKey } from "./keyring.ts";
import type { NodeIdentity } from "./node-identity.ts";
import { unwrapKeys, wrapKeys } from "./wrap.ts";

const SESSION_TTL_MS = 10_000;
const MAX_SESSIONS = 1024;

interface Pending {
  readonly hello: Hello;
  readonly t: Buffer;
  readonly eph: Ephemeral;
  readonly joinerId: NodeId;
  readonly expires: number;
}

/** What the seed side needs of the running node. */
export interface JoinHost {
  member(id: NodeId): Readonly<Member> | undefined;
  /** The member at this gossip address, if any. */
  holderOf(gossip: Address): Readonly<Member> | undefined;
  /** Verify claims, merge the joiner's state, answer with ours (signed). `joiner` proved its identity. */
  admit(members: MemberSnapshot[], joiner: NodeId): MemberSnapshot[];
  /** Claims in the joiner's state that verify. */
  verified(members: readonly MemberSnapshot[], joiner: NodeId): MemberSnapshot[];
}

/** Does a live process still answer at `http` with this identity? Then a second one is a copy. */
async function stillThere(http: Address, id: NodeId): Promise<boolean> {
  try {
    // Signed: a node with --api-token answers /status to its peers, not to strangers.
    const res = await peerFetch(http, "/status", { signal: AbortSignal.timeout(1500), sign: true });
    const body = (await res.json()) as { id?: unknown };
    return body.id === id;
  } catch {
    return false;
  }
}

/** The seed's side of the handshake: /join/hello and /join/finish. */
export class JoinServer {
  readonly #pending = new Map<string, Pending>();
  readonly stats = { admitted: 0, refused: 0 };

  constructor(
    private readonly identity: NodeIdentity,
    private readonly creds: Credentials,
    private readonly host: JoinHost,
    private readonly log: Logger,
  ) {}

  hello(hello: Hello, from: string): HelloReply {
    const now = Date.now();
    const joinerId = idOfKey(hello.key);
    try {
      if (joinerId === this.identity.id) throw new Refusal(409, "the joiner has this seed's own identity key (copied data dir?)");
      // Check the certificate at once: a stranger learns nothing more from an early refusal.
      checkCert(this.creds, Buffer.from(hello.key, "base64"), hello.cert, now / 1000);
      checkKid(this.creds, hello.kid);
      const versions = mismatch(hello.protocol);
      if (versions) throw new Refusal(409, versions);
    } catch (e) {
      throw this.#refuse(e, joinerId, from);
    }
    for (const [k, p] of this.#pending) if (p.expires < now) this.#pending.delete(k);
    if (this.#pending.size >= MAX_SESSIONS) throw this.#refuse(new Refusal(503, "too many handshakes in progress; retry later"), joinerId, from);
    const eph = ephemeral();
    const base = { key: this.identity.publicKeyRaw.toString("base64"), nonce: randomBytes(32).toString("base64"), eph: eph.raw };
    const t = transcript(hello, base);
    const session = randomBytes(16).toString("hex");
    this.#pending.set(session, { hello, t, eph, joinerId, expires: now + SESSION_TTL_MS });
    const reply: HelloReply = {
      session,
      protocol: PROTOCOL,
      ...base,
      sig: signTranscript(this.identity, "seed", t),
      ...credentialFields(this.creds, "seed", t, hello.kid),
    };
    if (this.creds.cert) reply.cert = this.creds.cert;
    return reply;
  }

  /**
   * Before /join/finish's body is read: the `x-dsef-join` header names the session and carries
   * the joiner's proof over its transcript (the cluster-key MAC in secret mode, else its
   * signature), so only the holder of a credential gets its (up to 4 MB) body parsed.
   */
  precheck(header: string | null, from: string): Refusal | undefined {
    const m = header ? /^([0-9a-f]{32})\.([A-Za-z0-9_-]{1,100})$/.exec(header) : null;
    if (!m) return this.#refuse(new Refusal(401, `the ${JOIN_HEADER} header is required (session and proof)`), "?", from) as Refusal;
    const [, session, proof] = m as unknown as [string, string, string];
    const p = this.#pending.get(session);
    if (!p || p.expires < Date.now()) return this.#refuse(new Refusal(401, "unknown or expired handshake session; start again"), "?", from) as Refusal;
    if (checkEarlyProof(this.creds, p.t, Buffer.from(p.hello.key, "base64"), p.hello.kid, Buffer.from(proof, "base64url"))) return undefined;
    this.#pending.delete(session);
    return this.#refuse(new Refusal(403, "proof of the handshake credential is not valid"), p.joinerId, from) as Refusal;
  }

  async finish(finish: Finish, from: string): Promise<{ members: ReturnType<typeof snapshotToJson>[]; keys?: string }> {
    const p = this.#pending.get(finish.session);
    if (!p || p.expires < Date.now()) throw this.#refuse(new Refusal(401, "unknown or expired handshake session; start again"), "?", from);
    this.#pending.delete(finish.session);
    try {
      checkPeer(this.creds, "joiner", p.t, Buffer.from(p.hello.key, "base64"), finish.sig, p.hello.cert, finish.kid, finish.mac, Date.now() / 1000);
      const claimed = finish.members;
      const said = claimed.find((m) => m.info.id === p.joinerId && m.state === "alive");
      // The certificate binds the name (and maybe the host): one issued to "node1" is not "admin-console".
      const cert = p.hello.cert;
      if (this.creds.caKey && cert && said && said.info.name !== cert.name) {
        throw new Refusal(403, `certificate is for "${cert.name}", not for a node named "${said.info.name}"`);
      }
      const known = this.host.member(p.joinerId);
      // One identity, two live places: refuse the newcomer (the known one still answers), or
      // ask it to wait until the old entry is declared dead (it moved faster than detection).
      if (said && known && (known.state === "alive" || known.state === "suspect") && known.info.gossip !== said.info.gossip) {
        if (await stillThere(known.info.http, p.joinerId)) {
          throw new Refusal(
            409,
            `node id ${p.joinerId} is already in use by a live member at ${known.info.http} (copied data dir?); give this node its own --data-dir`,
          );
        }
        throw new Refusal(409, `node id ${p.joinerId} is still listed at ${known.info.http}; retry once that entry is declared dead`);
      }
      // A new key at a listed member's address: refused while that member answers there as
      // itself. Otherwise it is an honest node restarted with a new key (or one that moved in):
      // admitted, and the address goes to whichever proves it lives there (the membership core's
      // address check pings it for the claimant), so a joiner lying about its address gains nothing.
      const holder = said && this.host.holderOf(said.info.gossip);
      if (holder && holder.info.id !== p.joinerId && (holder.state === "alive" || holder.state === "suspect")) {
        if (holder.info.id === this.identity.id || (await stillThere(holder.info.http, holder.info.id))) {
          throw new Refusal(409, `address ${said!.info.gossip} is in use by live member ${holder.info.id}`);
        }
      }
      const members = this.host.verified(claimed, p.joinerId);
      const self = members.find((m) => m.info.id === p.joinerId);
      if (self?.state !== "alive") throw new Refusal(400, "the joiner's own alive claim is missing or not validly signed");
      let keys: string | undefined;
      if (this.creds.shareKeys) {
        const toSeed = wrapKey(p.eph, p.hello.eph, p.t, "to-seed");
        const theirs = toSeed && finish.keys ? unwrapKeys(toSeed, finish.keys, "keys") : undefined;
        if (theirs) this.creds.keyring.add(theirs.map(deriveClusterKey));
        // The first node asked to admit someone creates the cluster's gossip key.
        if (!this.creds.keyring.sendKey) this.creds.keyring.setSend(randomClusterKey());
        const toJoiner = wrapKey(p.eph, p.hello.eph, p.t, "to-joiner");
        if (!toJoiner) throw new Refusal(400, "malformed ephemeral key");
        const mine = this.creds.keyring.all();
        const send = this.creds.keyring.sendKey!;
        keys = wrapKeys(
          toJoiner,
          [send, ...mine.filter((k) => k !== send)].map((k) => k.material),
          "keys",
        );
      } else if (this.creds.secret) {
        // The joiner proved a key we accept: it gets the keys we hold, our send key first, so a
        // node that missed a rotation (`dsef keys`) catches up. Never taken from the joiner.
        const toJoiner = wrapKey(p.eph, p.hello.eph, p.t, "to-joiner");
        const send = this.creds.keyring.sendKey;
        if (toJoiner && send)
          keys = wrapKeys(
            toJoiner,
            [send, ...this.creds.keyring.all().filter((k) => k !== send)].map((k) => k.material),
            "keys",
          );
      }
      const table = this.host.admit(members, p.joinerId);
      this.stats.admitted++;
      this.log.info({ joiner: p.joinerId, name: self.info.name, addr: self.info.http, from }, "admitted a node");
      return keys ? { members: table.map(snapshotToJson), keys } : { members: table.map(snapshotToJson) };
    } catch (e) {
      throw this.#refuse(e, p.joinerId, from);
    }
  }

  #refuse(e: unknown, joiner: string, from: string): unknown {
    if (!(e instanceof Refusal)) return e;
    this.stats.refused++;
    this.log.warn({ joiner, from, status: e.status, reason: e.message }, "refused a join");
    return e;
  }
}
