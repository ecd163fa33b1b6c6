//! One SMPP connection's plumbing, the same for both sides: a writer task that batches
//! outgoing PDUs into few syscalls, sequence numbers, and requests waiting for their
//! responses. Reading and deciding what a PDU means is the caller's job.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::pdu::{self, Packet, Pdu, id};

/// PDUs queued for the writer before senders wait.
const WRITE_QUEUE: usize = 4096;

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("the connection closed")]
    Closed,
    #[error(transparent)]
    Encode(#[from] pdu::EncodeFailure),
}

/// The sending half of a connection.
pub struct Session {
    writer: mpsc::Sender<Bytes>,
    pending: Mutex<HashMap<u32, oneshot::Sender<Packet>>>,
    sequence: AtomicU32,
    closed: AtomicBool,
}

impl Session {
    /// Starts the writer task over `write`; the task ends when the session is dropped or a
    /// write fails.
    pub fn start<W>(write: W) -> (std::sync::Arc<Session>, JoinHandle<()>)
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let session = std::sync::Arc::new(Session {
            writer: tx,
            pending: Mutex::new(HashMap::new()),
            sequence: AtomicU32::new(0),
            closed: AtomicBool::new(false),
        });
        let task = tokio::spawn(write_loop(BufWriter::with_capacity(64 * 1024, write), rx));
        (session, task)
    }

    /// The next sequence number: 1 to 0x7FFFFFFF, then around again.
    pub fn next_sequence(&self) -> u32 {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        (n % 0x7FFF_FFFF) + 1
    }

    /// Sends a request and waits for the response with the same sequence number (or a
    /// `generic_nack` for it).
    pub async fn request(&self, pdu: &Pdu, timeout: Duration) -> Result<Packet, RequestError> {
        let sequence = self.next_sequence();
        let bytes = pdu::encode(pdu::status::OK, sequence, pdu)?;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("poisoned").insert(sequence, tx);
        if self.closed.load(Ordering::Acquire) || self.writer.send(bytes).await.is_err() {
            self.pending.lock().expect("poisoned").remove(&sequence);
            return Err(RequestError::Closed);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(packet)) => Ok(packet),
            Ok(Err(_)) => Err(RequestError::Closed),
            Err(_) => {
                self.pending.lock().expect("poisoned").remove(&sequence);
                Err(RequestError::Timeout(timeout))
            }
        }
    }

    /// Sends a response (or any PDU that expects none).
    pub async fn send(&self, status: u32, sequence: u32, pdu: &Pdu) -> Result<(), RequestError> {
        let bytes = pdu::encode(status, sequence, pdu)?;
        self.send_bytes(bytes).await
    }

    /// Sends an encoded PDU.
    pub async fn send_bytes(&self, bytes: Bytes) -> Result<(), RequestError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(RequestError::Closed);
        }
        self.writer.send(bytes).await.map_err(|_| RequestError::Closed)
    }

    /// Hands a response (or `generic_nack`) to the request waiting for it; `false` when
    /// nothing waits for that sequence number.
    pub fn complete(&self, packet: Packet) -> bool {
        let waiter = self.pending.lock().expect("poisoned").remove(&packet.sequence);
        match waiter {
            Some(tx) => tx.send(packet).is_ok(),
            None => false,
        }
    }

    /// Marks the session closed: waiting requests fail with [`RequestError::Closed`].
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.pending.lock().expect("poisoned").clear();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.writer.is_closed()
    }
}

/// Whether a packet answers a request (responses and `generic_nack`).
pub fn is_response(packet: &Packet) -> bool {
    packet.command_id & id::RESPONSE != 0
}

async fn write_loop<W: AsyncWrite + Unpin>(mut w: BufWriter<W>, mut rx: mpsc::Receiver<Bytes>) {
    while let Some(first) = rx.recv().await {
        if w.write_all(&first).await.is_err() {
            return;
        }
        // Everything already queued goes out in the same flush.
        while let Ok(more) = rx.try_recv() {
            if w.write_all(&more).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}
