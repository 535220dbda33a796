/**
 * Kubernetes manifests, checked without a cluster:
 * - rendered the way `kubectl apply -k k8s` does (`kubectl kustomize k8s`), and read file by
 *   file the way `kubectl apply -f k8s` does; both must give the same objects;
 * - every object validated against the official Kubernetes schemas (kubernetes-models), and
 *   strictly for unknown fields against the API's field lists (@kubernetes/client-node), as a
 *   real API server with strict field validation would;
 * - the wiring that matters: probes hit real routes of a real node, ports match the image,
 *   the bootstrap DNS name is the headless Service, selectors select the pods.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import * as clientNode from "@kubernetes/client-node";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Secret, Service } from "kubernetes-models/v1";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { allocPorts, type NodeProcess, spawnNode } from "../support/processes.ts";
import { testAuthority, tlsDataDir } from "../support/tls.ts";

const ROOT = join(import.meta.dir, "..", "..");
const K8S = join(ROOT, "k8s");
type Obj = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: any }; [k: string]: any };

const models: Record<string, new (o: any) => { validate(): void }> = {
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/StatefulSet": StatefulSet,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};
/** Top-level API type per kind, for the strict unknown-field walk. */
const apiTypes: Record<string, string> = {
  Secret: "V1Secret",
  Service: "V1Service",
  StatefulSet: "V1StatefulSet",
  Deployment: "V1Deployment",
  PodDisruptionBudget: "V1PodDisruptionBudget",
};

const docs = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJSON() as Obj)
    .filter(Boolean);
const key = (o: Obj) => `${o.kind}/${o.metadata.name}`;

/** What `kubectl apply -f k8s` reads: every .yaml, .yml and .json file in the folder. */
function applyFileSet(): { file: string; objs: Obj[] }[] {
  return readdirSync(K8S)
    .filter((f) => [".yaml", ".yml", ".json"].includes(extname(f)))
    .sort()
    .map((file) => ({ file, objs: docs(readFileSync(join(K8S, file), "utf8")) }));
}

/**
 * What `kubectl apply -k k8s` applies: `kubectl kustomize` when kubectl is installed (CI
 * installs it); otherwise the same result for this kustomization's only feature, `resources`.
 */
async function kustomize(): Promise<{ objs: Obj[]; by: string }> {
  const kubectl = Bun.which("kubectl");
  if (kubectl) {
    const p = Bun.spawnSync([kubectl, "kustomize", K8S], { stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`kubectl kustomize failed: ${p.stderr.toString()}`);
    return { objs: docs(p.stdout.toString()), by: "kubectl kustomize" };
  }
  const k = parseYaml(readFileSync(join(K8S, "Kustomization"), "utf8"));
  const extra = Object.keys(k).filter((f) => !["apiVersion", "kind", "resources"].includes(f));
  if (extra.length) throw new Error(`no kubectl, and the fallback renderer only knows 'resources' (found ${extra.join(", ")})`);
  return { objs: (k.resources as string[]).flatMap((r) => docs(readFileSync(join(K8S, r), "utf8"))), by: "resources list (kubectl not installed)" };
}

/** Unknown fields, walked through the API's own field lists (release-1.36 OpenAPI). */
function unknownFields(value: unknown, type: string, path: string, out: string[]): string[] {
  if (value === null || value === undefined) return out;
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (!Array.isArray(value)) out.push(`${path}: expected a list`);
    else
      value.forEach((v, i) => {
        unknownFields(v, arr[1]!, `${path}[${i}]`, out);
      });
    return out;
  }
  const cls = (clientNode as Record<string, any>)[type];
  const attrs: { baseName: string; type: string }[] | undefined = cls?.getAttributeTypeMap?.();
  if (!attrs) return out; // a primitive, a map, IntOrString, quantities
  if (typeof value !== "object" || Array.isArray(value)) {
    out.push(`${path}: expected an object (${type})`);
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    const a = attrs.find((x) => x.baseName === k);
    if (!a) out.push(`${path}.${k}: unknown field in ${type}`);
    else unknownFields(v, a.type, `${path}.${k}`, out);
  }
  return out;
}

const fileSet = applyFileSet();
const rendered = await kustomize();
const objs = rendered.objs;
const find = (kind: string, name?: string) => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? ` ${name}` : ""} in the manifests`);
  return o;
};
const sts = find("StatefulSet");
const edge = sts.spec.template.spec.containers[0];
const envOf = (c: any, name: string) => c.env?.find((e: any) => e.name === name);
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

describe(`k8s manifests (rendered by ${rendered.by})`, () => {
  it("`kubectl apply -f k8s` and `kubectl apply -k k8s` apply the same objects", () => {
    const viaF = fileSet.flatMap((f) => f.objs);
    // -f must not meet the kustomization (it is no API object); -k needs it.
    expect(viaF.filter((o) => o.kind === "Kustomization")).toEqual([]);
    expect(existsSync(join(K8S, "Kustomization"))).toBe(true);
    expect(new Map(viaF.map((o) => [key(o), o]))).toEqual(new Map(objs.map((o) => [key(o), o])));
    // kubectl's own -f reader, offline (--local): it must see exactly these objects and no
    // Kustomization (it would read a kustomization.yaml as an object a cluster rejects).
    const kubectl = Bun.which("kubectl");
    if (kubectl) {
      const p = Bun.spawnSync([kubectl, "label", "--local", "-f", K8S, "dsef-check=1", "-o", "name"], { stderr: "pipe" });
      expect(p.exitCode, p.stderr.toString()).toBe(0);
      const names = p.stdout.toString().trim().split("\n").sort();
      expect(names.filter((n) => /kustomiz/i.test(n))).toEqual([]);
      expect(names.map((n) => n.split("/")[1]).sort()).toEqual(viaF.map((o) => o.metadata.name).sort());
    }
    expect(objs.map(key).sort()).toEqual([
      "Deployment/dsef-esp",
      "PodDisruptionBudget/dsef-edge",
      "Secret/dsef-cluster-key",
      "Service/dsef",
      "Service/dsef-peers",
      "StatefulSet/dsef-edge",
    ]);
  });

  it("every object validates against the official Kubernetes schemas", () => {
    for (const o of objs) {
      const Model = models[`${o.apiVersion}/${o.kind}`];
      expect(Model, `a schema for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o).validate(), key(o)).not.toThrow();
    }
  });

  it("no object has fields the API does not know (strict field validation)", () => {
    for (const o of objs) expect(unknownFields(o, apiTypes[o.kind]!, key(o), [])).toEqual([]);
    // The walk does catch a typo:
    const typo = structuredClone(sts);
    typo.spec.template.spec.containers[0].readinessProb = {};
    expect(unknownFields(typo, "V1StatefulSet", "x", [])).toEqual(["x.spec.template.spec.containers[0].readinessProb: unknown field in V1Container"]);
  });

  it("ports match the image: HTTP on TCP and gossip on UDP, same number as DSEF_PORT", () => {
    const exposed = [...dockerfile.matchAll(/^EXPOSE (.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)).sort();
    const imagePort = Number(/DSEF_PORT=(\d+)/.exec(dockerfile)![1]);
    expect(exposed).toEqual([`${imagePort}/tcp`, `${imagePort}/udp`]);
    const ports = edge.ports.map((p: any) => `${p.containerPort}/${p.protocol.toLowerCase()}`).sort();
    expect(ports).toEqual(exposed);
    expect(envOf(edge, "DSEF_PORT")?.value ?? String(imagePort)).toBe(String(imagePort));
    for (const svc of objs.filter((o) => o.kind === "Service"))
      for (const p of svc.spec.ports) {
        const target = edge.ports.find((c: any) => c.name === p.targetPort || c.containerPort === p.targetPort);
        expect(target, `${key(svc)} port ${p.name} targets a container port`).toBeDefined();
        expect(target.protocol).toBe(p.protocol);
      }
  });

  it("bootstrap goes through the headless Service, which lists pods before they are ready", () => {
    const headless = find("Service", sts.spec.serviceName);
    expect(headless.spec.clusterIP).toBe("None");
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    const [host, port] = envOf(edge, "DSEF_BOOTSTRAP").value.split(":");
    expect(host).toBe(headless.metadata.name);
    expect(Number(port)).toBe(headless.spec.ports.find((p: any) => p.protocol === "TCP").port);
    expect(envOf(edge, "DSEF_IP").valueFrom.fieldRef.fieldPath).toBe("status.podIP");
    expect(sts.spec.podManagementPolicy).toBe("Parallel");
  });

  it("selectors select the pods they are meant for", () => {
    const podLabels = sts.spec.template.metadata.labels;
    const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
    expect(selects(sts.spec.selector.matchLabels)).toBe(true);
    for (const svc of objs.filter((o) => o.kind === "Service")) expect(selects(svc.spec.selector), key(svc)).toBe(true);
    expect(selects(find("PodDisruptionBudget").spec.selector.matchLabels)).toBe(true);
    const esp = find("Deployment", "dsef-esp");
    expect(selects(esp.spec.selector.matchLabels)).toBe(false); // simulators are not edge pods
  });

  it("identity key on a per-pod volume; credential from the Secret; graceful stop fits the grace period", () => {
    const claim = sts.spec.volumeClaimTemplates[0];
    const mount = edge.volumeMounts.find((m: any) => m.name === claim.metadata.name);
    expect(mount).toBeDefined();
    expect(envOf(edge, "DSEF_DATA_DIR").value.startsWith(mount.mountPath)).toBe(true);
    expect(sts.spec.template.spec.securityContext.fsGroupChangePolicy).toBe("OnRootMismatch");
    const ref = envOf(edge, "DSEF_CLUSTER_KEY").valueFrom.secretKeyRef;
    const secret = find("Secret", ref.name);
    expect(Object.keys(secret.stringData ?? secret.data)).toContain(ref.key);
    const preStop = Number(edge.lifecycle.preStop.sleep.seconds); // the kubelet sleeps: the image has no shell
    const leave = Number(/^(\d+)s$/.exec(envOf(edge, "DSEF_LEAVE_GRACE").value)![1]);
    expect(preStop + leave).toBeLessThan(sts.spec.template.spec.terminationGracePeriodSeconds);
    for (const c of [edge, find("Deployment", "dsef-esp").spec.template.spec.containers[0]]) {
      expect(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.cpu && c.resources.limits.memory).toBeTruthy();
    }
  });

  it("the ESP simulators use the same image and reach the edges through the HTTP Service", () => {
    const esp = find("Deployment", "dsef-esp").spec.template.spec.containers[0];
    expect(esp.image).toBe(edge.image);
    // The image's one binary, as its ENTRYPOINT names it, with the simulator subcommand.
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(esp.command).toEqual([...entrypoint, "esp"]);
    const url = new URL(esp.args[esp.args.indexOf("--bootstrap") + 1]);
    const svc = find("Service", url.hostname);
    expect(svc.spec.clusterIP).not.toBe("None");
    expect(svc.spec.ports.map((p: any) => p.port)).toContain(Number(url.port));
  });

  describe("probes hit real routes of a real node", () => {
    let node: NodeProcess | undefined;
    afterAll(() => node?.kill("SIGKILL"));
    it("readiness and liveness paths answer 200 on a running node (and a wrong path would not)", async () => {
      const [port] = allocPorts(1);
      node = await spawnNode({ port: port! });
      for (const probe of [edge.readinessProbe, edge.livenessProbe]) {
        const res = await fetch(`${node.url}${probe.httpGet.path}`);
        expect(res.status, probe.httpGet.path).toBe(200);
        expect(edge.ports.find((p: any) => p.name === probe.httpGet.port)?.protocol).toBe("TCP");
      }
      expect((await fetch(`${node.url}/readyz`)).status).toBe(404);
      // The image's HEALTHCHECK is the binary's `health` command, which GETs /health too.
      expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["\/usr\/local\/bin\/dsef", "health"\]$/m);
    }, 30_000);
  });
});

/** k8s-tls/: the same objects with TLS patched in, rendered as `kubectl apply -k k8s-tls` does. */
const kubectl = Bun.which("kubectl");
describe.skipIf(!kubectl && process.env.CI !== "true")("k8s-tls overlay (rendered by kubectl kustomize)", () => {
  const rendered = () => {
    const p = Bun.spawnSync([kubectl ?? "kubectl", "kustomize", join(ROOT, "k8s-tls")], { stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`kubectl kustomize k8s-tls failed: ${p.stderr.toString()}`);
    return docs(p.stdout.toString());
  };
  const tlsObjs = kubectl ? rendered() : [];
  const tlsSts = tlsObjs.find((o) => o.kind === "StatefulSet")!;
  const tlsEdge = tlsSts?.spec.template.spec.containers[0];
  const tlsEsp = tlsObjs.find((o) => o.kind === "Deployment")?.spec.template.spec;
  /** Where a container finds a file named by an env var: the mounted volume that holds it. */
  const mountedFile = (spec: any, c: any, env: string) => {
    const path: string = envOf(c, env).value;
    const mount = c.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
    const volume = spec.volumes.find((v: any) => v.name === mount?.name);
    return { file: path.slice(mount.mountPath.length + 1), secret: volume?.secret };
  };

  it("the same objects as k8s/, valid and strict; only the TLS wiring differs", () => {
    expect(tlsObjs.map(key).sort()).toEqual(objs.map(key).sort());
    for (const o of tlsObjs) {
      expect(() => new models[`${o.apiVersion}/${o.kind}`]!(o).validate(), key(o)).not.toThrow();
      expect(unknownFields(o, apiTypes[o.kind]!, key(o), [])).toEqual([]);
    }
  });

  it("edges: certificate, key and CA from the Secret dsef-tls, probes over HTTPS, the key not readable by others", () => {
    const spec = tlsSts.spec.template.spec;
    for (const [env, file] of [
      ["DSEF_TLS_CERT", "tls.crt"],
      ["DSEF_TLS_KEY", "tls.key"],
      ["DSEF_TLS_CA", "ca.crt"],
    ] as const) {
      const m = mountedFile(spec, tlsEdge, env);
      expect(m).toMatchObject({ file, secret: { secretName: "dsef-tls" } });
      expect(m.secret.defaultMode & 0o007).toBe(0);
    }
    expect(envOf(tlsEdge, "DSEF_TLS_ANY_NODE_NAME").value).toBe("1");
    expect([tlsEdge.readinessProbe.httpGet.scheme, tlsEdge.livenessProbe.httpGet.scheme]).toEqual(["HTTPS", "HTTPS"]);
    expect(spec.securityContext.fsGroup).toBe(1000);
  });

  it("devices: https through the Service, verified against the CA; they get the CA only, never the key", () => {
    const esp = tlsEsp.containers[0];
    expect(esp.args[esp.args.indexOf("--bootstrap") + 1]).toStartWith("https://");
    const m = mountedFile(tlsEsp, esp, "DSEF_TLS_CA");
    expect(m.file).toBe("ca.crt");
    expect(m.secret.items.map((i: any) => i.key)).toEqual(["ca.crt"]);
  });

  describe("a real node started as the overlay starts it", () => {
    let node: NodeProcess | undefined;
    afterAll(() => node?.kill("SIGKILL"));
    it("answers the kubelet's HTTPS probes (certificates unverified, as the kubelet does) and refuses plain http", async () => {
      // The Secret's files as the kubelet mounts them: root-owned, group-readable (0440).
      const certDir = tlsDataDir(["dsef", "dsef-peers", "localhost", "127.0.0.1"]);
      const mount = mkdtempSync(join(tmpdir(), "dsef-k8s-tls-"));
      copyFileSync(join(certDir, "tls.crt"), join(mount, "tls.crt"));
      copyFileSync(join(certDir, "tls.key"), join(mount, "tls.key"));
      writeFileSync(join(mount, "ca.crt"), testAuthority().caPem);
      for (const f of ["tls.crt", "tls.key", "ca.crt"])
        chmodSync(join(mount, f), tlsSts.spec.template.spec.volumes.find((v: any) => v.name === "tls").secret.defaultMode);
      const env = Object.fromEntries(
        ["DSEF_TLS_CERT", "DSEF_TLS_KEY", "DSEF_TLS_CA", "DSEF_TLS_ANY_NODE_NAME"].map((k) => [k, envOf(tlsEdge, k).value.replace("/etc/dsef/tls", mount)]),
      );
      const [port] = allocPorts(1);
      node = await spawnNode({ port: port!, env, tlsCa: testAuthority().caPem });
      for (const probe of [tlsEdge.readinessProbe, tlsEdge.livenessProbe]) {
        const res = await fetch(`https://127.0.0.1:${port}${probe.httpGet.path}`, { tls: { rejectUnauthorized: false } });
        expect(res.status, probe.httpGet.path).toBe(200);
      }
      const plain = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => "no answer",
      );
      expect(plain).not.toBe(200);
    }, 30_000);
  });
});
