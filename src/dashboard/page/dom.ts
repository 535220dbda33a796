/** Tiny DOM builder: text always goes in as text (node names come from the network). */
export function h(tag: string, attrs: Record<string, string | undefined> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

/** A horizontal bar: `fraction` of full width, coloured by how close to full it is. */
export function bar(fraction: number | undefined, label: string): HTMLElement {
  if (fraction === undefined || !Number.isFinite(fraction)) return h("span", { class: "na" }, "—");
  const f = Math.max(0, Math.min(1, fraction));
  const heat = f >= 0.9 ? "hot" : f >= 0.6 ? "warm" : "";
  return h("div", { class: `bar ${heat}` }, h("div", { style: `width:${(f * 100).toFixed(1)}%` }), h("span", {}, label));
}

export function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export const fmt = (n: number, digits = 1) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));
