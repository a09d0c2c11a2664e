// Usage: node broken.cjs --isla BUILD/isla --src SRC DIR
// The validator's negative test: deliberately broken copies of the variant in DIR must each
// fail, with the problem named. Exits 1 when a broken copy passes (the check is toothless)
// or when the intact variant does not.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { loadKustomization, checkVariant, binaryOptions } = require("./lib.cjs");

const [, , , isla, , src, dir] = process.argv;
const binary = binaryOptions(isla, src, ["--store", "--queue"]);
const clone = (value) => JSON.parse(JSON.stringify(value));
const find = (objects, kind, name) =>
  objects.find(({ object }) => object.kind === kind && object.metadata.name === name).object;
const container = (objects, kind, name) => find(objects, kind, name).spec.template.spec.containers[0];
const setArg = (target, flag, value) => {
  const index = target.args.findIndex((arg) => arg.startsWith(`${flag}=`) || arg === flag);
  if (value === undefined) target.args.splice(index, 1);
  else target.args[index] = `${flag}=${value}`;
};

// Each: what it breaks, how, and the words its failure must contain.
const breakages = [
  ["a probe on a path the binary does not serve",
    (o) => { container(o, "StatefulSet", "isla-gateway").readinessProbe.httpGet.path = "/health"; },
    "readinessProbe path /health is not a route"],
  ["a container port that is not the --listen port",
    (o) => { container(o, "Deployment", "isla-pieces").ports[0].containerPort = 1234; },
    "--listen port 1233 is not a TCP containerPort"],
  ["the island secret inlined in an env value",
    (o) => { container(o, "Deployment", "isla-worker").env.push({ name: "ISLA_SECRET", value: "00ff" }); },
    "inlines a secret value"],
  ["the island secret taken into the environment",
    (o) => { container(o, "Deployment", "isla-worker").env.push({ name: "ISLA_SECRET", valueFrom: { secretKeyRef: { name: "isla-secret", key: "secret" } } }); },
    "takes a Secret into the environment"],
  ["--secret-file where no Secret is mounted",
    (o) => { setArg(container(o, "Deployment", "isla-pieces"), "--secret-file", "/etc/isla/other/secret"); },
    "nothing is mounted at /etc/isla/other"],
  ["voters that are not the StatefulSet's stable names",
    (o) => { setArg(container(o, "StatefulSet", "isla-gateway"), "--store-voters", "isla-gateway-0.isla-gateway.isla.svc.cluster.local:5235,isla-gateway-1.isla-gateway.isla.svc.cluster.local:5235,isla-gateway-9.isla-gateway.isla.svc.cluster.local:5235"); },
    "--store-voters must name the StatefulSet's stable names"],
  ["replicas changed without the voters",
    (o) => { find(o, "StatefulSet", "isla-gateway").spec.replicas = 5; },
    "--store-voters must name"],
  ["a container without resource limits",
    (o) => { delete container(o, "Deployment", "isla-worker").resources.limits; },
    "no resources.limits.cpu"],
  ["a flag the binary does not have",
    (o) => { container(o, "Deployment", "isla-pieces").args.push("--listen-port=1233"); },
    "isla pieces has no flag --listen-port"],
  ["a headless Service that hides unready gateways",
    (o) => { delete find(o, "Service", "isla-gateway").spec.publishNotReadyAddresses; },
    "publishNotReadyAddresses"],
  ["workers whose slots differ from what the autoscaler counts",
    (o) => { setArg(container(o, "Deployment", "isla-worker"), "--concurrency", "8"); },
    "differs from the workers' --concurrency"],
  ["a string where the schema wants an integer",
    (o) => { container(o, "Deployment", "isla-pieces").ports[0].containerPort = "1233"; },
    "must be integer"],
  ["a PodDisruptionBudget that selects nothing",
    (o) => { find(o, "PodDisruptionBudget", "isla-pieces").spec.selector.matchLabels = { app: "nothing" }; },
    "selector matches no workload"],
  ["the gateways unable to scale the workers",
    (o) => { find(o, "Role", "isla-worker-scaler").rules[0].verbs = ["get"]; },
    "may not update deployments/scale"],
];

let failed = 0;
const intact = loadKustomization(dir);
const baseline = checkVariant(clone(intact), binary);
if (baseline.problems.length > 0) {
  console.log(`FAIL the intact ${dir} does not pass:\n  ${baseline.problems.join("\n  ")}`);
  ++failed;
}
for (const [what, breakIt, expected] of breakages) {
  const objects = clone(intact);
  breakIt(objects);
  const { problems } = checkVariant(objects, binary);
  if (problems.some((problem) => problem.includes(expected))) {
    console.log(`ok caught: ${what}`);
  } else {
    console.log(`FAIL not caught: ${what} (expected '${expected}', got: ${problems.join("; ") || "no problem"})`);
    ++failed;
  }
}

// A broken copy on disk, through the same loader as the real files: a YAML syntax error.
const copy = fs.mkdtempSync(path.join(os.tmpdir(), "isla-k8s-broken-"));
try {
  fs.cpSync(path.dirname(path.resolve(dir)), copy, { recursive: true, filter: (from) => !from.includes("node_modules") });
  const pieces = path.join(copy, "base", "pieces.yaml");
  fs.writeFileSync(pieces, fs.readFileSync(pieces, "utf8").replace("containers:\n", "containers:\n   - broken: [\n"));
  let problems;
  try {
    problems = checkVariant(loadKustomization(path.join(copy, path.basename(path.resolve(dir)))), binary).problems;
  } catch (error) {
    problems = [error.message];
  }
  if (problems.some((problem) => problem.includes("pieces.yaml"))) {
    console.log("ok caught: a YAML syntax error in a copy on disk");
  } else {
    console.log(`FAIL not caught: a YAML syntax error in a copy on disk (${problems.join("; ")})`);
    ++failed;
  }
} finally {
  fs.rmSync(copy, { recursive: true, force: true });
}

const total = breakages.length + 2;
console.log(`${total - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
