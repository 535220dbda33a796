/**
 * Strings from outside (names, ids, addresses, reasons) are shown to people in logs and the
 * dashboard. Control characters could forge log lines (a newline in pretty mode) or reorder
 * what is shown (bidirectional overrides), so they are refused in names and escaped in logs.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "g");
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

export function isPrintable(s: string): boolean {
  return !UNSAFE.test(s);
}

/** `s` with every unsafe character escaped (\n, \r, \t, \u{…}); the same string when there are none. */
export function printable(s: string): string {
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE_ALL, (c) => NAMED[c] ?? `\\u{${c.codePointAt(0)!.toString(16)}}`);
}
