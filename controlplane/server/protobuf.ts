/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`)
 * for the few small kinds kubectl's imperative commands send that way
 * (`kubectl create configmap|secret|namespace|serviceaccount`, eviction during `drain`,
 * the SelfSubjectAccessReview of `kubectl auth can-i`) and the review APIs.
 * The envelope is the 4-byte magic `k8s\0` then a `runtime.Unknown` message whose `raw`
 * field holds the object; field numbers follow k8s.io/api's generated.proto.
 *
 * Deviation: other kinds (Deployments, Pods, … with their large schemas) answer 415, and
 * responses are always JSON (clients accept JSON alongside protobuf).
 */
import { badRequest, unsupportedMediaType } from '../registry/errors.js';

type FieldKind = 'string' | 'bytes' | 'int' | 'bool' | 'time' | { msg: Schema } | { map: 'string' | 'bytes' };

interface Field {
  name: string;
  kind: FieldKind;
  repeated?: boolean;
}

type Schema = Record<number, Field>;

const TIME: Schema = { 1: { name: 'seconds', kind: 'int' }, 2: { name: 'nanos', kind: 'int' } };
const OWNER_REF: Schema = {
  1: { name: 'kind', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  5: { name: 'apiVersion', kind: 'string' },
  6: { name: 'controller', kind: 'bool' },
  7: { name: 'blockOwnerDeletion', kind: 'bool' },
};
const OBJECT_META: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'generateName', kind: 'string' },
  3: { name: 'namespace', kind: 'string' },
  5: { name: 'uid', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'generation', kind: 'int' },
  8: { name: 'creationTimestamp', kind: 'time' },
  9: { name: 'deletionTimestamp', kind: 'time' },
  10: { name: 'deletionGracePeriodSeconds', kind: 'int' },
  11: { name: 'labels', kind: { map: 'string' } },
  12: { name: 'annotations', kind: { map: 'string' } },
  13: { name: 'ownerReferences', kind: { msg: OWNER_REF }, repeated: true },
  14: { name: 'finalizers', kind: 'string', repeated: true },
};
const OBJECT_REF: Schema = {
  1: { name: 'kind', kind: 'string' },
  2: { name: 'namespace', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  5: { name: 'apiVersion', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'fieldPath', kind: 'string' },
};
const PRECONDITIONS: Schema = { 1: { name: 'uid', kind: 'string' }, 2: { name: 'resourceVersion', kind: 'string' } };
const DELETE_OPTIONS: Schema = {
  1: { name: 'gracePeriodSeconds', kind: 'int' },
  2: { name: 'preconditions', kind: { msg: PRECONDITIONS } },
  3: { name: 'orphanDependents', kind: 'bool' },
  4: { name: 'propagationPolicy', kind: 'string' },
  5: { name: 'dryRun', kind: 'string', repeated: true },
};

const RESOURCE_ATTRIBUTES: Schema = {
  1: { name: 'namespace', kind: 'string' },
  2: { name: 'verb', kind: 'string' },
  3: { name: 'group', kind: 'string' },
  4: { name: 'version', kind: 'string' },
  5: { name: 'resource', kind: 'string' },
  6: { name: 'subresource', kind: 'string' },
  7: { name: 'name', kind: 'string' },
};
const NON_RESOURCE_ATTRIBUTES: Schema = { 1: { name: 'path', kind: 'string' }, 2: { name: 'verb', kind: 'string' } };

/** Object schemas by `apiVersion/kind`. */
const KINDS: Record<string, Schema> = {
  'v1/ConfigMap': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: { name: 'data', kind: { map: 'string' } },
    3: { name: 'binaryData', kind: { map: 'bytes' } },
    4: { name: 'immutable', kind: 'bool' },
  },
  'v1/Secret': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: { name: 'data', kind: { map: 'bytes' } },
    3: { name: 'type', kind: 'string' },
    4: { name: 'stringData', kind: { map: 'string' } },
    5: { name: 'immutable', kind: 'bool' },
  },
  'v1/Namespace': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: { name: 'spec', kind: { msg: { 1: { name: 'finalizers', kind: 'string', repeated: true } } } },
  },
  'v1/ServiceAccount': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: { name: 'secrets', kind: { msg: OBJECT_REF }, repeated: true },
    3: { name: 'imagePullSecrets', kind: { msg: { 1: { name: 'name', kind: 'string' } } }, repeated: true },
    4: { name: 'automountServiceAccountToken', kind: 'bool' },
  },
  'policy/v1/Eviction': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: { name: 'deleteOptions', kind: { msg: DELETE_OPTIONS } },
  },
  // `kubectl auth can-i` and typed clients of the review APIs.
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: { name: 'spec', kind: { msg: { 1: { name: 'resourceAttributes', kind: { msg: RESOURCE_ATTRIBUTES } }, 2: { name: 'nonResourceAttributes', kind: { msg: NON_RESOURCE_ATTRIBUTES } } } } },
  },
  'authorization.k8s.io/v1/SubjectAccessReview': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: {
      name: 'spec',
      kind: {
        msg: {
          1: { name: 'resourceAttributes', kind: { msg: RESOURCE_ATTRIBUTES } },
          2: { name: 'nonResourceAttributes', kind: { msg: NON_RESOURCE_ATTRIBUTES } },
          3: { name: 'user', kind: 'string' },
          4: { name: 'groups', kind: 'string', repeated: true },
          6: { name: 'uid', kind: 'string' },
        },
      },
    },
  },
  'authentication.k8s.io/v1/TokenReview': {
    1: { name: 'metadata', kind: { msg: OBJECT_META } },
    2: { name: 'spec', kind: { msg: { 1: { name: 'token', kind: 'string' }, 2: { name: 'audiences', kind: 'string', repeated: true } } } },
  },
  'v1/DeleteOptions': DELETE_OPTIONS,
  'meta.k8s.io/v1/DeleteOptions': DELETE_OPTIONS,
};

/** The Content-Type of Kubernetes protobuf. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.pos >= this.buf.length || shift > 63n) throw badRequest('malformed protobuf: bad varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw badRequest('malformed protobuf: truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw badRequest(`malformed protobuf: wire type ${wire}`);
  }
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done) {
    const tag = Number(r.varint());
    const num = tag >>> 3;
    const wire = tag & 7;
    const f = schema[num];
    if (!f) {
      r.skip(wire);
      continue;
    }
    const value = decodeField(r, f.kind, wire);
    if (typeof f.kind === 'object' && 'map' in f.kind) {
      const [k, v] = value as [string, unknown];
      out[f.name] = { ...((out[f.name] as object) ?? {}), [k]: v };
    } else if (f.repeated) {
      out[f.name] = [...((out[f.name] as unknown[]) ?? []), value];
    } else if (value === '' || value === false) {
      // generated marshalers write empty strings and false; JSON would omit them.
      delete out[f.name];
    } else out[f.name] = value;
  }
  return out;
}

function decodeField(r: Reader, kind: FieldKind, wire: number): unknown {
  if (kind === 'int') {
    const v = r.varint();
    return Number(BigInt.asIntN(64, v));
  }
  if (kind === 'bool') return r.varint() !== 0n;
  if (wire !== 2) throw badRequest('malformed protobuf: unexpected wire type');
  const b = r.bytes();
  if (kind === 'string') return b.toString('utf8');
  if (kind === 'bytes') return b.toString('base64');
  if (kind === 'time') {
    const t = decodeMessage(b, TIME) as { seconds?: number };
    return new Date((t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if ('msg' in kind) return decodeMessage(b, kind.msg);
  const entry = decodeMessage(b, { 1: { name: 'key', kind: 'string' }, 2: { name: 'value', kind: kind.map } });
  return [entry.key ?? '', entry.value ?? (kind.map === 'bytes' ? '' : '')];
}

/** Decodes a `k8s\0`-framed protobuf body into the JSON form of the object. */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || body.subarray(0, 4).toString('binary') !== 'k8s\u0000') throw badRequest('malformed protobuf: missing k8s magic');
  const unknown = decodeMessage(body.subarray(4), {
    1: { name: 'typeMeta', kind: { msg: { 1: { name: 'apiVersion', kind: 'string' }, 2: { name: 'kind', kind: 'string' } } } },
    2: { name: 'raw', kind: 'bytes' },
    3: { name: 'contentEncoding', kind: 'string' },
  }) as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: string; contentEncoding?: string };
  const apiVersion = unknown.typeMeta?.apiVersion ?? '';
  const kind = unknown.typeMeta?.kind ?? '';
  if (unknown.contentEncoding) throw badRequest(`protobuf content encoding ${unknown.contentEncoding} is not supported`);
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema) {
    throw unsupportedMediaType(`${PROTOBUF_CONTENT_TYPE} (${apiVersion}/${kind})`, ['application/json', 'application/yaml']);
  }
  const obj = decodeMessage(Buffer.from(unknown.raw ?? '', 'base64'), schema);
  return { apiVersion, kind, ...obj };
}
