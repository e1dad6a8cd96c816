// Helpers for checking the manifests under deploy/ without a cluster, a
// kustomize binary or helm: a small kustomize builder, a Kubernetes schema
// check that also rejects unknown fields, and a stand-in for kubectl that
// bootstrap-tls.sh can drive.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { APIService } from 'kubernetes-models/apiregistration.k8s.io/v1/APIService';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** The repository root; compiled tests run from dist/test/support. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY = join(REPO, 'deploy');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = Record<string, Json>;

export interface KubeObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string };
}

/** An object and the file it came from, for messages. */
export interface Sourced {
  readonly object: KubeObject;
  readonly file: string;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `group` of an apiVersion: "" for the core group. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

export function idOf(o: KubeObject): string {
  return `${o.apiVersion} ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/** Parses a multi-document YAML text; every document must be a Kubernetes object. */
export function parseManifests(text: string, file: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (!isObject(value) || typeof value['apiVersion'] !== 'string' || typeof value['kind'] !== 'string') {
      throw new Error(`${file}: a document without apiVersion and kind`);
    }
    const metadata = value['metadata'];
    if (!isObject(metadata) || typeof metadata['name'] !== 'string' || metadata['name'] === '') {
      throw new Error(`${file}: ${value['kind']} without metadata.name`);
    }
    out.push(value as KubeObject);
  }
  return out;
}

export function readManifests(file: string): Sourced[] {
  return parseManifests(readFileSync(file, 'utf8'), relative(REPO, file)).map((object) => ({ object, file: relative(REPO, file) }));
}

/** Every file under `dir` (recursively) whose name ends with one of `extensions`. */
export function listFiles(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full, extensions));
    else if (extensions.some((e) => name.endsWith(e))) out.push(full);
  }
  return out;
}

// ---------------------------------------------------------------------------
// A kustomize subset: `resources` (files and directories), `components`
// (directories whose kustomization is a Component) and `patches` that are
// strategic-merge patches of maps, with or without a `target`. Anything else
// is an error rather than being skipped, so a build here never silently
// differs from `kubectl apply -k`.

interface PatchTarget {
  readonly group?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches']);

function readKustomization(dir: string, kind: 'Kustomization' | 'Component'): JsonObject {
  const file = join(dir, 'kustomization.yaml');
  const k = parseAllDocuments(readFileSync(file, 'utf8'))[0]?.toJS() as unknown;
  if (!isObject(k)) throw new Error(`${file}: not a mapping`);
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) throw new Error(`${file}: field ${key} is not supported by this builder`);
  }
  const want = kind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  if ((k['kind'] ?? 'Kustomization') !== kind || (k['apiVersion'] ?? want) !== want) {
    throw new Error(`${file}: expected ${want} ${kind}, found ${JSON.stringify(k['apiVersion'])} ${JSON.stringify(k['kind'])}`);
  }
  if (kind === 'Component' && k['components'] !== undefined) throw new Error(`${file}: nested components are not supported by this builder`);
  return k;
}

export function buildKustomization(dir: string): Sourced[] {
  const k = readKustomization(dir, 'Kustomization');
  const objects = addResources([], dir, k);
  // Kustomize applies components after the resources and before the
  // kustomization's own patches; a component's patches see everything so far.
  for (const c of (k['components'] as Json[] | undefined) ?? []) {
    if (typeof c !== 'string') throw new Error(`${join(dir, 'kustomization.yaml')}: a component entry is not a string`);
    const componentDir = join(dir, c);
    const component = readKustomization(componentDir, 'Component');
    addResources(objects, componentDir, component);
    applyPatches(objects, componentDir, component);
  }
  applyPatches(objects, dir, k);
  return objects;
}

function addResources(objects: Sourced[], dir: string, k: JsonObject): Sourced[] {
  const file = join(dir, 'kustomization.yaml');
  for (const r of (k['resources'] as Json[] | undefined) ?? []) {
    if (typeof r !== 'string') throw new Error(`${file}: a resource entry is not a string`);
    const path = join(dir, r);
    objects.push(...(statSync(path).isDirectory() ? buildKustomization(path) : readManifests(path)));
  }
  const seen = new Set<string>();
  for (const { object } of objects) {
    const id = idOf(object);
    if (seen.has(id)) throw new Error(`${file}: ${id} appears twice`);
    seen.add(id);
  }
  return objects;
}

function applyPatches(objects: readonly Sourced[], dir: string, k: JsonObject): void {
  const file = join(dir, 'kustomization.yaml');
  for (const p of (k['patches'] as Json[] | undefined) ?? []) {
    if (!isObject(p)) throw new Error(`${file}: a patch entry is not a mapping`);
    const text = typeof p['path'] === 'string' ? readFileSync(join(dir, p['path']), 'utf8') : typeof p['patch'] === 'string' ? p['patch'] : undefined;
    if (text === undefined) throw new Error(`${file}: a patch needs path or patch`);
    const patches = parseManifests(text, `${file} patch`);
    if (patches.length !== 1) throw new Error(`${file}: a patch must hold exactly one document`);
    const patch = patches[0] as KubeObject;
    const target: PatchTarget = isObject(p['target'])
      ? (p['target'] as PatchTarget)
      : { group: groupOf(patch.apiVersion), kind: patch.kind, name: patch.metadata.name, ...(patch.metadata.namespace ? { namespace: patch.metadata.namespace } : {}) };
    const matched = objects.filter(({ object }) => matchesTarget(object, target));
    if (matched.length === 0) throw new Error(`${file}: a patch matches no object (${JSON.stringify(target)})`);
    // With a target, kustomize applies the patch under each target's own name.
    const { name: _name, namespace: _namespace, ...metadata } = patch.metadata;
    const body: JsonObject = { ...patch, metadata };
    for (const m of matched) mergePatch(m.object, body, idOf(m.object));
  }
}

function matchesTarget(o: KubeObject, t: PatchTarget): boolean {
  if (t.group !== undefined && groupOf(o.apiVersion) !== t.group) return false;
  if (t.version !== undefined && o.apiVersion.split('/').pop() !== t.version) return false;
  if (t.kind !== undefined && o.kind !== t.kind) return false;
  if (t.name !== undefined && o.metadata.name !== t.name) return false;
  if (t.namespace !== undefined && (o.metadata.namespace ?? '') !== t.namespace) return false;
  return true;
}

/** Strategic merge for maps only: lists would need each type's merge keys, so they are refused. */
function mergePatch(into: JsonObject, patch: JsonObject, where: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete into[key];
    else if (Array.isArray(value)) throw new Error(`${where}: patching the list ${key} is not supported by this builder`);
    else if (isObject(value)) {
      const current = into[key];
      if (!isObject(current)) into[key] = {};
      mergePatch(into[key] as JsonObject, value, where);
    } else into[key] = value;
  }
}

// ---------------------------------------------------------------------------
// Schema validation. kubernetes-models' validators (generated from the
// Kubernetes OpenAPI document) check required fields, types and formats but
// accept unknown fields. The attribute maps of @kubernetes/client-node's
// models, generated from the same document, close that gap: any field they do
// not list is reported, the way `kubectl apply --validate=strict` would.

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: JsonObject) => Validatable;

const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/ServiceAccount': ServiceAccount as unknown as ModelClass,
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Pod': Pod as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as ModelClass,
  'apiregistration.k8s.io/v1/APIService': APIService as unknown as ModelClass,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration as unknown as ModelClass,
};

export function hasCoreSchema(o: KubeObject): boolean {
  return `${o.apiVersion}/${o.kind}` in MODELS;
}

interface AttributeType {
  readonly baseName: string;
  readonly type: string;
}
interface ClientModel {
  getAttributeTypeMap(): readonly AttributeType[];
}

const clientModels = k8s as unknown as Readonly<Record<string, unknown>>;
// Types whose contents the OpenAPI document leaves open, or that are strings on the wire.
const OPEN_TYPES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString', 'V1MicroTime']);

function clientModel(type: string): ClientModel {
  const m = clientModels[type] as Partial<ClientModel> | undefined;
  if (!m || typeof m.getAttributeTypeMap !== 'function') throw new Error(`no @kubernetes/client-node model ${type}`);
  return m as ClientModel;
}

function collectUnknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || OPEN_TYPES.has(type)) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => collectUnknownFields(v, array[1] as string, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (isObject(value)) for (const [k, v] of Object.entries(value)) collectUnknownFields(v, map[1] as string, `${path}[${JSON.stringify(k)}]`, out);
    return;
  }
  if (!isObject(value)) return; // a type mismatch; the schema validator reports it
  const attributes = new Map(
    clientModel(type)
      .getAttributeTypeMap()
      .map((a) => [a.baseName, a.type]),
  );
  for (const [k, v] of Object.entries(value)) {
    const fieldType = attributes.get(k);
    if (fieldType === undefined) out.push(`${path ? `${path}.` : ''}${k}: unknown field`);
    else collectUnknownFields(v, fieldType, path ? `${path}.${k}` : k, out);
  }
}

/** Schema problems of a built-in object; empty when it is valid. Throws for a kind this module has no schema for. */
export function schemaProblems(o: KubeObject): string[] {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`no schema registered for ${o.apiVersion} ${o.kind}`);
  const problems: string[] = [];
  try {
    new Model(o).validate();
  } catch (e) {
    problems.push((e as Error).message);
  }
  const version = o.apiVersion.split('/').pop() as string;
  collectUnknownFields(o, `${version.charAt(0).toUpperCase()}${version.slice(1)}${o.kind}`, '', problems);
  return problems;
}

// ---------------------------------------------------------------------------
// Lookups on a built object list.

export function find(objects: readonly Sourced[], kind: string, name?: string): KubeObject[] {
  return objects.map((s) => s.object).filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function one(objects: readonly Sourced[], kind: string, name?: string): KubeObject {
  const found = find(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as KubeObject;
}

/** The value at a dotted path, or undefined. */
export function at(o: unknown, path: string): Json | undefined {
  let cur: unknown = o;
  for (const p of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(p)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = cur[p];
    else return undefined;
  }
  return cur as Json | undefined;
}

// ---------------------------------------------------------------------------
// Helm templates: which `.Values` paths they read.

/** Dotted paths after `.Values` (or `$.Values`) in a template, e.g. `image.tag`. */
export function valuesReferences(template: string): string[] {
  return [...template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => (m[1] as string).slice(1));
}

export function hasValuesPath(values: unknown, path: string): boolean {
  let cur: unknown = values;
  for (const p of path.split('.')) {
    if (!isObject(cur) || !(p in cur)) return false;
    cur = cur[p];
  }
  return true;
}

// ---------------------------------------------------------------------------
// A stand-in for kubectl, for running deploy/scripts/bootstrap-tls.sh. It
// answers the calls that script makes from a JSON state file
// ($FAKE_KUBECTL_STATE) and logs every call there, so a test can set up the
// cluster's objects and then inspect what the script did.

export interface FakeCluster {
  /** `apiservice/NAME`, `mutatingwebhookconfiguration/NAME`, `secret/NS/NAME`, `deployment/NS/NAME` */
  objects: Record<string, JsonObject>;
  calls: string[][];
}

export const FAKE_KUBECTL = String.raw`#!/usr/bin/env node
'use strict';
const fs = require('fs');
const statePath = process.env.FAKE_KUBECTL_STATE;
// The script pipes one kubectl into another, so two of these run at once:
// each holds a lock for its whole run, as if the API server served them in
// turn. A reader of stdin reads it first, so the writer it waits for can run.
const stdin = process.argv.includes('-f') && process.argv.includes('-') ? fs.readFileSync(0, 'utf8') : undefined;
const lock = statePath + '.lock';
for (;;) {
  try { fs.mkdirSync(lock); break; } catch (e) { if (e.code !== 'EEXIST') throw e; }
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
}
process.on('exit', () => fs.rmSync(lock, { recursive: true, force: true }));
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const argv = process.argv.slice(2);
state.calls.push(argv);
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 2));
const fail = (msg) => { save(); process.stderr.write(msg + '\n'); process.exit(1); };
let ns = 'default';
const rest = [];
const flags = {};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-n' || a === '--namespace') { ns = argv[++i]; continue; }
  if (a === '-o' || a === '-p' || a === '-f') { flags[a] = argv[++i]; continue; }
  if (a.startsWith('--')) { const eq = a.indexOf('='); const k = eq === -1 ? a : a.slice(0, eq); (flags[k] = flags[k] || []).push(eq === -1 ? true : a.slice(eq + 1)); continue; }
  rest.push(a);
}
const NAMESPACED = new Set(['secret', 'deployment']);
const key = (type, name) => NAMESPACED.has(type) ? type + '/' + ns + '/' + name : type + '/' + name;
const [verb, type, name] = rest;
const obj = type && name ? state.objects[key(type, name)] : undefined;
function merge(into, patch) {
  for (const [k, v] of Object.entries(patch)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) { into[k] = into[k] && typeof into[k] === 'object' ? into[k] : {}; merge(into[k], v); }
    else into[k] = v;
  }
}
if (verb === 'get') {
  if (!obj) fail('Error from server (NotFound): ' + type + ' "' + name + '" not found');
  const o = flags['-o'];
  if (o === 'name') process.stdout.write(type + '/' + name + '\n');
  else if (o === 'jsonpath={range .webhooks[*]}x{end}') process.stdout.write('x'.repeat((obj.webhooks || []).length));
  else if (o === 'jsonpath={.spec.service.namespace}/{.spec.service.name}') process.stdout.write(((obj.spec || {}).service || {}).namespace + '/' + ((obj.spec || {}).service || {}).name);
  else if (o && o.startsWith('jsonpath={.data.')) {
    const k = o.slice('jsonpath={.data.'.length, -1).replace(/\\\./g, '.');
    process.stdout.write((obj.data || {})[k] || '');
  } else fail('fake kubectl: unsupported output ' + o);
} else if (verb === 'patch') {
  if (!obj) fail('Error from server (NotFound): ' + type + ' "' + name + '" not found');
  const body = JSON.parse(flags['-p']);
  const kind = (flags['--type'] || [])[0];
  if (kind === 'merge') merge(obj, body);
  else if (kind === 'json') {
    for (const op of body) {
      if (op.op !== 'add' && op.op !== 'replace') fail('fake kubectl: unsupported op ' + op.op);
      const parts = op.path.split('/').slice(1);
      let cur = obj;
      for (const p of parts.slice(0, -1)) { if (cur[p] === undefined) fail('fake kubectl: no parent for ' + op.path); cur = cur[p]; }
      cur[parts[parts.length - 1]] = op.value;
    }
  } else fail('fake kubectl: unsupported patch type ' + kind);
} else if (verb === 'create' && type === 'secret' && rest[2] === 'generic') {
  const secretName = rest[3];
  if (!(flags['--dry-run'] || []).includes('client')) fail('fake kubectl: only --dry-run=client is supported');
  const data = {};
  for (const f of flags['--from-file'] || []) {
    const eq = f.indexOf('=');
    data[f.slice(0, eq)] = fs.readFileSync(f.slice(eq + 1)).toString('base64');
  }
  // JSON is YAML, so this stands in for -o yaml.
  process.stdout.write(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: ns }, type: (flags['--type'] || [])[0], data }));
} else if (verb === 'apply') {
  if (flags['-f'] !== '-') fail('fake kubectl: apply reads only stdin');
  const o = JSON.parse(stdin);
  state.objects[o.kind.toLowerCase() + '/' + (o.metadata.namespace || ns) + '/' + o.metadata.name] = o;
} else if (verb === 'rollout' && type === 'restart') {
  if (!state.objects['deployment/' + ns + '/' + rest[3]]) fail('deployment not found');
} else fail('fake kubectl: unsupported command ' + argv.join(' '));
save();
`;

/** Where a test keeps the fake's files. */
export function fakeKubectlPaths(dir: string): { readonly kubectl: string; readonly state: string } {
  return { kubectl: join(dir, 'kubectl'), state: join(dir, 'state.json') };
}
