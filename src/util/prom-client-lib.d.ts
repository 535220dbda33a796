// prom-client ships types for its index only; prom.ts gives these files the index's types.
declare module "prom-client/lib/counter" {
  const C: unknown;
  export default C;
}
declare module "prom-client/lib/gauge" {
  const C: unknown;
  export default C;
}
declare module "prom-client/lib/histogram" {
  const C: unknown;
  export default C;
}
declare module "prom-client/lib/registry" {
  const C: unknown;
  export default C;
}
