//! PDU framing: a PDU is its 4-octet big-endian `command_length` followed by that many octets
//! minus four. The length is checked against a hard limit before anything is allocated, so a
//! peer announcing 2^31 octets is refused, not obeyed.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// `command_length`, `command_id`, `command_status`, `sequence_number`.
pub const HEADER_LEN: usize = 16;
/// Larger than any legal PDU (a `message_payload` TLV holds at most 64 KiB).
pub const DEFAULT_MAX_PDU: usize = 70_000;

/// One PDU as it came off the wire: the header fields and the undecoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub command_id: u32,
    pub status: u32,
    pub sequence: u32,
    pub body: Bytes,
}

impl Frame {
    /// The whole PDU, length included.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER_LEN + self.body.len());
        self.write(&mut out);
        out.freeze()
    }

    fn write(&self, out: &mut BytesMut) {
        out.put_u32((HEADER_LEN + self.body.len()) as u32);
        out.put_u32(self.command_id);
        out.put_u32(self.status);
        out.put_u32(self.sequence);
        out.extend_from_slice(&self.body);
    }
}

/// Framing errors: after one of these the byte stream cannot be resynchronised, so the
/// session answers `generic_nack` (`ESME_RINVCMDLEN`) and closes.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("command_length {0} is shorter than the 16-octet header")]
    TooShort(u32),
    #[error("command_length {0} exceeds the limit of {1} octets")]
    TooLong(u32, usize),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Tokio codec for [`Frame`]s with a maximum PDU size.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    max: usize,
}

impl FrameCodec {
    pub fn new(max: usize) -> Self {
        Self { max: max.max(HEADER_LEN) }
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_PDU)
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let announced = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        let len = announced as usize;
        if len < HEADER_LEN {
            return Err(FrameError::TooShort(announced));
        }
        if len > self.max {
            return Err(FrameError::TooLong(announced, self.max));
        }
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        let mut pdu = src.split_to(len);
        pdu.advance(4);
        let command_id = pdu.get_u32();
        let status = pdu.get_u32();
        let sequence = pdu.get_u32();
        Ok(Some(Frame { command_id, status, sequence, body: pdu.freeze() }))
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        frame.write(dst);
        Ok(())
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, bytes: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(&bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf)? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn round_trip() {
        let f = Frame { command_id: 0x15, status: 0, sequence: 7, body: Bytes::from_static(b"ab") };
        let got = decode_all(&f.to_bytes()).unwrap();
        assert_eq!(got, vec![f]);
    }

    #[test]
    fn huge_length_is_refused_before_allocating() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0x15][..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::TooLong(0x7fff_ffff, _)), "{err}");
        assert!(buf.capacity() < 1024, "nothing was reserved for the announced length");
    }

    #[test]
    fn short_length_is_refused() {
        assert!(matches!(decode_all(&[0, 0, 0, 8, 0, 0, 0, 0]), Err(FrameError::TooShort(8))));
    }

    #[test]
    fn partial_input_waits() {
        let f = Frame { command_id: 0x15, status: 0, sequence: 1, body: Bytes::new() };
        let bytes = f.to_bytes();
        assert!(decode_all(&bytes[..10]).unwrap().is_empty());
    }
}
