import type { EvidenceLog } from "../driver/evidence-log.ts";
import type { Member, NodeId } from "../membership/types.ts";

/** The shortest id prefix an operator may type. */
const MIN_PREFIX = 4;

export type Lookup = { readonly id: NodeId } | { readonly status: 404 | 409; readonly error: string };

/**
 * The member an operator names: its id, its name, or a prefix of its id, among the members this
 * node holds and those its evidence log remembers (a pruned or reaped member keeps its story). A
 * name two identities had (a node restarted with a new key) must be told apart by id.
 */
export function lookupMember(query: string, members: readonly Readonly<Member>[], log: EvidenceLog): Lookup {
  const names = new Map<NodeId, string>();
  for (const id of log.ids()) names.set(id, log.of(id)?.name ?? "?");
  for (const m of members) names.set(m.info.id, m.info.name);
  if (names.has(query)) return { id: query };
  let found = [...names].filter(([, name]) => name === query).map(([id]) => id);
  if (found.length === 0 && query.length >= MIN_PREFIX) found = [...names.keys()].filter((id) => id.startsWith(query));
  if (found.length === 1) return { id: found[0]! };
  if (found.length === 0) return { status: 404, error: `no member named ${JSON.stringify(query)} here (give its name, its id, or the start of its id)` };
  const listed = found.slice(0, 8).map((id) => `${names.get(id)} (${id})`);
  return { status: 409, error: `${JSON.stringify(query)} names ${found.length} members: ${listed.join(", ")}; give the id` };
}
