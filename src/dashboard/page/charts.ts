/**
 * Time-series charts (uPlot): load ratio per node and cluster requests/s, one point per
 * snapshot, the last five minutes. The load chart is rebuilt when the set of nodes changes.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Snapshot } from "./types.ts";

const POINTS = 300;
const COLORS = ["#4aa3ff", "#2fbf71", "#f0b429", "#e5484d", "#b083f0", "#3fd0c9", "#f07b3f", "#9aa5b1"];

const axes = (): uPlot.Axis[] => [
  { stroke: "#8794a3", grid: { stroke: "#26313d" }, ticks: { stroke: "#26313d" } },
  { stroke: "#8794a3", grid: { stroke: "#26313d" }, ticks: { stroke: "#26313d" } },
];

export class Charts {
  #t: number[] = [];
  #load = new Map<string, { name: string; values: (number | null)[] }>();
  #rps: number[] = [];
  #loadPlot: uPlot | undefined;
  #rpsPlot: uPlot | undefined;
  #loadKeys = "";

  constructor(
    private readonly loadEl: HTMLElement,
    private readonly rpsEl: HTMLElement,
  ) {
    addEventListener("resize", () => {
      this.#loadPlot?.setSize(this.#size(this.loadEl));
      this.#rpsPlot?.setSize(this.#size(this.rpsEl));
    });
  }

  add(s: Snapshot): void {
    this.#t.push(s.at / 1000);
    for (const m of s.members) if (!this.#load.has(m.id)) this.#load.set(m.id, { name: m.name, values: this.#t.slice(0, -1).map(() => null) });
    const byId = new Map(s.members.map((m) => [m.id, m]));
    for (const [id, series] of this.#load) {
      const m = byId.get(id);
      series.values.push(m && (m.state === "alive" || m.state === "suspect") ? (m.load_ratio ?? 0) : null);
    }
    this.#rps.push(s.cluster.requests_per_s);
    if (this.#t.length > POINTS) {
      this.#t.shift();
      this.#rps.shift();
      for (const [id, series] of this.#load) {
        series.values.shift();
        if (series.values.every((v) => v === null)) this.#load.delete(id);
      }
    }
    this.#draw();
  }

  #size(el: HTMLElement) {
    return { width: Math.max(300, el.clientWidth - 12), height: 200 };
  }

  #draw(): void {
    const keys = [...this.#load.keys()].join(",");
    if (keys !== this.#loadKeys) {
      this.#loadPlot?.destroy();
      this.#loadKeys = keys;
      const series: uPlot.Series[] = [
        {},
        ...[...this.#load.values()].map((s, i) => ({ label: s.name, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false })),
      ];
      this.#loadPlot = new uPlot(
        { ...this.#size(this.loadEl), series, axes: axes(), scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } } },
        this.#loadData(),
        this.loadEl,
      );
    } else this.#loadPlot?.setData(this.#loadData());
    if (!this.#rpsPlot)
      this.#rpsPlot = new uPlot(
        {
          ...this.#size(this.rpsEl),
          series: [{}, { label: "requests/s", stroke: "#4aa3ff", fill: "rgba(74,163,255,.15)", width: 2 }],
          axes: axes(),
          scales: { y: { range: (_u, _min, max) => [0, Math.max(10, max)] } },
        },
        [this.#t, this.#rps],
        this.rpsEl,
      );
    else this.#rpsPlot.setData([this.#t, this.#rps]);
  }

  #loadData(): uPlot.AlignedData {
    return [this.#t, ...[...this.#load.values()].map((s) => s.values)] as uPlot.AlignedData;
  }
}
