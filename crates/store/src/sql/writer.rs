//! The single writer: every hot-path write of this node goes through one task that drains
//! whatever requests are waiting and commits them in one transaction (group commit), so the
//! cost of a commit (and its fsync) is shared by the whole batch.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{Conn, ConnectOptions, WRITER_CHECKPOINT, batch};
use crate::health::WriteHealth;
use crate::model::{
    AcceptBatch, AcceptOutcome, AttemptResult, Claim, DeliveryJob, DispatchItem, NewInbound, ReplaceOutcome,
    Replacement, StatusChange,
};
use crate::opt_out_cache::OptOutCache;
use crate::webhook_cache::WebhookCache;
use crate::{Signals, StoreError};

/// Requests waiting for the writer; senders wait (backpressure) when it is full.
const QUEUE_DEPTH: usize = 8192;
/// Requests folded into one transaction at most.
const MAX_BATCH_OPS: usize = 1024;
/// How often the writer finishes a checkpoint between its transactions.
const WRITER_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// Background requests per transaction: each can carry a thousand status changes.
const BACKGROUND_OPS_PER_COMMIT: usize = 2;
/// While writes are refused and nothing else comes in, how often the writer tries a write of
/// its own, so recovery is noticed (and `/healthz` turns healthy) without traffic.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

pub(crate) enum Op {
    Accept(AcceptBatch, Reply<AcceptOutcome>),
    Status(Vec<StatusChange>, Reply<usize>),
    Claim(Claim, Reply<Vec<DispatchItem>>),
    Cancel { account_id: String, message_id: String, now: i64, reply: Reply<bool> },
    Replace(Replacement, Reply<ReplaceOutcome>),
    Receive(NewInbound, Reply<()>),
    Attempts(Vec<AttemptResult>, Reply<()>),
    ClaimDeliveries { now: i64, lease_until: i64, limit: u32, reply: Reply<Vec<DeliveryJob>> },
    Shutdown(oneshot::Sender<()>),
}

impl Op {
    /// Whether committing this op certainly wrote something (claims may find nothing to do),
    /// so its commit shows that writes get through again.
    fn writes(&self) -> bool {
        !matches!(self, Op::Claim(..) | Op::ClaimDeliveries { .. } | Op::Shutdown(_))
    }
}

/// The writers of this node: one on `SQLite` (it has one write lock), a few on PostgreSQL,
/// where transactions run side by side. Requests take turns over them; a caller that needs
/// two of its writes in order waits for the first before sending the second.
#[derive(Clone)]
pub(crate) struct Writer {
    txs: std::sync::Arc<Vec<mpsc::Sender<Op>>>,
    next: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is shutting down".into())
}

impl Writer {
    /// Connects (failing fast if the database cannot be reached) and starts the writer tasks.
    pub(crate) async fn spawn(
        options: ConnectOptions,
        writers: usize,
        webhooks: WebhookCache,
        signals: Signals,
        opt_outs: OptOutCache,
        health: WriteHealth,
    ) -> Result<Self, StoreError> {
        let mut txs = Vec::new();
        for _ in 0..writers.max(1) {
            let conn = Conn::connect_with(&options).await?;
            let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
            let link = Link { options: options.clone(), conn: Some(conn) };
            let shared = Shared {
                webhooks: webhooks.clone(),
                signals: signals.clone(),
                opt_outs: opt_outs.clone(),
                health: health.clone(),
            };
            tokio::spawn(run(link, rx, shared));
            txs.push(tx);
        }
        Ok(Self { txs: std::sync::Arc::new(txs), next: std::sync::Arc::default() })
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Op) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.txs.len();
        self.txs[i].send(make(reply)).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    pub(crate) async fn accept(&self, batch: AcceptBatch) -> Result<AcceptOutcome, StoreError> {
        self.call(|r| Op::Accept(batch, r)).await
    }
    pub(crate) async fn apply_status(&self, changes: Vec<StatusChange>) -> Result<usize, StoreError> {
        if changes.is_empty() {
            return Ok(0);
        }
        self.call(|r| Op::Status(changes, r)).await
    }
    pub(crate) async fn claim_due(&self, claim: Claim) -> Result<Vec<DispatchItem>, StoreError> {
        self.call(|r| Op::Claim(claim, r)).await
    }
    pub(crate) async fn cancel(&self, account_id: &str, message_id: &str, now: i64) -> Result<bool, StoreError> {
        let (account_id, message_id) = (account_id.to_owned(), message_id.to_owned());
        self.call(|reply| Op::Cancel { account_id, message_id, now, reply }).await
    }
    pub(crate) async fn replace(&self, r: Replacement) -> Result<ReplaceOutcome, StoreError> {
        self.call(|reply| Op::Replace(r, reply)).await
    }
    pub(crate) async fn receive(&self, inbound: NewInbound) -> Result<(), StoreError> {
        self.call(|r| Op::Receive(inbound, r)).await
    }
    pub(crate) async fn record_attempts(&self, results: Vec<AttemptResult>) -> Result<(), StoreError> {
        self.call(|r| Op::Attempts(results, r)).await
    }
    pub(crate) async fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>, StoreError> {
        self.call(|reply| Op::ClaimDeliveries { now, lease_until, limit, reply }).await
    }

    /// Lets queued writes finish, then stops the writers.
    pub(crate) async fn shutdown(&self) {
        for writer in self.txs.iter() {
            let (tx, rx) = oneshot::channel();
            if writer.send(Op::Shutdown(tx)).await.is_ok() {
                let _ = rx.await;
            }
        }
    }
}

/// The writer's own connection, reopened after the database went away (a restart, a network
/// cut): requests that arrive meanwhile are answered `Unavailable`, none is left waiting.
struct Link {
    options: ConnectOptions,
    conn: Option<Conn>,
}

/// Pause after a failed reconnect, so a database that is down is not hammered.
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

impl Link {
    async fn get(&mut self) -> Result<&mut Conn, StoreError> {
        if self.conn.is_none() {
            match Conn::connect_with(&self.options).await {
                Ok(c) => {
                    tracing::info!("store writer reconnected");
                    self.conn = Some(c);
                }
                Err(e) => {
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    return Err(StoreError::Unavailable(format!("cannot reconnect: {e}")));
                }
            }
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }
}

async fn run(mut link: Link, mut rx: mpsc::Receiver<Op>, shared: Shared) {
    // Requests a client is waiting on (accepts, cancels) are committed before background work
    // (claims, status changes, webhook outcomes), and background work goes in small
    // transactions, so an answer never waits behind more than one short commit.
    let mut waiting: Vec<Op> = Vec::new();
    let mut background: VecDeque<Op> = VecDeque::new();
    let mut stop = None;
    let mut served_waiting = false;
    let mut last_checkpoint = Instant::now();
    loop {
        if waiting.is_empty() && background.is_empty() {
            if stop.is_some() {
                break;
            }
            let next = if shared.health.failure().is_some() {
                let Ok(next) = tokio::time::timeout(PROBE_INTERVAL, rx.recv()).await else {
                    probe(&mut link, &shared).await;
                    continue;
                };
                next
            } else {
                rx.recv().await
            };
            match next {
                Some(op) => sort(op, &mut waiting, &mut background, &mut stop),
                None => break,
            }
        }
        while waiting.len() + background.len() < QUEUE_DEPTH {
            match rx.try_recv() {
                Ok(op) => sort(op, &mut waiting, &mut background, &mut stop),
                Err(_) => break,
            }
        }
        // Take turns when both have work: answers wait for at most one short background
        // commit, and a steady stream of sends cannot starve dispatch.
        let take_background = !background.is_empty() && (waiting.is_empty() || served_waiting);
        served_waiting = !take_background;
        let batch: Vec<Op> = if take_background {
            let n = background.len().min(BACKGROUND_OPS_PER_COMMIT);
            background.drain(..n).collect()
        } else {
            let n = waiting.len().min(MAX_BATCH_OPS);
            waiting.drain(..n).collect()
        };
        if batch.is_empty() {
            continue;
        }
        let started = Instant::now();
        let n = batch.len();
        let conn = match link.get().await {
            Ok(conn) => conn,
            Err(e) => {
                for op in batch {
                    fail(op, &e);
                }
                continue;
            }
        };
        if commit_batch(conn, batch, &shared).await == Health::Lost {
            tracing::warn!("store writer reopens its connection");
            link.conn = None;
            continue;
        }
        metrics::histogram!("textbird_store_batch_ops").record(n as f64);
        metrics::histogram!("textbird_store_commit_seconds").record(started.elapsed().as_secs_f64());
        if let Some(checkpoint) = WRITER_CHECKPOINT
            && last_checkpoint.elapsed() >= WRITER_CHECKPOINT_INTERVAL
            && let Some(conn) = link.conn.as_mut()
        {
            // The background checkpointer copies most pages, but only a checkpoint taken
            // between two of the writer's own transactions can finish the log, which lets
            // the next commit start the WAL over instead of growing it for ever.
            last_checkpoint = Instant::now();
            if let Err(e) = sqlx::query(checkpoint).execute(&mut *conn).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    }
    if let Some(conn) = link.conn {
        let _ = conn.close().await;
    }
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

fn sort(op: Op, waiting: &mut Vec<Op>, background: &mut VecDeque<Op>, stop: &mut Option<oneshot::Sender<()>>) {
    match op {
        Op::Shutdown(done) => *stop = Some(done),
        op @ (Op::Accept(..) | Op::Cancel { .. } | Op::Replace(..)) => waiting.push(op),
        op => background.push_back(op),
    }
}

/// What the writer keeps in step with the database.
struct Shared {
    webhooks: WebhookCache,
    signals: Signals,
    opt_outs: OptOutCache,
    health: WriteHealth,
}

impl Shared {
    /// After a commit and before anyone hears of it: keywords changed opt-outs, so those
    /// accounts' cached sets must not be read again; a commit that wrote shows writes work.
    fn committed(&self, ops: &[Op]) {
        if ops.iter().any(Op::writes) {
            self.health.committed();
        }
        for op in ops {
            if let Op::Receive(m, _) = op
                && m.keyword.is_some()
            {
                self.opt_outs.invalidate(&m.account_id);
            }
        }
    }
}

/// Whether the writer's connection still works after a batch.
#[derive(PartialEq, Eq)]
enum Health {
    Good,
    /// Gone, stuck in a transaction, or refused writes: reopened before the next batch.
    Lost,
}

/// How often a batch that lost a race with another node (a deadlock or serialization
/// failure, which the database resolves by aborting one side) is run again whole.
const CONTENTION_RETRIES: usize = 3;

/// Runs the whole batch in one transaction. If the transaction fails, each request is retried
/// alone so one bad request cannot fail its neighbours. When the database is unreachable or
/// refuses writes, every request is answered `Unavailable` at once and the connection is
/// reopened; so is one that a failed transaction left inside a transaction.
async fn commit_batch(conn: &mut Conn, ops: Vec<Op>, shared: &Shared) -> Health {
    if ops.len() > 1 {
        match run_retrying(conn, &ops, shared).await {
            Ok(replies) => {
                shared.committed(&ops);
                deliver(ops, replies);
                return Health::Good;
            }
            Err(e) if e.is_connection_lost() || e.is_write_refused() => {
                if e.is_write_refused() {
                    shared.health.refused(&e.to_string());
                }
                for op in ops {
                    fail(op, &e);
                }
                return Health::Lost;
            }
            Err(e) => {
                tracing::warn!(error = %e, ops = ops.len(), "batched write failed; retrying requests one by one");
                if !settled(conn).await {
                    for op in ops {
                        fail(op, &e);
                    }
                    return Health::Lost;
                }
            }
        }
    }
    let mut lost: Option<StoreError> = None;
    for op in ops {
        if let Some(e) = &lost {
            fail(op, e);
            continue;
        }
        let single = [op];
        let result = run_retrying(conn, &single, shared).await;
        let [op] = single;
        match result {
            Ok(replies) => {
                shared.committed(std::slice::from_ref(&op));
                deliver(vec![op], replies);
            }
            Err(e) => {
                if e.is_write_refused() {
                    shared.health.refused(&e.to_string());
                    lost = Some(StoreError::Unavailable(e.to_string()));
                } else if e.is_connection_lost() || !settled(conn).await {
                    lost = Some(StoreError::Unavailable("the database connection was lost".into()));
                } else if e.is_unavailable() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                fail(op, &e);
            }
        }
    }
    if lost.is_some() { Health::Lost } else { Health::Good }
}

/// Whether a connection whose transaction just failed is usable again: the rollback its
/// transaction queued has run, it answers, and it is no longer inside a transaction. A
/// `SQLite` COMMIT that fails for want of space rolls back by itself, after which the
/// driver's own ROLLBACK fails and it would count the transaction open for ever.
async fn settled(conn: &mut Conn) -> bool {
    conn.ping().await.is_ok() && !conn.is_in_transaction()
}

/// A write of the writer's own while writes are refused: its commit clears the failure.
async fn probe(link: &mut Link, shared: &Shared) {
    let Ok(conn) = link.get().await else { return };
    match batch::probe(conn).await {
        Ok(()) => shared.health.committed(),
        Err(e) => {
            if e.is_write_refused() {
                shared.health.refused(&e.to_string());
            }
            if e.is_connection_lost() || e.is_write_refused() || !settled(conn).await {
                link.conn = None;
            }
        }
    }
}

/// Runs `ops` in one transaction, again (up to `CONTENTION_RETRIES` times) when the database
/// aborted it to settle a race with another transaction.
async fn run_retrying(conn: &mut Conn, ops: &[Op], shared: &Shared) -> Result<Vec<Done>, StoreError> {
    let mut tries = 0;
    loop {
        match batch::run_all(conn, ops, &shared.webhooks, &shared.signals).await {
            Err(e) if e.is_contention() && tries < CONTENTION_RETRIES => tries += 1,
            result => return result,
        }
    }
}

/// One result per op, in op order.
pub(crate) enum Done {
    Accept(AcceptOutcome),
    Status(usize),
    Claim(Vec<DispatchItem>),
    Cancel(bool),
    Replace(ReplaceOutcome),
    Unit,
    Deliveries(Vec<DeliveryJob>),
}

fn deliver(ops: Vec<Op>, replies: Vec<Done>) {
    for (op, done) in ops.into_iter().zip(replies) {
        match (op, done) {
            (Op::Accept(_, r), Done::Accept(v)) => drop(r.send(Ok(v))),
            (Op::Status(_, r), Done::Status(v)) => drop(r.send(Ok(v))),
            (Op::Claim(_, r), Done::Claim(v)) => drop(r.send(Ok(v))),
            (Op::Cancel { reply, .. }, Done::Cancel(v)) => drop(reply.send(Ok(v))),
            (Op::Replace(_, r), Done::Replace(v)) => drop(r.send(Ok(v))),
            (Op::Receive(_, r) | Op::Attempts(_, r), Done::Unit) => drop(r.send(Ok(()))),
            (Op::ClaimDeliveries { reply, .. }, Done::Deliveries(v)) => drop(reply.send(Ok(v))),
            _ => unreachable!("writer replies are produced in op order"),
        }
    }
}

fn fail(op: Op, e: &StoreError) {
    let err = || {
        if e.is_unavailable() { StoreError::Unavailable(e.to_string()) } else { StoreError::Failed(e.to_string()) }
    };
    match op {
        Op::Accept(_, r) => drop(r.send(Err(err()))),
        Op::Status(_, r) => drop(r.send(Err(err()))),
        Op::Claim(_, r) => drop(r.send(Err(err()))),
        Op::Cancel { reply, .. } => drop(reply.send(Err(err()))),
        Op::Replace(_, r) => drop(r.send(Err(err()))),
        Op::Receive(_, r) | Op::Attempts(_, r) => drop(r.send(Err(err()))),
        Op::ClaimDeliveries { reply, .. } => drop(reply.send(Err(err()))),
        Op::Shutdown(_) => {}
    }
}
