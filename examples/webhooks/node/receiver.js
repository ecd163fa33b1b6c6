#!/usr/bin/env node
// A Textbird webhook receiver that verifies every request's Standard Webhooks signature.
//
// Node.js standard library only. Run it with the endpoint's secret (shown once, when the
// endpoint is created) and a port:
//
//     TEXTBIRD_WEBHOOK_SECRET=whsec_... node receiver.js 9000
//
// It answers 204 to a request whose signature verifies and whose timestamp is within five
// minutes of now, prints one JSON line per accepted event, and answers 401 to anything else.
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');

const TOLERANCE_SECS = 300;

function verify(secret, id, timestamp, body, signatures) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const ts = Number.parseInt(timestamp, 10);
  if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > TOLERANCE_SECS) return false;
  const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  // During a secret rotation the header carries two signatures, separated by a space.
  return signatures.split(' ').some((sig) => {
    const [version, value] = sig.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

const secret = process.env.TEXTBIRD_WEBHOOK_SECRET;
const port = Number(process.argv[2] || 9000);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const h = req.headers;
    if (req.method !== 'POST' ||
        !verify(secret, h['webhook-id'] || '', h['webhook-timestamp'] || '', body, h['webhook-signature'] || '')) {
      res.writeHead(401).end();
      return;
    }
    const event = JSON.parse(body.toString('utf8'));
    console.log(JSON.stringify({ verified: true, id: h['webhook-id'], type: event.type, data: event.data }));
    res.writeHead(204).end();
  });
});
server.listen(port, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
