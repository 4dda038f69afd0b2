/**
 * The grpc probe (`pkg/probe/grpc`): `grpc.health.v1.Health/Check` over an insecure channel,
 * SERVING is success. The two tiny messages are encoded by hand (field 1 of each).
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../../lib/clock.js';
import { KUBE_VERSION, joinHostPort } from './http.js';

/** Outcome of a gRPC health check. */
export type GrpcProbeResult = { ok: true; message: string } | { ok: false; message: string };

const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function encodeRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0);
  const s = Buffer.from(service, 'utf8');
  const len: number[] = [];
  let n = s.length;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    len.push(b);
  } while (n);
  return Buffer.concat([Buffer.from([0x0a, ...len]), s]);
}

function decodeStatus(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const tag = buf[i++];
    const field = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) {
      let v = 0;
      let shift = 0;
      let b: number;
      do {
        b = buf[i++];
        v |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80 && i < buf.length);
      if (field === 1) return v;
    } else if (wire === 2) {
      let len = 0;
      let shift = 0;
      let b: number;
      do {
        b = buf[i++];
        len |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80 && i < buf.length);
      i += len;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else break;
  }
  return 0;
}

function goDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Runs one health check against host:port with `service`, within `timeoutMs`. */
export function grpcHealthCheck(host: string, port: number, service: string, timeoutMs: number, clock: Clock): Promise<GrpcProbeResult> {
  const addr = joinHostPort(host, port);
  const client = new grpc.Client(addr, grpc.credentials.createInsecure(), {
    'grpc.primary_user_agent': `kube-probe/${KUBE_VERSION}`,
    'grpc.enable_retries': 0,
  });
  return new Promise<GrpcProbeResult>((resolve) => {
    let settled = false;
    let connected = false;
    const finish = (r: GrpcProbeResult): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      client.close();
      resolve(r);
    };
    const timer = clock.setTimer(timeoutMs, () =>
      finish(
        connected
          ? { ok: false, message: `timeout: health rpc did not complete within ${goDuration(timeoutMs)}` }
          : { ok: false, message: `timeout: failed to connect service "${addr}" within ${goDuration(timeoutMs)}: context deadline exceeded` },
      ),
    );
    const deadline = new Date(Date.now() + timeoutMs);
    client.waitForReady(deadline, (err) => {
      if (err) {
        finish({ ok: false, message: `error: failed to connect service at "${addr}": ${err.message}` });
        return;
      }
      connected = true;
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        encodeRequest(service),
        new grpc.Metadata(),
        { deadline },
        (e, res) => {
          if (e) {
            if (e.code === grpc.status.UNIMPLEMENTED) {
              finish({ ok: false, message: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${e.details}` });
            } else if (e.code === grpc.status.DEADLINE_EXCEEDED) {
              finish({ ok: false, message: `timeout: health rpc did not complete within ${goDuration(timeoutMs)}` });
            } else {
              finish({ ok: false, message: `error: health rpc probe failed: rpc error: code = ${grpcCodeName(e.code)} desc = ${e.details}` });
            }
            return;
          }
          const st = decodeStatus(res ?? Buffer.alloc(0));
          if (st !== 1) finish({ ok: false, message: `service unhealthy (responded with "${STATUS_NAMES[st] ?? String(st)}")` });
          else finish({ ok: true, message: 'service is serving' });
        },
      );
    });
  });
}

function grpcCodeName(code: number): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code] ?? String(code);
  // Go prints codes in CamelCase (`Unavailable`).
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
