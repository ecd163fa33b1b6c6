#!/usr/bin/env node
// SMPP load generator for scripts/bench-smpp: an ESME that submits N messages to Textbird's
// customer-facing SMPP server as fast as a window of W outstanding submit_sm allows.
//
// Measures: submit_sm_resp latency (send -> resp, per message) and status, submit rate
// (responses per second from the first submit to the last response), and its own CPU time, so
// the load tool's cost is visible next to Textbird's. Answers deliver_sm (receipts) with
// deliver_sm_resp; with --dlr it asks for receipts and waits (bounded) until N have arrived.
//
//   NODE_PATH=crates/textbird/tests/peers/node_modules node scripts/bench.d/esme_load.js \
//     --host 127.0.0.1 --port 2775 --system-id USER --password PASS -n 20000 -w 100 [--dlr]
//
// Message i (0-based): to +4670<i, 7 digits> (TON 1 NPI 1), from "Bench" (TON 5 NPI 0),
// text "bench-<i>" (GSM 7-bit default alphabet). Prints one JSON object on stdout.
'use strict';

const path = require('path');
let smpp;
try {
  smpp = require('smpp');
} catch (e) {
  smpp = require(path.join(__dirname, '../../crates/textbird/tests/peers/node_modules/smpp'));
}

const o = { host: '127.0.0.1', port: 2775, systemId: '', password: '', n: 1000, w: 100, dlr: false, timeout: 600, dlrWait: 60 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i];
  switch (a) {
    case '--host': o.host = next(); break;
    case '--port': o.port = Number(next()); break;
    case '--system-id': o.systemId = next(); break;
    case '--password': o.password = next(); break;
    case '-n': o.n = Number(next()); break;
    case '-w': o.w = Number(next()); break;
    case '--dlr': o.dlr = true; break;
    case '--timeout': o.timeout = Number(next()); break; // s, whole run
    case '--dlr-wait': o.dlrWait = Number(next()); break; // s, receipts after the last resp
    default: console.error(`unknown argument ${a}`); process.exit(2);
  }
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const lat = new Float64Array(o.n); // ms per answered submit_sm
let sent = 0, answered = 0, ok = 0, inflight = 0, dlrs = 0;
const errors = {};
let tFirst = null, tFirstEpoch = null, tLast = null, tLastEpoch = null, finished = false;

const session = smpp.connect({ host: o.host, port: o.port });
session.on('error', (e) => finish(`session error: ${e.message}`));
session.on('close', () => finish('connection closed'));
session.on('enquire_link', (pdu) => session.send(pdu.response()));
session.on('deliver_sm', (pdu) => { dlrs++; session.send(pdu.response()); });
session.on('unbind', (pdu) => { session.send(pdu.response()); finish('unbound by Textbird'); });
const deadline = setTimeout(() => finish(`timeout after ${o.timeout}s`), o.timeout * 1000);

session.on('connect', () => {
  session.bind_transceiver({ system_id: o.systemId, password: o.password }, (resp) => {
    if (resp.command_status !== 0) return finish(`bind failed: status 0x${resp.command_status.toString(16)}`);
    tFirst = nowMs(); tFirstEpoch = Date.now() / 1000;
    pump();
  });
});

function pump() {
  while (inflight < o.w && sent < o.n) submit(sent++);
}

function submit(i) {
  const t0 = nowMs();
  inflight++;
  session.submit_sm({
    source_addr_ton: 5, source_addr_npi: 0, source_addr: 'Bench',
    dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '4670' + String(i).padStart(7, '0'),
    registered_delivery: o.dlr ? 1 : 0,
    data_coding: 0,
    short_message: Buffer.from('bench-' + i, 'ascii'), // these characters are the same in GSM 7-bit
  }, (resp) => {
    inflight--;
    lat[answered++] = nowMs() - t0;
    if (resp.command_status === 0) ok++;
    else { const k = '0x' + resp.command_status.toString(16).padStart(2, '0'); errors[k] = (errors[k] || 0) + 1; }
    if (answered === o.n) { tLast = nowMs(); tLastEpoch = Date.now() / 1000; return awaitReceipts(); }
    pump();
  });
}

function awaitReceipts() {
  if (!o.dlr) return finish(null);
  const until = Date.now() + o.dlrWait * 1000;
  const check = () => (dlrs >= ok || Date.now() > until ? finish(null) : setTimeout(check, 50));
  check();
}

function finish(problem) {
  if (finished) return;
  finished = true;
  clearTimeout(deadline);
  const sorted = Array.from(lat.subarray(0, answered)).sort((a, b) => a - b);
  const pct = (p) => (sorted.length ? +sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(2) : null);
  const elapsed = tFirst === null ? 0 : ((tLast === null ? nowMs() : tLast) - tFirst) / 1000;
  const cpu = process.cpuUsage();
  const out = {
    n: o.n, w: o.w, sent, answered, ok, errors, problem,
    elapsed_s: +elapsed.toFixed(3),
    rate: elapsed > 0 ? +(answered / elapsed).toFixed(1) : null,
    p50_ms: pct(50), p90_ms: pct(90), p99_ms: pct(99), max_ms: sorted.length ? +sorted[sorted.length - 1].toFixed(2) : null,
    first_submit_epoch: tFirstEpoch, last_resp_epoch: tLastEpoch,
    dlr_requested: o.dlr, deliver_sm_received: dlrs,
    cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(3),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  const code = problem || answered < o.n ? 1 : 0;
  if (problem) return process.exit(code);
  const bye = setTimeout(() => process.exit(code), 2000);
  session.unbind(() => { clearTimeout(bye); session.close(); process.exit(code); });
}
