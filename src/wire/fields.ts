/**
 * The fields every zod schema at the HTTP edges shares, defined once from wire/shapes.ts: a node
 * id, a node address, a packet id, base64 and hex strings. The /sync and /join bodies, the node's
 * peer memory and the HTTP routes check these the same way the datagram checks do.
 */
import { z } from "zod";
import { ADDRESS, BASE64, NODE_ID, PACKET_ID } from "./shapes.ts";

export { ADDRESS, NODE_ID, PACKET_ID } from "./shapes.ts";

export const nodeId = z.string().regex(NODE_ID);
export const address = z.string().regex(ADDRESS);
export const packetId = z.string().regex(PACKET_ID);
/** Base64 of at most `max` characters. */
export const base64 = (max: number) => z.string().max(max).regex(BASE64);
/** Exactly `n` lower-case hex digits. */
export const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
