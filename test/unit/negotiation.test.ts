// Content negotiation against the Accept headers real clients send: client-go
// discovery (kubectl 1.27-1.33), kube-aggregator, the HPA, kubectl get, and
// the OpenAPI downloaders; decided as k8s.io/apiserver and kube-openapi decide.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotAcceptableError } from '../../adapter/errors.js';
import { aggregatedDiscoveryContentType, negotiateOpenApiJson, negotiatePlainJson, negotiateRootDiscovery, parseAccept } from '../../adapter/negotiation.js';

const V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** The outcome as one string, so a table row reads as the answer. */
function outcome(run: () => unknown): string {
  try {
    const r = run();
    if (r === undefined) return 'json';
    const f = r as { kind: string; version?: string };
    return f.kind === 'aggregated' ? `aggregated ${f.version}` : f.kind;
  } catch (e) {
    if (e instanceof NotAcceptableError) return '406';
    throw e;
  }
}

describe('parseAccept', () => {
  test('clauses keep their parameters and are ordered by q, then concrete before wildcard, then as written', () => {
    assert.deepEqual(parseAccept('*/*;q=0.8, application/*, text/plain;q=0.9, application/json;as=Table;g=meta.k8s.io;v=v1'), [
      { type: 'application', subType: 'json', q: 1, params: { as: 'Table', g: 'meta.k8s.io', v: 'v1' } },
      { type: 'application', subType: '*', q: 1, params: {} },
      { type: 'text', subType: 'plain', q: 0.9, params: {} },
      { type: '*', subType: '*', q: 0.8, params: {} },
    ]);
  });

  const malformed: [string, string][] = [
    ['a bare word', 'json'],
    ['three slashes', 'application/json/x'],
    ['an empty subtype', 'application/'],
    ['an empty clause', ''],
  ];
  for (const [what, header] of malformed) {
    test(`a clause with ${what} is skipped`, () => {
      assert.deepEqual(
        parseAccept(`${header}, text/plain`).map((c) => `${c.type}/${c.subType}`),
        ['text/plain'],
      );
    });
  }

  test('a lone * means any type, and an unparsable q counts as 0', () => {
    assert.deepEqual(
      parseAccept('text/html;q=high, *').map((c) => [`${c.type}/${c.subType}`, c.q]),
      [
        ['*/*', 1],
        ['text/html', 0],
      ],
    );
  });

  test('types, subtypes and parameter names are compared case-insensitively; quoted values are unquoted', () => {
    assert.deepEqual(parseAccept('Application/JSON;AS="Table"'), [{ type: 'application', subType: 'json', q: 1, params: { as: 'Table' } }]);
  });

  test('a header of thousands of clauses is parsed in one pass', () => {
    const header = Array.from({ length: 5000 }, (_, i) => `text/x-${i};q=0.${i % 10}`).join(',');
    assert.equal(parseAccept(header).length, 5000);
  });
});

describe('GET /apis', () => {
  const cases: [string, string | undefined, string][] = [
    ['kubectl 1.30-1.33 and kube-aggregator 1.30+', `${V2},${V2BETA1},application/json`, 'aggregated v2'],
    ['kube-aggregator 1.30+', `${V2},${V2BETA1}`, 'aggregated v2'],
    ['kubectl 1.27-1.29', `${V2BETA1},application/json`, 'aggregated v2beta1'],
    ['kube-aggregator 1.27.0-1.27.5 and 1.28.0-1.28.1', V2BETA1, 'aggregated v2beta1'],
    ['a client that lists plain JSON first', `application/json,${V2}`, 'aggregated v2'],
    ['a client that prefers v2beta1 by q', `${V2};q=0.5,${V2BETA1}`, 'aggregated v2beta1'],
    ['the peer-discovery profile parameter', `${V2};profile=nopeer`, 'aggregated v2'],
    ['aggregated discovery under */*', '*/*;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'aggregated v2'],
    ['a version of apidiscovery that does not exist', 'application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList', '406'],
    ['aggregated discovery in protobuf only', 'application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', '406'],
    ['aggregated discovery in protobuf, or JSON', 'application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json', 'legacy'],
    ['kubectl with UseLegacyDiscovery', 'application/json', 'legacy'],
    ['no Accept header', undefined, 'legacy'],
    ['an empty Accept header', '', 'legacy'],
    ['curl', '*/*', 'legacy'],
    ['application/*', 'application/*', 'legacy'],
    ['the HPA controller', `${PROTOBUF}, */*`, 'legacy'],
    ['JSON with a charset', 'application/json; charset=utf-8', 'legacy'],
    ['JSON as a watch stream', 'application/json;stream=watch', 'legacy'],
    ['protobuf only', PROTOBUF, '406'],
    ['YAML only', 'application/yaml', '406'],
    ['a Table only', TABLE, '406'],
    ['an APIGroupList conversion', 'application/json;as=APIGroupList;g=;v=v1', '406'],
    ['a stream other than watch', 'application/json;stream=other', '406'],
    ['a server version', 'application/json;sv=v1', '406'],
    ['text/html', 'text/html', '406'],
  ];
  for (const [who, accept, want] of cases) {
    test(`${who} (${JSON.stringify(accept)}) gets ${want}`, () => {
      assert.equal(
        outcome(() => negotiateRootDiscovery(accept)),
        want,
      );
    });
  }

  test('the 406 names every media type served', () => {
    assert.throws(() => negotiateRootDiscovery(PROTOBUF), {
      name: 'NotAcceptableError',
      message: `only the following media types are accepted: application/json, ${V2}, ${V2BETA1}`,
    });
  });

  test('the aggregated Content-Type is written exactly as kubectl 1.27 and 1.28 compare it', () => {
    assert.equal(aggregatedDiscoveryContentType('v2beta1'), V2BETA1);
    assert.equal(aggregatedDiscoveryContentType('v2'), V2);
  });
});

describe('group and group-version documents', () => {
  const cases: [string, string | undefined, string][] = [
    ['client-go discovery', 'application/json', 'json'],
    ['kubectl 1.30+ discovery, aggregated first', `${V2},${V2BETA1},application/json`, 'json'],
    ['no Accept header', undefined, 'json'],
    ['*/*', '*/*', 'json'],
    ['application/*', 'application/*', 'json'],
    ['kubectl get', `${TABLE},application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`, 'json'],
    ['aggregated discovery only', V2, '406'],
    ['a Table only', TABLE, '406'],
    ['an APIGroupList conversion', 'application/json;as=APIGroupList;g=;v=v1', '406'],
    ['protobuf only', PROTOBUF, '406'],
    ['protobuf or anything', `${PROTOBUF},*/*`, 'json'],
  ];
  for (const [who, accept, want] of cases) {
    test(`${who} (${JSON.stringify(accept)}) gets ${want}`, () => {
      assert.equal(
        outcome(() => negotiatePlainJson(accept)),
        want,
      );
    });
  }

  test('the 406 names the one media type served', () => {
    assert.throws(() => negotiatePlainJson(PROTOBUF), { name: 'NotAcceptableError', message: 'only the following media types are accepted: application/json' });
  });
});

describe('OpenAPI documents', () => {
  const cases: [string, string | undefined, string][] = [
    ['kube-aggregator (v2)', 'application/json', 'json'],
    ['kube-aggregator (v3 root, no header)', undefined, 'json'],
    ['kubectl 1.27-1.33 (v2, protobuf only)', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf', '406'],
    ['a v3 client preferring protobuf', 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf, application/json', 'json'],
    ['*/*', '*/*', 'json'],
    ['JSON with parameters, which OpenAPI ignores', 'application/json;as=Table', 'json'],
    ['text/html', 'text/html', '406'],
  ];
  for (const [who, accept, want] of cases) {
    test(`${who} (${JSON.stringify(accept)}) gets ${want}`, () => {
      assert.equal(
        outcome(() => negotiateOpenApiJson(accept)),
        want,
      );
    });
  }
});
