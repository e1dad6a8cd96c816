// Group-resource normalisation and the label <-> resource mapping.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileResourceTemplate, guessPlural, normalizeGroupResource, ResourceLabels, ResourceTemplateError, StaticResourceCatalog } from '../../rules/resources.js';

const catalog = new StaticResourceCatalog();
const gr = (group: string, resource: string) => ({ group, resource });

describe('normalizeGroupResource', () => {
  const cases: { input: [string | undefined, string]; want: { group: string; resource: string } }[] = [
    { input: [undefined, 'pod'], want: gr('', 'pods') },
    { input: [undefined, 'pods'], want: gr('', 'pods') },
    { input: [undefined, 'Pod'], want: gr('', 'pods') },
    { input: ['', 'namespace'], want: gr('', 'namespaces') },
    { input: [undefined, 'deployment'], want: gr('apps', 'deployments') },
    { input: ['apps', 'Deployment'], want: gr('apps', 'deployments') },
    { input: [undefined, 'ingress'], want: gr('networking.k8s.io', 'ingresses') },
    { input: ['networking.k8s.io', 'ingress'], want: gr('networking.k8s.io', 'ingresses') },
    { input: [undefined, 'service'], want: gr('', 'services') },
    { input: [undefined, 'endpoints'], want: gr('', 'endpoints') },
    { input: ['cheese.io', 'brand'], want: gr('cheese.io', 'brands') },
    { input: ['example.com', 'policy'], want: gr('example.com', 'policies') },
    { input: ['example.com', 'widgets'], want: gr('example.com', 'widgets') },
  ];
  for (const c of cases) {
    test(`${c.input[0] ?? '(no group)'}/${c.input[1]} normalises to ${c.want.resource}${c.want.group ? `.${c.want.group}` : ''}`, () => {
      assert.deepEqual(normalizeGroupResource(catalog, c.input[0], c.input[1]).groupResource, c.want);
    });
  }

  test('the core group wins over other groups with the same resource name', () => {
    const both = new StaticResourceCatalog([
      { group: 'metrics.example.com', resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, version: 'v1' },
      { group: '', resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, version: 'v1' },
    ]);
    assert.deepEqual(normalizeGroupResource(both, undefined, 'pod').groupResource, gr('', 'pods'));
  });
});

describe('guessPlural', () => {
  for (const [singular, plural] of [
    ['widget', 'widgets'],
    ['class', 'classes'],
    ['policy', 'policies'],
  ] as const) {
    test(`${singular} becomes ${plural}`, () => assert.equal(guessPlural(singular), plural));
  }
});

describe('resource templates', () => {
  test('a template is inverted to read the resource back from a label', () => {
    const labels = new ResourceLabels([], compileResourceTemplate('<<.Resource>>'), catalog);
    assert.deepEqual(labels.resourceFor('pod'), gr('', 'pods'));
    assert.deepEqual(labels.resourceFor('namespace'), gr('', 'namespaces'));
  });

  test('labels that name no known resource are not resources', () => {
    const labels = new ResourceLabels([], compileResourceTemplate('<<.Resource>>'), catalog);
    assert.equal(labels.resourceFor('instance'), undefined);
    assert.equal(labels.resourceFor('le'), undefined);
  });

  test('a template without a group finds the resource in any group', () => {
    const labels = new ResourceLabels([], compileResourceTemplate('<<.Resource>>'), catalog);
    assert.deepEqual(labels.resourceFor('deployment'), gr('apps', 'deployments'));
  });

  test('a template with prefix and group reads both back', () => {
    const labels = new ResourceLabels([], compileResourceTemplate('kube_<<.Group>>_<<.Resource>>'), catalog);
    assert.deepEqual(labels.resourceFor('kube_apps_deployment'), gr('apps', 'deployments'));
    assert.deepEqual(labels.resourceFor('kube_networking_k8s_io_ingress'), gr('networking.k8s.io', 'ingresses'));
  });

  test('the label for a resource uses the singular and a sanitised group', () => {
    const labels = new ResourceLabels([], compileResourceTemplate('kube_<<.Group>>_<<.Resource>>'), catalog);
    assert.equal(labels.labelFor(gr('networking.k8s.io', 'ingresses')), 'kube_networking_k8s_io_ingress');
    assert.equal(labels.labelFor(gr('apps', 'deployments')), 'kube_apps_deployment');
  });

  test('a template without .Resource is rejected', () => {
    assert.throws(() => compileResourceTemplate('kube_<<.Group>>'), ResourceTemplateError);
  });

  test('overrides take precedence over the template', () => {
    const labels = new ResourceLabels([{ label: 'pod_name', groupResource: gr('', 'pods') }], compileResourceTemplate('<<.Resource>>'), catalog);
    assert.equal(labels.labelFor(gr('', 'pods')), 'pod_name');
    assert.deepEqual(labels.resourceFor('pod_name'), gr('', 'pods'));
    assert.equal(labels.labelFor(gr('', 'namespaces')), 'namespace');
  });

  test('without a template only overrides map labels', () => {
    const labels = new ResourceLabels([{ label: 'exported_namespace', groupResource: gr('', 'namespaces') }], undefined, catalog);
    assert.equal(labels.labelFor(gr('', 'pods')), undefined);
    assert.equal(labels.mapsNamespace, true);
  });
});
