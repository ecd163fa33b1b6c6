#!/usr/bin/env node
'use strict';
// A customer ESME for Textbird's SMPP server tests, built on the npm `smpp` module's client.
// Flags: see README.md. Actions: JSON lines on stdin. Events: one JSON object per line on stdout.

const c = require('./common');
const { smpp, emit } = c;

const opts = c.parseArgs(process.argv.slice(2), {
  host: '127.0.0.1',
  port: '2775',
  'system-id': 'textbird',
  password: 'secret',
  'system-type': '',
  bind: 'transceiver',
  'deliver-status': '0',
});
if (!['transceiver', 'transmitter', 'receiver'].includes(opts.bind)) throw new Error(`unknown --bind ${opts.bind}`);

// --local-address: the address to connect from (any of 127.0.0.0/8 on loopback), so a test
// can be several clients.
const session = smpp.connect({ host: opts.host, port: Number(opts.port), localAddress: opts['local-address'] || undefined });
let bound = false;
let bindAnswered = false;
let closed = false;
/** Commands read before the bind answered wait here (unless --no-bind). */
const waiting = [];

function bind(kind) {
  const command = `bind_${kind || opts.bind}`;
  session[command](
    { system_id: opts['system-id'], password: opts.password, system_type: opts['system-type'] },
    (pdu) => {
      bound = bound || pdu.command_status === 0;
      bindAnswered = true;
      emit('bind_resp', { command: pdu.command, command_status: pdu.command_status, system_id: pdu.system_id || null });
      while (waiting.length) run(waiting.shift());
    },
  );
}

session.on('connect', () => {
  emit('connect', {});
  if (!opts['no-bind']) bind();
});

function submitFields(cmd) {
  const text = String(cmd.text === undefined ? 'Hello from esme.js' : cmd.text);
  const from = c.address(String(cmd.from || 'Acme'));
  const to = c.address(String(cmd.to || '+31612345678'));
  const dc = c.pickCoding(text, cmd.data_coding);
  return {
    text,
    dc,
    base: {
      source_addr_ton: cmd.source_addr_ton === undefined ? from.ton : cmd.source_addr_ton,
      source_addr_npi: cmd.source_addr_npi === undefined ? from.npi : cmd.source_addr_npi,
      source_addr: from.addr,
      dest_addr_ton: cmd.dest_addr_ton === undefined ? to.ton : cmd.dest_addr_ton,
      dest_addr_npi: cmd.dest_addr_npi === undefined ? to.npi : cmd.dest_addr_npi,
      destination_addr: to.addr,
      registered_delivery: cmd.registered_delivery === undefined ? 0 : cmd.registered_delivery,
      schedule_delivery_time: cmd.schedule_delivery_time || '',
      validity_period: cmd.validity_period || '',
      data_coding: dc,
    },
  };
}

function submitParts(cmd, parts) {
  const { text, dc, base } = submitFields(cmd);
  const laid = c.layout(text, dc, parts, cmd.ref);
  laid.forEach((p, i) => {
    const sent = session.submit_sm(Object.assign({}, base, p), (resp) => {
      emit('submit_sm_resp', {
        tag: cmd.tag === undefined ? null : cmd.tag,
        part: i + 1,
        parts: laid.length,
        seq: resp.sequence_number,
        command_status: resp.command_status,
        message_id: resp.message_id === undefined ? null : resp.message_id,
      });
    });
    emit('submit_sm', {
      tag: cmd.tag === undefined ? null : cmd.tag,
      part: i + 1,
      parts: laid.length,
      sent,
      data_coding: dc,
      esm_class: p.esm_class,
      short_message: c.hex(p.short_message),
    });
  });
}

function dataSm(cmd) {
  const { text, dc, base } = submitFields(cmd);
  delete base.registered_delivery;
  const fields = Object.assign(base, {
    esm_class: 0,
    registered_delivery: cmd.registered_delivery || 0,
    message_payload: c.encodeText(text, dc),
  });
  session.data_sm(fields, (resp) => {
    emit('data_sm_resp', {
      tag: cmd.tag === undefined ? null : cmd.tag,
      seq: resp.sequence_number,
      command_status: resp.command_status,
      message_id: resp.message_id === undefined ? null : resp.message_id,
    });
  });
}

function run(cmd) {
  switch (cmd.cmd) {
    case 'bind':
      bind(cmd.bind);
      break;
    case 'submit':
      submitParts(cmd, null);
      break;
    case 'submit_long':
      submitParts(cmd, cmd.parts || 'udh');
      break;
    case 'data_sm':
      dataSm(cmd);
      break;
    case 'query': {
      const from = c.address(String(cmd.from || 'Acme'));
      session.query_sm(
        { message_id: String(cmd.message_id), source_addr_ton: from.ton, source_addr_npi: from.npi, source_addr: from.addr },
        (resp) =>
          emit('query_sm_resp', {
            tag: cmd.tag === undefined ? null : cmd.tag,
            command_status: resp.command_status,
            message_id: resp.message_id === undefined ? null : resp.message_id,
            final_date: resp.final_date instanceof Date ? resp.final_date.toISOString() : resp.final_date || '',
            message_state: resp.message_state === undefined ? null : resp.message_state,
            error_code: resp.error_code === undefined ? null : resp.error_code,
          }),
      );
      break;
    }
    case 'cancel': {
      const from = c.address(String(cmd.from || 'Acme'));
      // An empty `to` cancels every destination of a submit_multi.
      const to = c.address(cmd.to === undefined ? '+31612345678' : String(cmd.to));
      session.cancel_sm(
        {
          message_id: String(cmd.message_id),
          source_addr_ton: from.ton, source_addr_npi: from.npi, source_addr: from.addr,
          dest_addr_ton: to.ton, dest_addr_npi: to.npi, destination_addr: to.addr,
        },
        (resp) => emit('cancel_sm_resp', { tag: cmd.tag === undefined ? null : cmd.tag, command_status: resp.command_status }),
      );
      break;
    }
    case 'multi': {
      // submit_multi to `dests`: numbers, or {"dl_name": ...} for a distribution list.
      const { text, dc, base } = submitFields(cmd);
      const dests = (cmd.dests || []).map((d) => {
        if (typeof d === 'object') return { dl_name: String(d.dl_name) };
        const a = c.address(String(d));
        return { dest_addr_ton: a.ton, dest_addr_npi: a.npi, destination_addr: a.addr };
      });
      session.submit_multi(
        {
          source_addr_ton: base.source_addr_ton, source_addr_npi: base.source_addr_npi, source_addr: base.source_addr,
          dest_address: dests,
          registered_delivery: base.registered_delivery,
          schedule_delivery_time: base.schedule_delivery_time,
          validity_period: base.validity_period,
          data_coding: dc,
          short_message: c.encodeText(text, dc),
        },
        (resp) =>
          emit('submit_multi_resp', {
            tag: cmd.tag === undefined ? null : cmd.tag,
            command_status: resp.command_status,
            message_id: resp.message_id === undefined ? null : resp.message_id,
            unsuccess: resp.unsuccess_sme || [],
          }),
      );
      break;
    }
    case 'replace': {
      // replace_sm: the new text is sent in the alphabet `data_coding` names (default: GSM,
      // or UCS-2 when the text needs it), which must be the message's own.
      const from = c.address(String(cmd.from || 'Acme'));
      const text = cmd.text === undefined ? '' : String(cmd.text);
      session.replace_sm(
        {
          message_id: String(cmd.message_id),
          source_addr_ton: from.ton, source_addr_npi: from.npi, source_addr: from.addr,
          schedule_delivery_time: cmd.schedule_delivery_time || '',
          validity_period: cmd.validity_period || '',
          registered_delivery: cmd.registered_delivery || 0,
          short_message: c.encodeText(text, c.pickCoding(text, cmd.data_coding)),
        },
        (resp) => emit('replace_sm_resp', { tag: cmd.tag === undefined ? null : cmd.tag, command_status: resp.command_status }),
      );
      break;
    }
    case 'enquire_link':
      session.enquire_link({}, (resp) =>
        emit('enquire_link_resp', { seq: resp.sequence_number, command_status: resp.command_status }),
      );
      break;
    case 'raw': {
      const bytes = Buffer.from(String(cmd.hex).replace(/\s+/g, ''), 'hex');
      session.socket.write(bytes);
      emit('raw_sent', { bytes: bytes.length });
      break;
    }
    case 'unbind':
      session.unbind({}, (resp) => {
        emit('unbind_resp', { command_status: resp.command_status });
        session.close();
      });
      break;
    case 'close':
      session.close();
      break;
    default:
      emit('error', { message: `unknown command ${cmd.cmd}` });
  }
}

session.on('pdu', (pdu) => {
  // Answers to raw bytes have no callback waiting for them: report them as they come.
  if (pdu.isResponse() && !session._callbacks[pdu.sequence_number]) {
    emit(pdu.command, { seq: pdu.sequence_number, command_status: pdu.command_status, unsolicited: true });
  }
});

session.on('deliver_sm', (pdu) => {
  const { udh, data } = c.splitUdh(pdu.raw_short_message, pdu.esm_class);
  const payload = pdu.raw_message_payload;
  emit('deliver_sm', {
    seq: pdu.sequence_number,
    esm_class: pdu.esm_class,
    data_coding: pdu.data_coding,
    source_addr: pdu.source_addr,
    source_addr_ton: pdu.source_addr_ton,
    source_addr_npi: pdu.source_addr_npi,
    destination_addr: pdu.destination_addr,
    dest_addr_ton: pdu.dest_addr_ton,
    dest_addr_npi: pdu.dest_addr_npi,
    short_message: c.decodeText(data, pdu.data_coding),
    short_message_hex: c.hex(pdu.raw_short_message) || '',
    udh: udh ? c.hex(udh) : null,
    message_payload: payload ? c.decodeText(payload, pdu.data_coding) : null,
    receipted_message_id: pdu.receipted_message_id === undefined ? null : pdu.receipted_message_id,
    message_state: pdu.message_state === undefined ? null : pdu.message_state,
    sar_msg_ref_num: pdu.sar_msg_ref_num === undefined ? null : pdu.sar_msg_ref_num,
    sar_total_segments: pdu.sar_total_segments === undefined ? null : pdu.sar_total_segments,
    sar_segment_seqnum: pdu.sar_segment_seqnum === undefined ? null : pdu.sar_segment_seqnum,
  });
  const status = Number(opts['deliver-status']);
  session.send(pdu.response(status ? { command_status: status } : { message_id: '' }));
});

session.on('enquire_link', (pdu) => {
  emit('enquire_link', { seq: pdu.sequence_number });
  session.send(pdu.response());
});

session.on('unbind', (pdu) => {
  emit('unbind', { seq: pdu.sequence_number });
  session.send(pdu.response(), () => session.close());
});

session.on('error', (e) => emit('session_error', { message: e.message }));

session.on('close', () => {
  if (closed) return;
  closed = true;
  emit('close', { bound });
});

c.onCommands((cmd) => {
  if (!bindAnswered && !opts['no-bind'] && cmd.cmd !== 'close') {
    waiting.push(cmd);
  } else {
    run(cmd);
  }
});

c.exitOnSignals(() => {
  if (!closed && bound) session.unbind();
  setTimeout(() => session.destroy(), 100);
});
