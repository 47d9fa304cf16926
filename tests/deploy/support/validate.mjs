// Schema validation of Kubernetes and OpenShift objects with real API schemas:
//  - Kubernetes kinds (and the Prometheus Operator's ServiceMonitor): the kubernetes-models
//    packages, whose validators are generated from the Kubernetes OpenAPI spec;
//  - OpenShift kinds (route.openshift.io, image.openshift.io, build.openshift.io): the
//    OpenShift OpenAPI spec shipped in the openshift-rest-client package, compiled with ajv.
//    That spec dates from OpenShift 3.11; three of its quirks are corrected where current
//    OpenShift differs (see openshiftSchema). Unlike kubernetes-models it is applied strictly:
//    an unknown field in an OpenShift object is an error, as with kubectl's strict validation.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import Ajv from 'ajv';

const require = createRequire(import.meta.url);

const K8S_MODULES = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};
const OPENSHIFT_GROUPS = new Set(['route.openshift.io/v1', 'image.openshift.io/v1', 'build.openshift.io/v1']);

let osCache = null;
function openshiftSpec() {
  if (!osCache) {
    const pkgDir = require.resolve('openshift-rest-client/package.json').replace(/package\.json$/, '');
    const gz = fs.readFileSync(`${pkgDir}lib/specs/openshift-openapi-spec.json.gz`);
    osCache = { spec: JSON.parse(zlib.gunzipSync(gz).toString('utf8')), validators: new Map() };
  }
  return osCache;
}

function openshiftSchema(defs, rootName) {
  const d = structuredClone(defs);
  // 1. IntOrString is "type: string, format: int-or-string" in the spec; the API accepts both.
  d['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { anyOf: [{ type: 'integer' }, { type: 'string' }] };
  // 2. status is written by the server, never by a client.
  for (const def of Object.values(d)) {
    if (Array.isArray(def.required)) def.required = def.required.filter((r) => r !== 'status');
  }
  // 3. Route.spec.host is optional (the router generates <name>-<namespace>.<apps domain>).
  const rs = d['com.github.openshift.api.route.v1.RouteSpec'];
  rs.required = rs.required.filter((r) => r !== 'host');
  // Strict: unknown fields are errors.
  for (const def of Object.values(d)) {
    if (def.type === 'object' || def.properties) {
      if (def.properties && def.additionalProperties === undefined) def.additionalProperties = false;
    }
  }
  return { definitions: d, $ref: `#/definitions/${rootName}` };
}

function validateOpenShift(obj) {
  const os = openshiftSpec();
  const [group, version] = obj.apiVersion.split('/');
  const key = `${group}/${version}/${obj.kind}`;
  let v = os.validators.get(key);
  if (!v) {
    const name = Object.entries(os.spec.definitions).find(([, def]) =>
      (def['x-kubernetes-group-version-kind'] || []).some((g) => g.group === group && g.version === version && g.kind === obj.kind))?.[0];
    if (!name) throw new Error(`${obj.apiVersion} ${obj.kind}: not in the OpenShift API spec`);
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    v = ajv.compile(openshiftSchema(os.spec.definitions, name));
    os.validators.set(key, v);
  }
  if (!v(obj)) {
    throw new Error(v.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`).join('; '));
  }
}

// Throws an Error naming the object and every schema violation; returns the source of the
// schema used on success.
export async function validateObject(obj) {
  const id = `${obj?.apiVersion} ${obj?.kind} ${obj?.metadata?.name}`;
  if (!obj || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') throw new Error(`not a Kubernetes object: ${JSON.stringify(obj).slice(0, 100)}`);
  try {
    if (OPENSHIFT_GROUPS.has(obj.apiVersion)) { validateOpenShift(obj); return 'openshift-openapi'; }
    const modName = K8S_MODULES[obj.apiVersion];
    if (!modName) throw new Error(`no schema known for apiVersion ${obj.apiVersion}`);
    const mod = await import(modName);
    const Cls = mod[obj.kind];
    if (!Cls) throw new Error(`unknown kind ${obj.kind} in ${obj.apiVersion}`);
    new Cls(obj).validate();
    return 'kubernetes-models';
  } catch (e) {
    throw new Error(`${id}: ${e.message}`);
  }
}
