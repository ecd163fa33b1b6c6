#!/usr/bin/env python3
"""A customer ESME for Textbird's SMPP server tests, built on PyPI `smpplib`.

Binds as a transceiver, then runs JSON commands read from stdin:
  {"cmd": "submit", "to": "+31612345678", "from": "Acme", "text": "...", "registered_delivery": 1}
  {"cmd": "submit_long", ...}   (split by smpplib.gsm.make_parts: UDH parts)
  {"cmd": "unbind"}
and prints one JSON object per line for every event: bind_resp, submit_sm, submit_sm_resp,
deliver_sm (answered with deliver_sm_resp), close. Exits on SIGTERM or when the link closes.
"""

import argparse
import json
import queue
import select
import signal
import sys
import threading
import time

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, "t": int(time.time() * 1000), **fields}) + "\n")
    sys.stdout.flush()


def text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


def gsm_decode(data):
    table, out, escape = smpplib.gsm.GSM_CHARACTER_TABLE, [], False
    for b in data:
        if b == 0x1B and not escape:
            escape = True
            continue
        out.append(table[b + 0x80] if escape and b + 0x80 < len(table) else table[b] if b < 0x80 else "?")
        escape = False
    return "".join(out)


def decode(data, data_coding):
    if data is None:
        return None
    if data_coding == 8:
        return data.decode("utf-16-be", errors="replace")
    if data_coding == 0:
        return gsm_decode(data)
    return data.decode("latin-1")


def address(addr):
    digits = addr.lstrip("+")
    if digits.isdigit():
        return smpplib.consts.SMPP_TON_INTL, smpplib.consts.SMPP_NPI_ISDN, digits
    return smpplib.consts.SMPP_TON_ALNUM, smpplib.consts.SMPP_NPI_UNK, addr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2775)
    ap.add_argument("--system-id", default="textbird")
    ap.add_argument("--password", default="secret")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    client = smpplib.client.Client(args.host, args.port, timeout=10, allow_unknown_opt_params=True)
    tags = {}

    def on_sent(pdu, **_):
        emit("submit_sm_resp", seq=pdu.sequence, command_status=pdu.status,
             message_id=text(pdu.message_id), **tags.pop(pdu.sequence, {}))

    def on_received(pdu, **_):
        data = pdu.short_message or b""
        udh = None
        if pdu.esm_class & smpplib.consts.SMPP_GSMFEAT_UDHI and data:
            udh, data = data[: data[0] + 1], data[data[0] + 1:]
        emit("deliver_sm", seq=pdu.sequence, esm_class=pdu.esm_class, data_coding=pdu.data_coding,
             source_addr=text(pdu.source_addr), destination_addr=text(pdu.destination_addr),
             short_message=decode(data, pdu.data_coding), udh=udh.hex() if udh else None,
             receipted_message_id=text(pdu.receipted_message_id), message_state=pdu.message_state)
        return 0

    def on_error(pdu):
        if pdu.command != "submit_sm_resp":  # those go to on_sent as well
            emit(pdu.command, seq=pdu.sequence, command_status=pdu.status)

    client.set_message_sent_handler(on_sent)
    client.set_message_received_handler(on_received)
    client.set_error_pdu_handler(on_error)

    try:
        client.connect()
        resp = client.bind_transceiver(system_id=args.system_id, password=args.password)
        emit("bind_resp", command_status=resp.status, system_id=text(resp.system_id))
    except smpplib.exceptions.PDUError as e:
        emit("bind_resp", command_status=e.args[1] if len(e.args) > 1 else -1)
        client.disconnect()
        emit("close", bound=False)
        return
    except smpplib.exceptions.ConnectionError as e:
        client.disconnect()
        emit("close", bound=False, error=str(e))
        return

    def submit(cmd, long):
        src_ton, src_npi, src = address(cmd.get("from", "Acme"))
        dst_ton, dst_npi, dst = address(cmd.get("to", "+31612345678"))
        body = cmd.get("text", "Hello from esme.py")
        if long:
            parts, coding, esm_class = smpplib.gsm.make_parts(body)
        else:
            try:
                parts, coding = [smpplib.gsm.gsm_encode(body)], smpplib.consts.SMPP_ENCODING_DEFAULT
            except UnicodeError:
                parts, coding = [body.encode("utf-16-be")], smpplib.consts.SMPP_ENCODING_ISO10646
            esm_class = smpplib.consts.SMPP_MSGTYPE_DEFAULT
        for i, part in enumerate(parts, start=1):
            pdu = client.send_message(
                source_addr_ton=src_ton, source_addr_npi=src_npi, source_addr=src,
                dest_addr_ton=dst_ton, dest_addr_npi=dst_npi, destination_addr=dst,
                short_message=part, data_coding=coding, esm_class=esm_class,
                registered_delivery=cmd.get("registered_delivery", 0))
            tags[pdu.sequence] = {"tag": cmd.get("tag"), "part": i, "parts": len(parts)}
            emit("submit_sm", seq=pdu.sequence, part=i, parts=len(parts), esm_class=esm_class,
                 data_coding=coding, short_message=part.hex())

    commands = queue.Queue()
    stdin_ended = []

    def read_stdin():
        for line in sys.stdin:
            if line.strip():
                commands.put(json.loads(line))
        stdin_ended.append(time.time())  # the driving test is gone: stop 2 s later

    threading.Thread(target=read_stdin, daemon=True).start()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    try:
        while not stopping and not (stdin_ended and time.time() > stdin_ended[0] + 2):
            while not commands.empty():
                cmd = commands.get()
                if cmd["cmd"] in ("submit", "submit_long"):
                    submit(cmd, cmd["cmd"] == "submit_long")
                elif cmd["cmd"] == "unbind":
                    client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
                else:
                    emit("error", message="unknown command %s" % cmd["cmd"])
            readable, _, _ = select.select([client._socket], [], [], 0.05)
            if readable:
                client.read_once()
                if client.state == smpplib.consts.SMPP_CLIENT_STATE_OPEN:  # unbind_resp arrived
                    emit("unbind_resp", command_status=0)
                    break
        else:
            client.unbind()
    except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as e:
        client.disconnect()
        emit("close", bound=True, error=str(e) or type(e).__name__)
        return
    client.disconnect()
    emit("close", bound=True)


if __name__ == "__main__":
    main()
