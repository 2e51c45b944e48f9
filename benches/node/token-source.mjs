// Baseline benchmark for LiveKit's JavaScript `TokenSource.custom` (livekit-client 2.23.0).
//
// Two workloads:
//   1. cached hit: repeated `fetch` with the same options object once the cache is warm;
//   2. stampede:   many concurrent `fetch` calls spread over 10 option sets, with a slow
//                  (50 ms) upstream.
//
// Human-readable lines go to stdout, followed by one final `RESULT {...}` JSON line that the
// Rust side parses. See README.md.
//
// No browser-global shims are needed: the package's ESM entry
// (dist/livekit-client.esm.mjs) bundles its dependencies and loads as-is in Node 20, and the
// token-source path only uses globals Node provides (atob, TextDecoder, Date).

import { setTimeout as sleep } from 'node:timers/promises';
import { TokenSource } from 'livekit-client';

const IMPL = 'livekit-client 2.23.0';
const SERVER_URL = 'wss://bench.invalid';
const UPSTREAM_DELAY_MS = 50;
const STAMPEDE_ROOMS = 10;

/** Reads a positive integer from the environment, falling back to `fallback` when unset. */
function envPositiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    fail(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

const HIT_ITERATIONS = envPositiveInt('HIT_ITERATIONS', 200_000);
const HIT_WARMUP = envPositiveInt('HIT_WARMUP', 20_000);
const STAMPEDE_FETCHES = envPositiveInt('STAMPEDE_FETCHES', 1000);
const SKIP_STAMPEDE =
  process.env.SKIP_STAMPEDE === '1' || process.argv.slice(2).includes('--skip-stampede');

const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Builds a JWT-shaped token valid from now for one hour. livekit-client only decodes the
 * payload (to check `nbf`/`exp`) and never verifies the signature, so the signature is filler.
 */
function makeToken(sub) {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url({ alg: 'HS256', typ: 'JWT' });
  const payload = base64url({ sub, nbf: now, exp: now + 3600 });
  const signature = Buffer.from('unverified-bench-signature').toString('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Workload 1: time `fetch` calls that are served from the cache. Returns ns per hit. */
async function benchCachedHit() {
  const token = makeToken('bench-room-user');
  let upstreamCalls = 0;
  const source = TokenSource.custom(async () => {
    upstreamCalls += 1;
    return { serverUrl: SERVER_URL, participantToken: token };
  });

  const options = { roomName: 'bench-room' };
  await source.fetch(options); // fills the cache

  for (let i = 0; i < HIT_WARMUP; i++) {
    await source.fetch(options);
  }

  let last;
  const start = process.hrtime.bigint();
  for (let i = 0; i < HIT_ITERATIONS; i++) {
    last = await source.fetch(options);
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);

  if (upstreamCalls !== 1) {
    fail(`cached hit: expected exactly 1 upstream call, got ${upstreamCalls}`);
  }
  if (last.participantToken !== token) {
    fail('cached hit: fetch returned an unexpected token');
  }

  const hitNs = elapsedNs / HIT_ITERATIONS;
  console.log(
    `cached hit: ${hitNs.toFixed(1)} ns/hit over ${HIT_ITERATIONS} iterations ` +
      `(warm-up ${HIT_WARMUP}), upstream calls: ${upstreamCalls}`,
  );
  return hitNs;
}

/**
 * Workload 2: `STAMPEDE_FETCHES` concurrent fetches cycling through 10 option objects, with an
 * upstream that takes 50 ms. Returns wall time and upstream call count.
 */
async function benchStampede() {
  const optionSets = Array.from({ length: STAMPEDE_ROOMS }, (_, i) => ({ roomName: `room-${i}` }));
  const tokensByRoom = new Map(
    optionSets.map(({ roomName }) => [roomName, makeToken(`user-${roomName}`)]),
  );

  let upstreamCalls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const source = TokenSource.custom(async (options) => {
    upstreamCalls += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await sleep(UPSTREAM_DELAY_MS);
      return { serverUrl: SERVER_URL, participantToken: tokensByRoom.get(options.roomName) };
    } finally {
      inFlight -= 1;
    }
  });

  const start = process.hrtime.bigint();
  const results = await Promise.all(
    Array.from({ length: STAMPEDE_FETCHES }, (_, i) => source.fetch(optionSets[i % STAMPEDE_ROOMS])),
  );
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;

  results.forEach((result, i) => {
    const expected = tokensByRoom.get(optionSets[i % STAMPEDE_ROOMS].roomName);
    if (result.participantToken !== expected) {
      fail(`stampede: fetch ${i} returned the token of a different room`);
    }
  });

  console.log(
    `stampede: ${STAMPEDE_FETCHES} concurrent fetches over ${STAMPEDE_ROOMS} option sets ` +
      `took ${wallMs.toFixed(1)} ms, upstream calls: ${upstreamCalls}, ` +
      `max concurrent upstream calls: ${maxInFlight}`,
  );
  return { wallMs, upstreamCalls };
}

console.log(`${IMPL} on node ${process.version}`);

const hitNs = await benchCachedHit();

let stampede = null;
if (SKIP_STAMPEDE) {
  console.log('stampede: skipped');
} else {
  console.log(
    `stampede: running ${STAMPEDE_FETCHES} fetches (fetches are serialized, ` +
      `expect about ${((STAMPEDE_FETCHES * UPSTREAM_DELAY_MS) / 1000).toFixed(0)} s)...`,
  );
  stampede = await benchStampede();
}

const round1 = (value) => Math.round(value * 10) / 10;
const result = {
  impl: IMPL,
  node: process.version,
  hit_ns: round1(hitNs),
  hit_iterations: HIT_ITERATIONS,
  stampede_fetches: stampede ? STAMPEDE_FETCHES : null,
  stampede_upstream_calls: stampede ? stampede.upstreamCalls : null,
  stampede_wall_ms: stampede ? round1(stampede.wallMs) : null,
};
console.log(`RESULT ${JSON.stringify(result)}`);
