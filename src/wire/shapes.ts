/**
 * The shapes every check of outside input shares, as plain regular expressions (no validation
 * library): a node id, a node address, a packet id, base64. wire/fields.ts builds the valibot
 * schemas of the HTTP edges from these; the datagram checks and request parsers use them as is.
 */
import { BRACKETED_IPV6, HOST_NAME } from "../util/address.ts";

/** A node id: the identity's fingerprint, or any short name in tests and open mode. */
export const NODE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** "host:port" as joinAddress writes it (IPv6 in brackets); the host rules of util/address.ts. */
export const ADDRESS = new RegExp(`^(?:${HOST_NAME}|${BRACKETED_IPV6}):\\d{1,5}$`);
/** A device's packet or device id: 1-128 printable ASCII characters. */
export const PACKET_ID = /^[\x21-\x7e]{1,128}$/;
export const BASE64 = /^[A-Za-z0-9+/=]+$/;
