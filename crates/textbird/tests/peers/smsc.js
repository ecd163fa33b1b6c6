#!/usr/bin/env node
'use strict';
// A carrier SMSC for Textbird's SMPP client tests, built on the npm `smpp` module's server.
// Flags: see README.md. Events: one JSON object per line on stdout. Control: JSON lines on stdin.

const c = require('./common');
const { smpp, emit } = c;

const opts = c.parseArgs(process.argv.slice(2), {
  port: '0',
  host: '127.0.0.1',
  'system-id': 'textbird',
  password: 'secret',
  ids: 'hex',
  throttle: '0',
  'queue-full': '0',
  'reject-status': null,
  'drop-after': '0',
  dlr: 'tlv',
  'dlr-stat': 'DELIVRD',
  'dlr-delay-ms': '50',
  'resp-delay-ms': '0',
});

const STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
const dlrStat = String(opts['dlr-stat']).toUpperCase();
if (!(dlrStat in STATES)) throw new Error(`unknown --dlr-stat ${dlrStat}`);
if (!['none', 'tlv', 'text-only', 'before-resp'].includes(opts.dlr)) throw new Error(`unknown --dlr ${opts.dlr}`);
if (!['hex', 'decimal'].includes(opts.ids)) throw new Error(`unknown --ids ${opts.ids}`);

let throttleLeft = Number(opts.throttle);
let queueFullLeft = Number(opts['queue-full']);
const rejectStatus = opts['reject-status'] === null ? null : Number(opts['reject-status']);
const dropAfter = Number(opts['drop-after']);
const respDelay = Number(opts['resp-delay-ms']);
const dlrDelay = Number(opts['dlr-delay-ms']);
let dropped = false;
let submits = 0;
/** {pid, receipts, answered}: SIGKILL `pid` the moment the receipts-th receipt is answered 0. */
let killAfter = null;
let nextSession = 1;
// Ids start at a random point so two SMSC processes in one test never hand out the same id.
let nextId = 0x10000000 + Math.floor(Math.random() * 0x3fffffff);

/** Bound sessions: { session, id, command, system_id }. */
const bound = [];
/** deliver_sm option objects waiting for a receiver bind. */
const pendingToReceiver = [];

const canReceive = (b) => b.command === 'bind_transceiver' || b.command === 'bind_receiver';

function newMessageId() {
  const n = nextId++;
  return opts.ids === 'hex' ? n.toString(16) : String(n);
}

/** The id as the receipt text writes it: the other base for text-only receipts. */
function textId(id) {
  if (opts.dlr !== 'text-only') return id;
  return opts.ids === 'hex' ? String(parseInt(id, 16)) : Number(id).toString(16).toUpperCase();
}

function stamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

function receiverFor(preferred) {
  if (preferred && !preferred.dead && canReceive(preferred)) return preferred;
  return bound.find((b) => !b.dead && canReceive(b));
}

function sendDeliver(fields, preferred, what) {
  const target = receiverFor(preferred);
  if (!target) {
    pendingToReceiver.push({ fields, what });
    emit('deliver_queued', { what, waiting: pendingToReceiver.length });
    return;
  }
  target.session.deliver_sm(Object.assign({}, fields), (resp) => {
    if (killAfter && what.startsWith('receipt') && resp.command_status === 0 && ++killAfter.answered === killAfter.receipts) {
      // As close to the last answer as it gets: before this process even reports it.
      process.kill(killAfter.pid, 'SIGKILL');
      emit('killed', { pid: killAfter.pid, after: killAfter.answered });
    }
    emit('deliver_sm_resp', { session: target.id, seq: resp.sequence_number, command_status: resp.command_status, what });
  });
  emit('deliver_sm', {
    session: target.id,
    what,
    esm_class: fields.esm_class,
    data_coding: fields.data_coding,
    short_message: c.hex(fields.short_message),
    receipted_message_id: fields.receipted_message_id || null,
  });
}

function flushPending() {
  while (pendingToReceiver.length && receiverFor(null)) {
    const p = pendingToReceiver.shift();
    sendDeliver(p.fields, null, p.what);
  }
}

function receiptFor(pdu, id, submittedText) {
  const now = new Date();
  const delivered = dlrStat === 'DELIVRD';
  const text =
    `id:${textId(id)} sub:001 dlvrd:${delivered ? '001' : '000'} submit date:${stamp(now)} ` +
    `done date:${stamp(now)} stat:${dlrStat} err:${delivered ? '000' : '001'} ` +
    `text:${(submittedText || '').replace(/[^\x20-\x7e]/g, '.').slice(0, 20)}`;
  const fields = {
    source_addr_ton: pdu.dest_addr_ton,
    source_addr_npi: pdu.dest_addr_npi,
    source_addr: pdu.destination_addr,
    dest_addr_ton: pdu.source_addr_ton,
    dest_addr_npi: pdu.source_addr_npi,
    destination_addr: pdu.source_addr,
    esm_class: 0x04,
    data_coding: 0,
    short_message: Buffer.from(text, 'ascii'),
  };
  if (opts.dlr !== 'text-only') {
    fields.receipted_message_id = id;
    fields.message_state = STATES[dlrStat];
  }
  return fields;
}

function wantsReceipt(pdu) {
  const rd = pdu.registered_delivery & 0x03;
  return opts.dlr !== 'none' && (rd === 1 || (rd === 2 && dlrStat !== 'DELIVRD'));
}

function onSubmit(b, pdu) {
  submits++;
  const { data } = c.splitUdh(pdu.raw_short_message, pdu.esm_class);
  const payload = pdu.raw_message_payload;
  const text = c.decodeText(payload && payload.length ? payload : data, pdu.data_coding);
  const event = {
    session: b.id,
    n: submits,
    seq: pdu.sequence_number,
    source_addr: pdu.source_addr,
    source_addr_ton: pdu.source_addr_ton,
    source_addr_npi: pdu.source_addr_npi,
    destination_addr: pdu.destination_addr,
    dest_addr_ton: pdu.dest_addr_ton,
    dest_addr_npi: pdu.dest_addr_npi,
    esm_class: pdu.esm_class,
    data_coding: pdu.data_coding,
    registered_delivery: pdu.registered_delivery,
    short_message: c.hex(pdu.raw_short_message) || '',
    sar_msg_ref_num: pdu.sar_msg_ref_num === undefined ? null : pdu.sar_msg_ref_num,
    sar_total_segments: pdu.sar_total_segments === undefined ? null : pdu.sar_total_segments,
    sar_segment_seqnum: pdu.sar_segment_seqnum === undefined ? null : pdu.sar_segment_seqnum,
    message_payload: payload ? c.hex(payload) : null,
    text,
    outstanding: b.outstanding + 1,
  };

  if (!dropped && dropAfter > 0 && submits === dropAfter) {
    dropped = true;
    emit('submit', Object.assign(event, { command_status: null, message_id: null }));
    emit('dropping', { session: b.id });
    b.dead = true;
    b.session.destroy();
    return;
  }

  let status = 0;
  if (rejectStatus !== null) {
    status = rejectStatus;
  } else if (throttleLeft > 0) {
    throttleLeft--;
    status = 0x58;
  } else if (queueFullLeft > 0) {
    queueFullLeft--;
    status = 0x14;
  }
  const id = status === 0 ? newMessageId() : null;
  emit('submit', Object.assign(event, { command_status: status, message_id: id }));

  const receipt = status === 0 && wantsReceipt(pdu) ? receiptFor(pdu, id, text) : null;
  b.outstanding++;
  const respond = () => {
    b.outstanding--;
    if (b.dead) return;
    b.session.send(pdu.response(status === 0 ? { message_id: id } : { command_status: status }));
    if (receipt && opts.dlr !== 'before-resp') {
      setTimeout(() => sendDeliver(receipt, b, `receipt ${id}`), dlrDelay);
    }
  };
  if (receipt && opts.dlr === 'before-resp') {
    sendDeliver(receipt, b, `receipt ${id}`);
    // Give the receipt a clear head start over the response.
    setTimeout(respond, Math.max(respDelay, 300));
  } else if (respDelay > 0) {
    setTimeout(respond, respDelay);
  } else {
    respond();
  }
}

const server = smpp.createServer((session) => {
  const b = { session, id: nextSession++, command: null, system_id: null, dead: false, outstanding: 0 };
  const remote = session.socket.remotePort;
  emit('connect', { session: b.id, remote_port: remote });

  const onBind = (command) => (pdu) => {
    const ok = pdu.system_id === opts['system-id'] && pdu.password === opts.password;
    emit('bind', {
      session: b.id,
      command,
      system_id: pdu.system_id,
      password_length: (pdu.password || '').length,
      ok,
      already_bound: !!b.command,
    });
    if (!ok) {
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      setTimeout(() => session.close(), 100);
      return;
    }
    if (b.command) {
      session.send(pdu.response({ command_status: smpp.ESME_RALYBND }));
      return;
    }
    b.command = command;
    b.system_id = pdu.system_id;
    bound.push(b);
    session.send(pdu.response({ system_id: 'node-smsc' }));
    flushPending();
  };
  for (const command of ['bind_transceiver', 'bind_transmitter', 'bind_receiver']) {
    session.on(command, onBind(command));
  }

  session.on('pdu', (pdu) => {
    if (b.dead) return;
    switch (pdu.command) {
      case 'submit_sm':
        if (!b.command || b.command === 'bind_receiver') {
          emit('submit_unbound', { session: b.id, seq: pdu.sequence_number });
          session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
          return;
        }
        onSubmit(b, pdu);
        break;
      case 'enquire_link':
        emit('enquire_link', { session: b.id, seq: pdu.sequence_number });
        session.send(pdu.response());
        break;
      case 'unbind':
        emit('unbind', { session: b.id, seq: pdu.sequence_number });
        session.send(pdu.response(), () => session.close());
        break;
      case 'unbind_resp':
        emit('unbind_resp', { session: b.id });
        session.close();
        break;
      case 'generic_nack':
        emit('generic_nack', { session: b.id, seq: pdu.sequence_number, command_status: pdu.command_status });
        break;
      case 'enquire_link_resp':
      case 'deliver_sm_resp':
      case 'bind_transceiver':
      case 'bind_transmitter':
      case 'bind_receiver':
        break;
      case 'unknown':
        emit('unknown', { session: b.id, command_id: pdu.command_id, seq: pdu.sequence_number });
        session.send(pdu.response());
        break;
      default:
        emit('other', { session: b.id, command: pdu.command, seq: pdu.sequence_number });
        if (!pdu.isResponse()) session.send(pdu.response({ command_status: smpp.ESME_RINVCMDID }));
    }
  });

  session.on('error', (e) => emit('session_error', { session: b.id, message: e.message }));
  session.on('close', () => {
    b.dead = true;
    const i = bound.indexOf(b);
    if (i >= 0) bound.splice(i, 1);
    emit('close', { session: b.id, system_id: b.system_id });
  });
});

server.on('error', (e) => {
  emit('error', { message: e.message });
  process.exit(1);
});

server.listen(Number(opts.port), opts.host, () => {
  emit('listening', { port: server.address().port });
});

function mo(cmd) {
  const text = String(cmd.text || '');
  const dc = c.pickCoding(text, cmd.data_coding);
  let parts = c.layout(text, dc, cmd.parts || null, cmd.ref);
  if (cmd.shuffle) parts = c.shuffle(parts);
  const from = c.address(String(cmd.from || '+46701234567'));
  const to = c.address(String(cmd.to || '+31687654321'));
  for (const p of parts) {
    const fields = Object.assign(
      {
        source_addr_ton: from.ton,
        source_addr_npi: from.npi,
        source_addr: from.addr,
        dest_addr_ton: to.ton,
        dest_addr_npi: to.npi,
        destination_addr: to.addr,
        data_coding: dc,
      },
      p,
    );
    const what = p.sar_segment_seqnum
      ? `mo sar ${p.sar_segment_seqnum}/${p.sar_total_segments}`
      : p.esm_class & 0x40
        ? `mo udh ${p.short_message[5]}/${p.short_message[4]}`
        : 'mo';
    sendDeliver(fields, null, what);
  }
}

function receipt(cmd) {
  // A hand-made receipt: {"cmd":"receipt","id":"...","stat":"ENROUTE","tlv":true,"from":..,"to":..}
  const stat = String(cmd.stat || 'DELIVRD').toUpperCase();
  const now = stamp(new Date());
  const text = `id:${cmd.id} sub:001 dlvrd:000 submit date:${now} done date:${now} stat:${stat} err:000 text:`;
  const from = c.address(String(cmd.from || '+31612345678'));
  const to = c.address(String(cmd.to || 'Textbird'));
  const fields = {
    source_addr_ton: from.ton,
    source_addr_npi: from.npi,
    source_addr: from.addr,
    dest_addr_ton: to.ton,
    dest_addr_npi: to.npi,
    destination_addr: to.addr,
    esm_class: 0x04,
    data_coding: 0,
    short_message: Buffer.from(text, 'ascii'),
  };
  if (cmd.tlv !== false) {
    fields.receipted_message_id = String(cmd.id);
    fields.message_state = STATES[stat] || 7;
  }
  sendDeliver(fields, null, `receipt ${cmd.id}`);
}

c.onCommands((cmd) => {
  switch (cmd.cmd) {
    case 'mo':
      mo(cmd);
      break;
    case 'receipt':
      receipt(cmd);
      break;
    case 'kill_after':
      killAfter = { pid: Number(cmd.pid), receipts: Number(cmd.receipts), answered: 0 };
      break;
    case 'drop': {
      const live = bound.slice();
      for (const session of server.sessions.slice()) session.destroy();
      emit('dropped', { count: live.length });
      break;
    }
    case 'unbind':
      for (const b of bound.slice()) b.session.unbind();
      break;
    default:
      emit('error', { message: `unknown command ${cmd.cmd}` });
  }
});

c.exitOnSignals(() => {
  server.close();
  for (const session of server.sessions.slice()) session.destroy();
});
