// A minimal token endpoint on livekit-server-sdk, the Node baseline of the token-server load
// benchmark (scripts/bench-token-server): POST /token with the standard JSON options, 201 with
// the same token the Rust server mints (room join, publish, subscribe and data in the room,
// identity, name, metadata, attributes, an agent dispatch when asked, 1 h TTL, devkey/secret).
// Listens on 127.0.0.1:$PORT (default 8090); GET /healthz answers 200.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { AccessToken, RoomAgentDispatch, RoomConfiguration } from 'livekit-server-sdk';

const PORT = Number(process.env.PORT ?? 8090);
const API_KEY = process.env.LIVEKIT_API_KEY ?? 'devkey';
const API_SECRET = process.env.LIVEKIT_API_SECRET ?? 'secret';
const LIVEKIT_URL = process.env.LIVEKIT_URL ?? 'ws://localhost:7880';
const MAX_BODY_BYTES = 16 * 1024;

const random = (prefix) => `${prefix}-${randomBytes(8).toString('hex')}`;
const pick = (body, snake, camel) => body[snake] ?? body[camel] ?? undefined;

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

async function mint(body) {
  const identity = pick(body, 'participant_identity', 'participantIdentity') || random('user');
  const room = pick(body, 'room_name', 'roomName') || random('room');
  const name = pick(body, 'participant_name', 'participantName') || identity;
  const token = new AccessToken(API_KEY, API_SECRET, {
    identity,
    name,
    ttl: 3600,
    metadata: pick(body, 'participant_metadata', 'participantMetadata'),
    attributes: pick(body, 'participant_attributes', 'participantAttributes'),
  });
  token.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  const agent = pick(body, 'room_config', 'roomConfig')?.agents?.[0];
  if (agent) {
    token.roomConfig = new RoomConfiguration({
      agents: [new RoomAgentDispatch({
        agentName: agent.agent_name ?? agent.agentName ?? '',
        metadata: agent.metadata ?? '',
      })],
    });
  }
  return { server_url: LIVEKIT_URL, participant_token: await token.toJwt(), participant_name: name, room_name: room };
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return answer(res, 200, 'ok');
  if (req.method !== 'POST' || (req.url !== '/token' && req.url !== '/')) {
    return answer(res, 404, { error: 'not found: POST token requests to /token' });
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', async () => {
    let body = {};
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return answer(res, 400, { error: 'the request body is not valid JSON' });
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return answer(res, 400, { error: 'the request body is not a token request' });
      }
    }
    try {
      answer(res, 201, await mint(body));
    } catch (error) {
      answer(res, 500, { error: 'the token server could not mint a token' });
    }
  });
});

server.listen(PORT, '127.0.0.1', () => console.log(`node token endpoint on http://127.0.0.1:${PORT}/token`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
