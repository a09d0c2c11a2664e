// Offline checks of isla's Kubernetes manifests: every object against the Kubernetes API's
// schemas (the kubernetes-models package, generated from the API's OpenAPI document), then
// the invariants that make an island work, which no schema knows about. No cluster is
// needed: `kubectl --dry-run=client` would still ask an API server for its schemas.
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const YAML = require("yaml");
const jsonPatch = require("fast-json-patch");

// ---- Loading a variant: the subset of kustomize the manifests use, and nothing else -------

const KUSTOMIZATION_FIELDS = new Set([
  "apiVersion", "kind", "namespace", "resources", "patches", "secretGenerator",
  "generatorOptions",
]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);

function readYamlDocuments(file) {
  const text = fs.readFileSync(file, "utf8");
  const documents = YAML.parseAllDocuments(text);
  const objects = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${file}: ${document.errors[0].message}`);
    }
    const value = document.toJS();
    if (value !== null && value !== undefined) objects.push({ object: value, source: file });
  }
  return objects;
}

// Builds what `kubectl apply -k DIR` would send: resources (files and directories), the
// namespace, secretGenerator (with placeholder contents: the real secret never enters git)
// and JSON 6902 patches. Anything else is refused, so that this emulation cannot silently
// differ from kustomize.
function loadKustomization(dir) {
  const file = path.join(dir, "kustomization.yaml");
  if (!fs.existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const kustomization = YAML.parse(fs.readFileSync(file, "utf8"));
  for (const field of Object.keys(kustomization)) {
    if (!KUSTOMIZATION_FIELDS.has(field)) {
      throw new Error(`${file}: field '${field}' is not understood by the offline validator`);
    }
  }
  let loaded = [];
  for (const resource of kustomization.resources || []) {
    const target = path.join(dir, resource);
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
      loaded = loaded.concat(loadKustomization(target));
    } else {
      loaded = loaded.concat(readYamlDocuments(target));
    }
  }
  for (const generator of kustomization.secretGenerator || []) {
    const data = {};
    for (const entry of generator.files || []) {
      const key = entry.includes("=") ? entry.split("=")[0] : path.basename(entry);
      data[key] = Buffer.from("placeholder").toString("base64");
    }
    const suffixless = (kustomization.generatorOptions || {}).disableNameSuffixHash === true;
    if (!suffixless) {
      throw new Error(`${file}: secretGenerator without disableNameSuffixHash renames the Secret`);
    }
    loaded.push({
      object: { apiVersion: "v1", kind: "Secret", metadata: { name: generator.name }, data },
      source: `${file} (secretGenerator)`,
    });
  }
  for (const patch of kustomization.patches || []) {
    const operations = YAML.parse(fs.readFileSync(path.join(dir, patch.path), "utf8"));
    if (!Array.isArray(operations)) {
      throw new Error(`${file}: patch ${patch.path} is not a JSON 6902 list of operations`);
    }
    const matches = loaded.filter(
      ({ object }) =>
        object.kind === patch.target.kind && object.metadata.name === patch.target.name);
    if (matches.length === 0) {
      throw new Error(`${file}: patch ${patch.path} matches no ${patch.target.kind}`);
    }
    for (const match of matches) {
      match.object = jsonPatch.applyPatch(match.object, operations, true, false).newDocument;
      match.source += ` + ${path.join(dir, patch.path)}`;
    }
  }
  if (kustomization.namespace) {
    for (const { object } of loaded) {
      if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = kustomization.namespace;
    }
  }
  return loaded;
}

// ---- Schemas ---------------------------------------------------------------------------------

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  const module = group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
  try {
    return require(module)[kind];
  } catch (error) {
    return null;
  }
}

function schemaProblems({ object, source }) {
  if (!object || typeof object !== "object" || !object.apiVersion || !object.kind) {
    return [`${source}: an object without apiVersion and kind`];
  }
  const Model = modelFor(object.apiVersion, object.kind);
  const name = `${object.kind}/${(object.metadata || {}).name}`;
  if (!Model) return [`${source}: ${name}: no such kind in the Kubernetes API (${object.apiVersion})`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [`${source}: ${name}: ${error.message}`];
  }
}

// ---- What the binary offers ------------------------------------------------------------------

// GET routes registered anywhere in src/ (router.get("/path", ...)): where probes may point.
function routesIn(sourceDir) {
  const routes = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".cpp")) {
        const text = fs.readFileSync(full, "utf8");
        for (const match of text.matchAll(/\.get\(\s*"(\/[^"]*)"/g)) routes.add(match[1]);
      }
    }
  };
  walk(sourceDir);
  return routes;
}

// The long flags of `isla SUBCOMMAND --help`.
function flagsOf(isla, subcommand) {
  const help = execFileSync(isla, [subcommand, "--help"], { encoding: "utf8" });
  return new Set([...help.matchAll(/(--[a-z0-9][a-z0-9-]*)/g)].map((match) => match[1]));
}

// ---- Invariants ------------------------------------------------------------------------------

function flagValue(args, flag) {
  const prefix = `${flag}=`;
  const found = args.find((arg) => arg === flag || arg.startsWith(prefix));
  if (found === undefined) return undefined;
  return found === flag ? true : found.slice(prefix.length);
}

function labelsMatch(selector, labels) {
  return Object.entries(selector || {}).every(([key, value]) => (labels || {})[key] === value);
}

function portOf(container, reference) {
  if (typeof reference === "number") return reference;
  const port = (container.ports || []).find((candidate) => candidate.name === reference);
  return port ? port.containerPort : undefined;
}

function splitHostPort(text) {
  const colon = text.lastIndexOf(":");
  return colon < 0 ? [text, undefined] : [text.slice(0, colon), Number(text.slice(colon + 1))];
}

class Checker {
  constructor(objects, options) {
    this.objects = objects.map(({ object }) => object);
    this.options = options;
    this.problems = [];
    this.warnings = [];
  }

  fail(where, message) {
    this.problems.push(`${where}: ${message}`);
  }

  all(kind) {
    return this.objects.filter((object) => object.kind === kind);
  }

  workloads() {
    return [...this.all("Deployment"), ...this.all("StatefulSet")];
  }

  // The gateways' stable names, HOST:PORT each, as the StatefulSet and its Service make them.
  gatewayNames() {
    const gateway = this.all("StatefulSet").find(
      (set) => ((set.spec.template.spec.containers[0] || {}).args || [])[0] === "gateway");
    if (!gateway) return null;
    const args = gateway.spec.template.spec.containers[0].args;
    const [, port] = splitHostPort(String(flagValue(args, "--listen") || ""));
    const namespace = gateway.metadata.namespace || "default";
    const names = [];
    for (let i = 0; i < (gateway.spec.replicas ?? 1); ++i) {
      names.push(`${gateway.metadata.name}-${i}.${gateway.spec.serviceName}.${namespace}.svc.cluster.local:${port}`);
    }
    return { set: gateway, names, port };
  }

  run() {
    for (const workload of this.workloads()) this.checkWorkload(workload);
    this.checkGateways();
    this.checkServices();
    this.checkDisruptionBudgets();
    return this;
  }

  checkWorkload(workload) {
    const where = `${workload.kind}/${workload.metadata.name}`;
    const pod = workload.spec.template;
    if (!labelsMatch(workload.spec.selector.matchLabels, pod.metadata.labels)) {
      this.fail(where, "the selector does not match the pod template's labels");
    }
    const volumes = new Map((pod.spec.volumes || []).map((volume) => [volume.name, volume]));
    for (const claim of workload.spec.volumeClaimTemplates || []) {
      volumes.set(claim.metadata.name, { name: claim.metadata.name, persistentVolumeClaim: {} });
    }
    const containers = [...(pod.spec.initContainers || []), ...pod.spec.containers];
    for (const container of containers) {
      this.checkContainer(`${where} container ${container.name}`, container, volumes);
    }
  }

  checkContainer(where, container, volumes) {
    const resources = container.resources || {};
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (!(resources[kind] || {})[resource]) this.fail(where, `no resources.${kind}.${resource}`);
      }
    }
    const env = container.env || [];
    for (const variable of env) {
      if (/SECRET|TOKEN|PASSWORD|KEY/i.test(variable.name) && variable.value !== undefined) {
        this.fail(where, `env ${variable.name} inlines a secret value: mount the Secret as a file`);
      }
      if ((variable.valueFrom || {}).secretKeyRef) {
        this.fail(where, `env ${variable.name} takes a Secret into the environment: mount it as a file`);
      }
    }
    for (const source of container.envFrom || []) {
      if (source.secretRef) this.fail(where, "envFrom puts a Secret into the environment: mount it as a file");
    }
    const args = container.args || [];
    // $(VAR) in arguments must name a variable the container defines, or Kubernetes leaves it as it is.
    for (const arg of args) {
      for (const match of String(arg).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
        if (!env.some((variable) => variable.name === match[1])) {
          this.fail(where, `argument '${arg}' uses $(${match[1]}), which no env entry defines`);
        }
      }
    }
    const subcommand = args[0];
    if (!["gateway", "pieces", "worker"].includes(subcommand)) return;
    this.checkFlags(where, subcommand, args);
    if (flagValue(args, "--secret") !== undefined) {
      this.fail(where, "--secret inlines the island secret: use --secret-file on a mounted Secret");
    }
    const secretFile = flagValue(args, "--secret-file");
    if (typeof secretFile !== "string") {
      this.fail(where, "no --secret-file: the island would run without its secret");
    } else {
      this.checkSecretMount(where, container, volumes, secretFile);
    }
    const dataDir = flagValue(args, "--data-dir");
    if (typeof dataDir === "string" &&
        !(container.volumeMounts || []).some((mount) => mount.mountPath === dataDir)) {
      this.fail(where, `--data-dir ${dataDir} is not a mounted volume (the root filesystem is read-only)`);
    }
    if (subcommand === "worker") {
      if ((container.ports || []).length > 0) this.fail(where, "a worker has no listener, yet ports are declared");
      return;
    }
    this.checkListener(where, container, args);
  }

  checkFlags(where, subcommand, args) {
    const known = this.options.flags ? this.options.flags(subcommand) : null;
    if (!known) return;
    for (const arg of args.slice(1)) {
      if (!String(arg).startsWith("--")) {
        this.fail(where, `argument '${arg}' is not a --flag=value`);
        continue;
      }
      const flag = String(arg).split("=")[0];
      if (known.has(flag)) continue;
      if ((this.options.pendingFlags || new Set()).has(flag)) {
        this.warnings.push(`${where}: ${flag} is not in this binary yet (being added on another branch)`);
      } else {
        this.fail(where, `isla ${subcommand} has no flag ${flag}`);
      }
    }
  }

  checkSecretMount(where, container, volumes, secretFile) {
    const directory = path.posix.dirname(secretFile);
    const key = path.posix.basename(secretFile);
    const mount = (container.volumeMounts || []).find((candidate) => candidate.mountPath === directory);
    if (!mount) {
      this.fail(where, `--secret-file ${secretFile}: nothing is mounted at ${directory}`);
      return;
    }
    const volume = volumes.get(mount.name);
    if (!volume || !volume.secret) {
      this.fail(where, `--secret-file ${secretFile}: the volume at ${directory} is not a Secret`);
      return;
    }
    if (mount.readOnly !== true) this.fail(where, `the Secret at ${directory} is not mounted readOnly`);
    const secret = this.all("Secret").find((candidate) => candidate.metadata.name === volume.secret.secretName);
    if (!secret) {
      this.fail(where, `Secret ${volume.secret.secretName} is not among the manifests`);
      return;
    }
    const keys = volume.secret.items
      ? volume.secret.items.map((item) => item.path)
      : Object.keys({ ...(secret.data || {}), ...(secret.stringData || {}) });
    if (!keys.includes(key)) this.fail(where, `Secret ${secret.metadata.name} has no file '${key}'`);
    const mode = volume.secret.defaultMode ?? 0o644;
    if ((mode & 0o007) !== 0) this.fail(where, `the Secret's files are readable by others (mode ${mode.toString(8)})`);
  }

  checkListener(where, container, args) {
    const listen = flagValue(args, "--listen");
    if (typeof listen !== "string") {
      this.fail(where, "no --listen: the default is a loopback address, unreachable from other pods");
      return;
    }
    const [, port] = splitHostPort(listen);
    const tcp = (container.ports || []).find((candidate) => candidate.protocol !== "UDP" && candidate.containerPort === port);
    const udp = (container.ports || []).find((candidate) => candidate.protocol === "UDP" && candidate.containerPort === port);
    if (!tcp) this.fail(where, `--listen port ${port} is not a TCP containerPort`);
    if (!udp) this.fail(where, `--listen port ${port} is not a UDP containerPort (membership datagrams use it)`);
    for (const probeName of ["readinessProbe", "livenessProbe"]) {
      const probe = container[probeName];
      if (!probe || !probe.httpGet) {
        this.fail(where, `no HTTP ${probeName}`);
        continue;
      }
      if (!this.options.routes.has(probe.httpGet.path)) {
        this.fail(where, `${probeName} path ${probe.httpGet.path} is not a route of the binary`);
      }
      const probePort = portOf(container, probe.httpGet.port);
      if (probePort !== port) {
        this.fail(where, `${probeName} port ${probe.httpGet.port} is not the --listen port ${port}`);
      }
    }
  }

  checkGateways() {
    const gateways = this.gatewayNames();
    if (!gateways) {
      this.fail("manifests", "no StatefulSet runs `isla gateway`");
      return;
    }
    const { set, names, port } = gateways;
    const where = `StatefulSet/${set.metadata.name}`;
    const pod = set.spec.template;
    const container = pod.spec.containers[0];
    const args = container.args;
    const service = this.all("Service").find((candidate) => candidate.metadata.name === set.spec.serviceName);
    if (!service) {
      this.fail(where, `serviceName ${set.spec.serviceName} is not a Service of the manifests`);
    } else {
      if (service.spec.clusterIP !== "None") this.fail(where, `Service ${service.metadata.name} is not headless`);
      if (service.spec.publishNotReadyAddresses !== true) {
        this.fail(where, `Service ${service.metadata.name} must publishNotReadyAddresses: voters find each other before they are ready`);
      }
    }
    const podName = (container.env || []).find((variable) => variable.name === "POD_NAME");
    if (!podName || ((podName.valueFrom || {}).fieldRef || {}).fieldPath !== "metadata.name") {
      this.fail(where, "POD_NAME must come from the pod's metadata.name");
    }
    const namespace = set.metadata.namespace || "default";
    const expectedListen = `$(POD_NAME).${set.spec.serviceName}.${namespace}.svc.cluster.local:${port}`;
    if (flagValue(args, "--listen") !== expectedListen) {
      this.fail(where, `--listen must be the stable name ${expectedListen}`);
    }
    const voters = String(flagValue(args, "--store-voters") || "").split(",");
    if (voters.join(",") !== names.join(",")) {
      this.fail(where, `--store-voters must name the StatefulSet's stable names ${names.join(",")}, got ${voters.join(",")}`);
    }
    if (![1, 3, 5, 7].includes(names.length)) this.fail(where, `replicas ${names.length}: the store needs 1, 3, 5 or 7 voters`);
    const dataDir = flagValue(args, "--data-dir");
    const claims = (set.spec.volumeClaimTemplates || []).map((claim) => claim.metadata.name);
    const dataMount = (container.volumeMounts || []).find((mount) => mount.mountPath === dataDir);
    if (!dataMount || !claims.includes(dataMount.name)) {
      this.fail(where, "--data-dir must be a volume of its own per replica (volumeClaimTemplates)");
    }
    for (const workload of this.all("Deployment")) {
      const other = workload.spec.template.spec.containers[0];
      const otherArgs = other.args || [];
      if (!["pieces", "worker"].includes(otherArgs[0])) continue;
      const listed = String(flagValue(otherArgs, "--gateway") || "");
      if (listed !== names.join(",")) {
        this.fail(`Deployment/${workload.metadata.name}`, `--gateway must name the gateways' stable names ${names.join(",")}`);
      }
    }
    for (const [flag, scheme] of [["--store", "etcd://"], ["--queue", "nats://"]]) {
      const value = flagValue(args, flag);
      if (value === undefined) continue;
      if (typeof value !== "string" || !value.startsWith(scheme) ||
          !value.slice(scheme.length).split(",").every((endpoint) => /^[A-Za-z0-9.-]+:\d+$/.test(endpoint))) {
        this.fail(where, `${flag} must be ${scheme}HOST:PORT[,HOST:PORT...], got ${value}`);
      }
    }
    for (const flag of this.options.requiredGatewayFlags || []) {
      if (flagValue(args, flag) === undefined) this.fail(where, `this variant must give the gateways ${flag}`);
    }
    if (flagValue(args, "--launcher") === "k8s") this.checkLauncher(where, set, args);
  }

  checkLauncher(where, set, args) {
    const deploymentName = flagValue(args, "--k8s-deployment") || "isla-worker";
    const workers = this.all("Deployment").find((candidate) => candidate.metadata.name === deploymentName);
    if (!workers || (workers.spec.template.spec.containers[0].args || [])[0] !== "worker") {
      this.fail(where, `--k8s-deployment ${deploymentName} is not a Deployment of workers`);
      return;
    }
    if (workers.spec.replicas !== undefined) {
      this.fail(`Deployment/${deploymentName}`, "replicas is set: applying the manifests again would undo the autoscaler's scale");
    }
    const slots = Number(flagValue(args, "--worker-concurrency") || 4);
    const concurrency = Number(flagValue(workers.spec.template.spec.containers[0].args, "--concurrency") || 4);
    if (slots !== concurrency) {
      this.fail(where, `--worker-concurrency ${slots} differs from the workers' --concurrency ${concurrency}: the autoscaler would count slots wrong`);
    }
    const account = set.spec.template.spec.serviceAccountName;
    const bindings = this.all("RoleBinding").filter((binding) =>
      (binding.subjects || []).some((subject) => subject.kind === "ServiceAccount" && subject.name === account));
    const roles = bindings.map((binding) => this.all("Role").find((role) => role.metadata.name === binding.roleRef.name)).filter(Boolean);
    const may = (resource, verb) => roles.some((role) => role.rules.some((rule) =>
      (rule.resources || []).includes(resource) && (rule.verbs || []).includes(verb) &&
      (!rule.resourceNames || resource !== "deployments/scale" || rule.resourceNames.includes(deploymentName))));
    for (const [resource, verb] of [["deployments/scale", "get"], ["deployments/scale", "update"], ["pods", "list"], ["pods", "patch"]]) {
      if (!may(resource, verb)) this.fail(where, `service account ${account} may not ${verb} ${resource} (the k8s launcher needs it)`);
    }
  }

  podLabels() {
    return this.workloads().map((workload) => ({ workload, labels: workload.spec.template.metadata.labels }));
  }

  checkServices() {
    for (const service of this.all("Service")) {
      const where = `Service/${service.metadata.name}`;
      const matched = this.podLabels().filter(({ labels }) => labelsMatch(service.spec.selector, labels));
      if (matched.length === 0) {
        this.fail(where, "its selector matches no workload");
        continue;
      }
      for (const port of service.spec.ports || []) {
        for (const { workload } of matched) {
          const container = workload.spec.template.spec.containers[0];
          const target = port.targetPort ?? port.port;
          const found = (container.ports || []).some((candidate) =>
            (candidate.name === target || candidate.containerPort === target) &&
            (candidate.protocol || "TCP") === (port.protocol || "TCP"));
          if (!found) this.fail(where, `port ${port.name} targets ${target}/${port.protocol || "TCP"}, not a port of ${workload.metadata.name}`);
        }
      }
    }
  }

  checkDisruptionBudgets() {
    for (const budget of this.all("PodDisruptionBudget")) {
      const matched = this.podLabels().some(({ labels }) => labelsMatch(budget.spec.selector.matchLabels, labels));
      if (!matched) this.fail(`PodDisruptionBudget/${budget.metadata.name}`, "its selector matches no workload");
    }
    for (const workload of this.workloads()) {
      const args = workload.spec.template.spec.containers[0].args || [];
      if (!["gateway", "pieces"].includes(args[0])) continue;
      const covered = this.all("PodDisruptionBudget").some((budget) =>
        labelsMatch(budget.spec.selector.matchLabels, workload.spec.template.metadata.labels));
      if (!covered) this.fail(`${workload.kind}/${workload.metadata.name}`, "no PodDisruptionBudget covers it");
    }
  }
}

// Every problem of one variant (schema and invariants); warnings are reported, not failed.
function checkVariant(objects, options) {
  const problems = objects.flatMap(schemaProblems);
  if (problems.length > 0) return { problems, warnings: [] };
  const checker = new Checker(objects, options).run();
  return { problems: checker.problems, warnings: checker.warnings };
}

function binaryOptions(isla, sourceDir, pendingFlags) {
  const cache = new Map();
  return {
    routes: routesIn(sourceDir),
    flags: (subcommand) => {
      if (!cache.has(subcommand)) cache.set(subcommand, flagsOf(isla, subcommand));
      return cache.get(subcommand);
    },
    pendingFlags: new Set(pendingFlags),
  };
}

module.exports = { loadKustomization, checkVariant, binaryOptions };
