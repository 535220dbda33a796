/**
 * The fields every schema at the edge shares, defined once: a node id, a node address, a packet
 * id, base64 and hex strings. The datagram codec, the /sync and /join bodies, the node's peer
 * memory and the HTTP routes all check these the same way.
 */
import { z } from "zod";
import { BRACKETED_IPV6, HOST_NAME } from "../util/address.ts";

/** A node id: the identity's fingerprint, or any short name in tests and open mode. */
export const NODE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** "host:port" as joinAddress writes it (IPv6 in brackets); the host rules of util/address.ts. */
export const ADDRESS = new RegExp(`^(?:${HOST_NAME}|${BRACKETED_IPV6}):\\d{1,5}$`);
/** A device's packet or device id: 1-128 printable ASCII characters. */
export const PACKET_ID = /^[\x21-\x7e]{1,128}$/;
const BASE64 = /^[A-Za-z0-9+/=]+$/;

export const nodeId = z.string().regex(NODE_ID);
export const address = z.string().regex(ADDRESS);
export const packetId = z.string().regex(PACKET_ID);
/** Base64 of at most `max` characters. */
export const base64 = (max: number) => z.string().max(max).regex(BASE64);
/** Exactly `n` lower-case hex digits. */
export const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
