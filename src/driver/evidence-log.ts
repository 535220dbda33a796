import type { Evidence, NodeId } from "../membership/types.ts";

/** How much evidence a node keeps: per member, and how many members (least recently changed go first). */
export interface EvidenceLimits {
  readonly members: number;
  readonly perMember: number;
}

/** A few suspicion stories (a dozen entries each) for each of 128 members: 3.4 MB measured, full of the largest entries. */
export const EVIDENCE_LIMITS: EvidenceLimits = { members: 128, perMember: 48 };

export interface MemberStory {
  readonly id: NodeId;
  /** The member's name when its latest evidence came (it may be gone from the table since). */
  readonly name: string | undefined;
  /** Oldest first. */
  readonly entries: readonly Evidence[];
}

interface Story {
  name: string | undefined;
  entries: Evidence[];
}

/**
 * The evidence a node heard about each member, bounded both ways: a member's oldest entries
 * give way to its newest, and the member whose evidence is oldest gives way to a new one. Other
 * members feed it (their gossip names members, and invented ones too), so nothing here grows
 * with what they send.
 */
export class EvidenceLog {
  readonly #stories = new Map<NodeId, Story>();

  constructor(readonly limits: EvidenceLimits = EVIDENCE_LIMITS) {}

  get size(): number {
    return this.#stories.size;
  }

  record(e: Evidence, name?: string): void {
    let story = this.#stories.get(e.member);
    if (story) this.#stories.delete(e.member);
    else {
      story = { name: undefined, entries: [] };
      if (this.#stories.size >= this.limits.members) this.#stories.delete(this.#stories.keys().next().value!);
    }
    // Most recently changed last: the first key is the one to evict.
    this.#stories.set(e.member, story);
    if (name !== undefined) story.name = name;
    if (story.entries.length >= this.limits.perMember) story.entries.shift();
    story.entries.push(e);
  }

  of(id: NodeId): MemberStory | undefined {
    const s = this.#stories.get(id);
    return s && { id, name: s.name, entries: s.entries };
  }

  /** Ids of the members the log knows by this name (a name can outlive an identity: a new key, same name). */
  idsNamed(name: string): NodeId[] {
    const ids: NodeId[] = [];
    for (const [id, s] of this.#stories) if (s.name === name) ids.push(id);
    return ids;
  }

  ids(): IterableIterator<NodeId> {
    return this.#stories.keys();
  }
}
