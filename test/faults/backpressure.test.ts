// Fault 6, backpressure: a slow client downloading a large body from a fast replica, and a large
// upload to a replica that reads slowly. The promise: kedge's memory stays bounded (it streams
// with backpressure both ways and never holds a body whole), on both front ends.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FULL,
  RssSampler,
  hostOf,
  mb,
  memoryOf,
  report,
  revisionView,
  startPlatform,
  writeService,
  type Platform,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

const SIZE = (FULL ? 200 : 50) * 1024 * 1024;
/** The slow side's pace: a 50 MB body takes ~2.5 s, a 200 MB one ~5 s. */
const RATE = (FULL ? 40 : 20) * 1024 * 1024;
/**
 * Growth of kedge's RSS allowed while one body streams: socket buffers and a few 64 KB chunks in
 * flight, far below the body (a proxy that buffered would grow by the body's size).
 */
const MAX_GROWTH = 40 * 1024 * 1024;

interface Transfer {
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  /** Upload: when the client's last byte was accepted by the socket (ms from start). */
  readonly sentMs: number;
  readonly startedAt: number;
  readonly body: string;
}

/** GET `path` through raw TCP, reading no faster than RATE; counts body bytes. */
function slowDownload(port: number, host: string, path: string): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let head = Buffer.alloc(0);
    let status = 0;
    let expected = -1;
    let bytes = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`download: ${bytes} of ${SIZE} bytes after 60 s`));
    }, 60_000);
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      if (status === 0) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? -1);
        expected = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? -1);
        chunk = head.subarray(end + 4);
      }
      bytes += chunk.length;
      if (bytes >= expected && expected >= 0) {
        clearTimeout(timer);
        socket.destroy();
        const ms = performance.now() - started;
        resolve({ status, bytes, ms, sentMs: 0, startedAt, body: '' });
        return;
      }
      // Ahead of the pace: stop reading until the bytes so far are due.
      const dueMs = (bytes / RATE) * 1000 - (performance.now() - started);
      if (dueMs > 5) {
        socket.pause();
        setTimeout(() => socket.resume(), dueMs);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** POST SIZE bytes as fast as the socket accepts them (write() false → wait for drain). */
function fastUpload(port: number, host: string, path: string): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    const chunk = Buffer.alloc(64 * 1024, 'u');
    let sent = 0;
    let sentMs = 0;
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`upload: ${sent} of ${SIZE} bytes sent after 60 s`));
    }, 60_000);
    const pump = (): void => {
      while (sent < SIZE) {
        const n = Math.min(chunk.length, SIZE - sent);
        sent += n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
      sentMs = performance.now() - started;
    };
    socket.on('connect', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${SIZE}\r\nConnection: close\r\n\r\n`,
      );
      pump();
    });
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      const bytes = Number(/(\d+)\n/.exec(body)?.[1] ?? -1);
      resolve({ status, bytes, ms: performance.now() - started, sentMs, startedAt, body });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

for (const frontend of ['uws', 'node'] as const) {
  describe(`backpressure (${frontend} front end)`, () => {
    let platform: Platform;
    before(async () => {
      platform = await startPlatform(
        `bp-${frontend}`,
        (dir) => {
          writeService(dir, { name: 'bulk', env: { STAMP_DIR: dir } });
        },
        { env: { KEDGE_FRONTEND: frontend } },
      );
      await waitFor(
        'bulk to be ready',
        async () =>
          (await revisionView(platform.kedge, 'bulk-00001'))?.readyReplicas === 1 ? true : undefined,
        20_000,
      );
    });
    after(async () => {
      await platform.close();
    });

    test(`a slow client downloads ${mb(SIZE)}: kedge's memory stays bounded`, async (t) => {
      const { kedge, dir } = platform;
      const before = memoryOf(kedge.pid);
      const sampler = new RssSampler(kedge.pid);
      const res = await slowDownload(kedge.gatewayPort, hostOf('bulk'), `/download?bytes=${SIZE}&name=dl`);
      const peak = sampler.stop();
      const backendDoneMs = Number(readFileSync(join(dir, 'dl'), 'utf8')) - res.startedAt;
      report(t, `backpressure download (${frontend})`, {
        size: mb(SIZE),
        seconds: (res.ms / 1000).toFixed(1),
        rssBefore: mb(before.rss),
        rssPeak: mb(peak),
        growth: mb(peak - before.rss),
        vmHwm: mb(memoryOf(kedge.pid).hwm),
        replicaFinishedWritingAtMs: backendDoneMs,
        clientFinishedAtMs: Math.round(res.ms),
      });
      assert.equal(res.status, 200);
      assert.equal(res.bytes, SIZE);
      assert.ok(peak - before.rss < MAX_GROWTH, `RSS grew by ${mb(peak - before.rss)}`);
      // Streamed: the replica could only write as fast as the slow client read (minus what the
      // socket buffers on the way hold), not all at once into kedge.
      assert.ok(
        backendDoneMs > res.ms * 0.5,
        `the replica finished at ${backendDoneMs} ms of ${Math.round(res.ms)}`,
      );
    });

    test(`a ${mb(SIZE)} upload to a replica reading at ${mb(RATE)}/s: kedge's memory stays bounded`, async (t) => {
      const { kedge } = platform;
      const before = memoryOf(kedge.pid);
      const sampler = new RssSampler(kedge.pid);
      const res = await fastUpload(kedge.gatewayPort, hostOf('bulk'), `/upload?rate=${RATE}&name=ul`);
      const peak = sampler.stop();
      report(t, `backpressure upload (${frontend})`, {
        size: mb(SIZE),
        seconds: (res.ms / 1000).toFixed(1),
        rssBefore: mb(before.rss),
        rssPeak: mb(peak),
        growth: mb(peak - before.rss),
        vmHwm: mb(memoryOf(kedge.pid).hwm),
        clientSentLastByteAtMs: Math.round(res.sentMs),
        answeredAtMs: Math.round(res.ms),
      });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.bytes, SIZE, 'the replica received every byte');
      assert.ok(peak - before.rss < MAX_GROWTH, `RSS grew by ${mb(peak - before.rss)}`);
      // Streamed: the client could only send as fast as the replica read.
      assert.ok(
        res.sentMs > res.ms * 0.5,
        `the client sent its last byte at ${Math.round(res.sentMs)} ms of ${Math.round(res.ms)}`,
      );
    });
  });
}
