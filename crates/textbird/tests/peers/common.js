'use strict';
// Shared by smsc.js and esme.js: flags, JSON-line events, text <-> SMPP octets, splitting.

const readline = require('readline');
const smpp = require('smpp');

// The npm `smpp` module decodes short_message / message_payload in place (into
// {udh, message}) while parsing; keep the octets as they came off the wire.
const originalFilter = smpp.PDU.prototype._filter;
smpp.PDU.prototype._filter = function (func) {
  if (func === 'decode') {
    if (Buffer.isBuffer(this.short_message)) this.raw_short_message = Buffer.from(this.short_message);
    if (Buffer.isBuffer(this.message_payload)) this.raw_message_payload = Buffer.from(this.message_payload);
  }
  return originalFilter.call(this, func);
};

/** `--key value` and bare `--flag` arguments; keys keep their dashes (`system-id`). */
function parseArgs(argv, defaults) {
  const out = Object.assign({}, defaults);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      out[a.slice(2, eq)] = a.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      out[a.slice(2)] = argv[++i];
    } else {
      out[a.slice(2)] = true;
    }
  }
  return out;
}

/** Prints one event as a JSON line on stdout. */
function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event, t: Date.now() }, fields || {})) + '\n');
}

/** Calls `handler` with each JSON object read from stdin, one per line. When stdin ends (the
 *  test that drives the peer is gone), the peer stops 2 s later, as on SIGTERM. */
function onCommands(handler) {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on('close', () => setTimeout(() => process.kill(process.pid, 'SIGTERM'), 2000).unref());
  rl.on('line', (line) => {
    line = line.trim();
    if (!line) return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      emit('error', { message: `bad command line: ${e.message}`, line });
      return;
    }
    try {
      handler(cmd);
    } catch (e) {
      emit('error', { message: `command ${cmd.cmd} failed: ${e.message}` });
    }
  });
  return rl;
}

function exitOnSignals(cleanup) {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    try {
      cleanup();
    } catch (e) {
      // exiting anyway
    }
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const hex = (buf) => (buf ? Buffer.from(buf).toString('hex') : null);

function isGsm(text) {
  return smpp.gsmCoder.GSM.charRegex.test(text);
}

/** Text to octets for a data_coding: 0 = GSM 03.38 one septet per octet, 8 = UCS-2 BE. */
function encodeText(text, dataCoding) {
  switch (dataCoding) {
    case 0:
      return smpp.gsmCoder.encode(text, 0);
    case 1:
      return Buffer.from(text, 'ascii');
    case 3:
      return Buffer.from(text, 'latin1');
    case 8:
      return Buffer.from(text, 'utf16le').swap16();
    default:
      throw new Error(`unsupported data_coding ${dataCoding}`);
  }
}

function decodeText(buf, dataCoding) {
  if (!buf) return null;
  switch (dataCoding & 0x0f) {
    case 0:
      return smpp.gsmCoder.decode(buf, 0);
    case 1:
      return buf.toString('ascii');
    case 3:
      return buf.toString('latin1');
    case 8: {
      const even = Buffer.from(buf.subarray(0, buf.length - (buf.length % 2)));
      return even.swap16().toString('utf16le');
    }
    default:
      return buf.toString('latin1');
  }
}

/** The user data of a short_message, without its UDH when esm_class has UDHI. */
function splitUdh(buf, esmClass) {
  if (!buf || !buf.length || !(esmClass & 0x40)) return { udh: null, data: buf };
  const len = buf[0] + 1;
  return { udh: buf.subarray(0, len), data: buf.subarray(len) };
}

/** Cuts encoded text into chunks of at most `size` octets, never after a lone GSM escape
 *  or a UCS-2 high surrogate. */
function chunk(encoded, size, dataCoding) {
  const out = [];
  let i = 0;
  while (i < encoded.length) {
    let end = Math.min(i + size, encoded.length);
    if (end < encoded.length) {
      if (dataCoding === 8) {
        end -= (end - i) % 2;
        const hi = encoded.readUInt16BE(end - 2);
        if (hi >= 0xd800 && hi <= 0xdbff) end -= 2;
      } else if (dataCoding === 0 && encoded[end - 1] === 0x1b) {
        end -= 1;
      }
    }
    out.push(encoded.subarray(i, end));
    i = end;
  }
  return out;
}

/** The encoding a peer picks for `text` when none is given: GSM when it can, else UCS-2. */
function pickCoding(text, given) {
  if (given !== undefined && given !== null) return Number(given);
  return isGsm(text) ? 0 : 8;
}

/** Splits `text` into the PDUs fields for `parts` = "udh" | "sar" | "payload" | null. Returns a
 *  list of partial PDU option objects (short_message, esm_class, TLVs). */
function layout(text, dataCoding, parts, ref) {
  const encoded = encodeText(text, dataCoding);
  const single = dataCoding === 8 || dataCoding === 3 ? 140 : 160;
  if (parts === 'payload') {
    return [{ short_message: Buffer.alloc(0), message_payload: encoded, esm_class: 0 }];
  }
  if (!parts || encoded.length <= single) {
    if (encoded.length > 254) return [{ short_message: Buffer.alloc(0), message_payload: encoded, esm_class: 0 }];
    return [{ short_message: encoded, esm_class: 0 }];
  }
  if (parts === 'udh') {
    const size = dataCoding === 0 ? 153 : 134;
    const chunks = chunk(encoded, size, dataCoding);
    const r = (ref === undefined ? Math.floor(Math.random() * 256) : ref) & 0xff;
    return chunks.map((c, i) => ({
      short_message: Buffer.concat([Buffer.from([5, 0, 3, r, chunks.length, i + 1]), c]),
      esm_class: 0x40,
    }));
  }
  if (parts === 'sar') {
    const size = dataCoding === 0 ? 153 : 134;
    const chunks = chunk(encoded, size, dataCoding);
    const r = (ref === undefined ? 1 + Math.floor(Math.random() * 65534) : ref) & 0xffff;
    return chunks.map((c, i) => ({
      short_message: c,
      esm_class: 0,
      sar_msg_ref_num: r,
      sar_total_segments: chunks.length,
      sar_segment_seqnum: i + 1,
    }));
  }
  throw new Error(`unknown parts ${parts}`);
}

/** TON/NPI and digits of an address: "+316..." or digits → international ISDN; else alphanumeric. */
function address(addr) {
  if (/^\+?[0-9]+$/.test(addr)) return { ton: 1, npi: 1, addr: addr.replace(/^\+/, '') };
  return { ton: 5, npi: 0, addr };
}

function shuffle(list) {
  const a = list.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  if (a.length > 1 && a.every((x, i) => x === list[i])) a.reverse();
  return a;
}

module.exports = {
  smpp,
  parseArgs,
  emit,
  onCommands,
  exitOnSignals,
  hex,
  encodeText,
  decodeText,
  splitUdh,
  layout,
  pickCoding,
  address,
  shuffle,
};
