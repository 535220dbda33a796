/**
 * prom-client's metric classes, each from its own file. The package's index also loads the
 * Pushgateway (node:http, node:https) and the cluster aggregator, which a node never uses: the
 * index costs a compiled node ~10 MB of RSS and ~17 ms of start-up more than these four files
 * (docs/BENCHMARKS.md, "Footprint"). The types are the package's own.
 */
import type * as Prom from "prom-client";
import CounterClass from "prom-client/lib/counter";
import GaugeClass from "prom-client/lib/gauge";
import HistogramClass from "prom-client/lib/histogram";
import RegistryClass from "prom-client/lib/registry";

export const Counter = CounterClass as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = GaugeClass as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = HistogramClass as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
export const Registry = RegistryClass as typeof Prom.Registry;
export type Registry = Prom.Registry;
