// protocol.mjs — the chat listener's websocket protocol, driven by a real
// client (the `ws` package): the handshake's checks, hello/welcome,
// messages and acks, resends, every error code, oversize frames, rate
// limits, resume with history, a push of an agent's message, and the close
// of an abusive client. Prints "ok - …"/"not ok - …" lines (and "# …"
// comments) for tests/integration/chat-protocol.sh, which counts them.
//
// Environment: HG_CHAT_URL (ws://127.0.0.1:PORT/chat), HG_CHAT_ORIGIN (an
// allowed origin), HG_PSQL (a command line that runs SQL given as its last
// argument, for the push), HG_MAX_FRAME (the config's max_frame in bytes).
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';

const url = process.env.HG_CHAT_URL;
const origin = process.env.HG_CHAT_ORIGIN;
const psql = JSON.parse(process.env.HG_PSQL_JSON);
const maxFrame = Number(process.env.HG_MAX_FRAME);
const PROTOCOL = 'helpgate.chat.v1';

let failures = 0;
function ok(cond, what, detail) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
  if (!cond) {
    failures++;
    if (detail !== undefined) console.log(`# ${JSON.stringify(detail)}`.slice(0, 600));
  }
}

function sql(text) {
  return execFileSync(psql[0], [...psql.slice(1), text], { encoding: 'utf8' }).trim();
}

// A client that keeps every frame it receives and can wait for one.
class Client {
  constructor(opts = {}) {
    this.frames = [];
    this.waiters = [];
    this.closed = null;
    this.ws = new WebSocket(url, opts.protocol === undefined ? PROTOCOL : opts.protocol,
      { origin: opts.origin === undefined ? origin : opts.origin });
    this.opened = new Promise((resolve) => {
      this.ws.on('open', () => resolve(true));
      this.ws.on('error', () => resolve(false));
      this.ws.on('unexpected-response', (_req, res) => { this.status = res.statusCode; resolve(false); });
    });
    this.ws.on('message', (data) => {
      let f;
      try { f = JSON.parse(data.toString()); } catch { f = { type: 'unparsable', raw: data.toString() }; }
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => !(w.pred(f) && (w.resolve(f), true)));
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters) w.resolve(null);
      this.waiters = [];
    });
  }
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  sendRaw(buf) { this.ws.send(buf, { binary: false }); }
  // The first frame (already received or to come) for which PRED holds; null after MS or a close.
  wait(pred, ms = 10000) {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => { this.waiters = this.waiters.filter((x) => x !== w); resolve(null); }, ms);
    });
  }
  waitClose(ms = 10000) {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => {
      this.ws.on('close', () => resolve(this.closed));
      setTimeout(() => resolve(this.closed), ms);
    });
  }
  close() { this.ws.close(); }
}

const isType = (type) => (f) => f.type === type;
const ackOf = (id) => (f) => f.type === 'ack' && f.id === id;
const errorOf = (code) => (f) => f.type === 'error' && f.code === code;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  // A visitor who connects and says nothing (idle_timeout = 10s in the test's config).
  const sleeper = new Client();
  await sleeper.opened;
  const sleeperSince = Date.now();

  // The handshake.
  const evil = new Client({ origin: 'https://evil.example' });
  ok(!(await evil.opened), 'a page of another origin cannot open the chat', evil.status);
  const noproto = new Client({ protocol: [] });
  ok(!(await noproto.opened), 'a websocket without the helpgate.chat.v1 subprotocol is refused');
  const early = new Client();
  ok(await early.opened, 'the allowed origin with the subprotocol connects');
  ok(early.ws.protocol === PROTOCOL, 'the server agrees on helpgate.chat.v1', early.ws.protocol);
  early.send({ type: 'message', id: 'x1', text: 'too early' });
  const notReady = await early.wait(errorOf('not_ready'));
  ok(notReady && notReady.id === 'x1', 'a message before hello: error not_ready naming the message', notReady);
  early.close();

  // Hello, welcome, a message and its ack.
  const a = new Client();
  await a.opened;
  a.send({ type: 'hello', name: 'Ann Visitor', email: 'ann.chat@customer.example', lang: 'en' });
  const welcome = await a.wait(isType('welcome'));
  ok(welcome && welcome.protocol === PROTOCOL && welcome.ticket === null, 'welcome: protocol, no ticket yet', welcome);
  ok(welcome && /^[0-9a-f]{32}$/.test(welcome.resume), 'welcome: a 128-bit resume token in hex', welcome);
  a.send({ type: 'message', id: 'c1', text: 'My printer prints only blank pages.' });
  const ack1 = await a.wait(ackOf('c1'));
  ok(ack1 && Number.isInteger(ack1.message) && Number.isInteger(ack1.ticket), 'the first message is acked with message and ticket numbers', ack1);
  const system = await a.wait((f) => f.type === 'message' && f.from === 'system');
  ok(system && system.text.includes(String(ack1 && ack1.ticket)), 'the acknowledgement appears in the chat with the ticket number', system);
  a.send({ type: 'typing', state: true });
  a.send({ type: 'message', id: 'c1', text: 'My printer prints only blank pages.' });
  await sleep(300);
  const acks1 = a.frames.filter(ackOf('c1'));
  ok(acks1.length === 2 && acks1[1].message === ack1.message, 'a resend of c1 is acked with the same stored message', acks1);

  // Errors; the connection goes on after each.
  a.send('{"type": "message", "id": ');
  const badJson = await a.wait(errorOf('bad_json'));
  ok(badJson && /JSON|line|column/i.test(badJson.message), 'broken JSON: error bad_json with a sentence', badJson);
  a.sendRaw(Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]));
  ok(await a.wait(errorOf('bad_utf8')), 'a frame that is not UTF-8: error bad_utf8');
  a.send({ type: 'dance' });
  const unknown = await a.wait(errorOf('unknown_type'));
  ok(unknown && unknown.message.includes('dance'), 'an unknown type: error unknown_type naming it', unknown);
  a.send({ type: 'message', id: 'c2' });
  const missing = await a.wait(errorOf('missing_field'));
  ok(missing && missing.message.includes('text') && missing.id === 'c2', 'a message without text: missing_field naming it', missing);
  a.send({ type: 'message', id: 'has space', text: 'x' });
  ok(await a.wait(errorOf('bad_field')), 'a malformed client id: error bad_field');
  a.send({ type: 'message', id: 'big', text: 'x'.repeat(maxFrame + 100) });
  const tooLarge = await a.wait(errorOf('too_large'));
  ok(tooLarge && tooLarge.message.includes(String(maxFrame)), 'a frame over max_frame: error too_large naming the limit', tooLarge);
  a.send({ type: 'message', id: 'c3', text: 'Still here after all that.' });
  const ack3 = await a.wait(ackOf('c3'));
  ok(ack3 && ack3.ticket === ack1.ticket && ack3.message !== ack1.message, 'after the errors the connection still works: c3 on the same ticket', ack3);

  // Rate limit: the burst passes, the rest is refused with the message's id.
  await sleep(2500); // refill
  for (let i = 0; i < 12; i++) a.send({ type: 'message', id: `r${i}`, text: `burst ${i}` });
  await sleep(1500);
  const limited = a.frames.filter(errorOf('rate_limited'));
  const burstAcks = a.frames.filter((f) => f.type === 'ack' && /^r\d+$/.test(f.id));
  ok(limited.length > 0 && limited.every((f) => /^r\d+$/.test(f.id)), 'sending too fast: rate_limited errors naming the messages', limited.length);
  ok(burstAcks.length > 0 && burstAcks.length + limited.length === 12, 'every message was either stored or refused', { acks: burstAcks.length, limited: limited.length });

  // A push: an agent's answer stored on the ticket reaches the socket (NOTIFY).
  sql(`INSERT INTO messages (ticket_id, direction, channel, from_name, body_text, reply_text)
       SELECT id, 'out', 'email', 'Bob Agent', 'Try a new cartridge.', 'Try a new cartridge.' FROM tickets WHERE number = ${ack1.ticket}`);
  const pushed = await a.wait((f) => f.type === 'message' && f.text === 'Try a new cartridge.');
  ok(pushed && pushed.from === 'system' && Number.isInteger(pushed.message), 'a message stored for the visitor is pushed live', pushed);

  // Resume on a new connection: same session, history, no duplicate on resend.
  a.close();
  await a.waitClose();
  const b = new Client();
  await b.opened;
  b.send({ type: 'hello', name: 'Ann Visitor', resume: welcome.resume });
  const back = await b.wait(isType('welcome'));
  ok(back && back.ticket === ack1.ticket, 'resume: the welcome names the same ticket', back);
  const texts = back ? back.history.map((m) => m.text) : [];
  ok(texts.includes('My printer prints only blank pages.') && texts.includes('Try a new cartridge.'), 'resume: the history holds both sides', texts);
  const mine = back ? back.history.find((m) => m.id === 'c1') : null;
  ok(mine && mine.from === 'visitor', 'resume: the visitor\'s own messages carry their client ids', mine);
  b.send({ type: 'message', id: 'c3', text: 'Still here after all that.' });
  const again = await b.wait(ackOf('c3'));
  ok(again && again.message === ack3.message, 'resume: resending c3 stores nothing new', again);
  b.close();

  const lost = new Client();
  await lost.opened;
  lost.send({ type: 'hello', name: 'Mallory', resume: '0123456789abcdef0123456789abcdef' });
  ok(await lost.wait(errorOf('resume_unknown')), 'an unknown resume token: error resume_unknown');
  lost.close();

  // An abusive client is closed with a code; another one does not notice.
  const bystander = new Client();
  await bystander.opened;
  bystander.send({ type: 'hello', name: 'Bystander' });
  await bystander.wait(isType('welcome'));
  const abuser = new Client();
  await abuser.opened;
  for (let i = 0; i < 40; i++) abuser.send('not json');
  const closed = await abuser.waitClose();
  ok(closed && closed.code === 1008, 'a client that keeps sending garbage is closed with 1008', closed);
  bystander.send({ type: 'message', id: 'b1', text: 'Hello from the bystander.' });
  ok(await bystander.wait(ackOf('b1')), 'another visitor goes on undisturbed');
  bystander.close();

  // Connections from one address are capped (per_ip_connections = 7 in the test's config; the
  // silent visitor holds one).
  await sleep(500);
  const crowd = [];
  for (let i = 0; i < 9; i++) crowd.push(new Client());
  await Promise.all(crowd.map((k) => k.opened));
  await sleep(1000);
  const refused = crowd.filter((k) => k.closed && k.closed.code === 1008);
  ok(refused.length === 3 && refused.every((k) => /too many connections/.test(k.closed.reason)),
    'per_ip_connections: the connections over the cap are closed with 1008', refused.map((k) => k.closed));
  const admitted = crowd.filter((k) => !k.closed);
  admitted[0].send({ type: 'hello', name: 'Crowd' });
  ok(await admitted[0].wait(isType('welcome')), 'the admitted ones work');
  for (const k of crowd) k.close();

  const slept = await sleeper.waitClose(30000);
  const after = (Date.now() - sleeperSince) / 1000;
  ok(slept && slept.code === 1001 && slept.reason === 'idle' && after >= 9 && after < 30,
    'a connection silent for idle_timeout is closed (1001, "idle")', { slept, after });

  console.log(`# ${failures} failed`);
  setTimeout(() => process.exit(0), 200);
}

main().catch((e) => { console.log(`not ok - the client crashed: ${e && e.stack}`); process.exit(1); });
