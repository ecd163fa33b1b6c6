//! What an account sent and received, merged newest first, for the dialects whose message
//! lists show both, and the walk over a native cursor-based list that reads it.

use std::collections::HashMap;

use textbird_app::{Alias, AliasKind, App, AppError, Inbound, Message, MessageQuery, Principal};

/// Native list pages read at a time while walking.
const CHUNK: usize = 1000;

/// One message the account sent, or one it received.
pub(crate) enum Traffic {
    Sent(Box<Message>),
    Received(Inbound),
}

impl Traffic {
    /// Newest first: by creation time, then native id (which grows with time).
    pub fn key(&self) -> (i64, &str) {
        match self {
            Traffic::Sent(m) => (m.created_at, &m.id),
            Traffic::Received(m) => (m.created_at, &m.id),
        }
    }

    /// The native id.
    pub fn id(&self) -> &str {
        match self {
            Traffic::Sent(m) => &m.id,
            Traffic::Received(m) => &m.id,
        }
    }

    /// The other party: the recipient of a sent message, the sender of a received one.
    pub fn other_party(&self) -> &str {
        match self {
            Traffic::Sent(m) => &m.to,
            Traffic::Received(m) => &m.from,
        }
    }
}

/// The aliases of `items` (sent and received messages alike), by native id.
pub(crate) async fn aliases(app: &App, p: &Principal, items: &[Traffic]) -> Result<HashMap<String, Alias>, AppError> {
    let ids = |sent: bool| -> Vec<String> {
        items.iter().filter(|i| matches!(i, Traffic::Sent(_)) == sent).map(|i| i.id().to_owned()).collect()
    };
    let mut all = app.aliases(p, AliasKind::Message, &ids(true)).await?;
    all.extend(app.aliases(p, AliasKind::Inbound, &ids(false)).await?);
    Ok(all)
}

/// The newest `want` of the account's sent and received messages together, newest first.
pub(crate) async fn newest(app: &App, p: &Principal, want: usize) -> Result<Vec<Traffic>, AppError> {
    let sent = first(want, |cursor, limit| async move {
        let q = MessageQuery { cursor, limit: Some(limit), ..MessageQuery::default() };
        app.messages(p, q).await.map(|l| (l.items, l.next_cursor))
    })
    .await?;
    let received = first(want, |cursor, limit| app.inbound(p, cursor, Some(limit))).await?;
    let mut all: Vec<Traffic> = sent
        .into_iter()
        .map(|m| Traffic::Sent(Box::new(m)))
        .chain(received.into_iter().map(Traffic::Received))
        .collect();
    all.sort_by(|a, b| b.key().cmp(&a.key()));
    all.truncate(want);
    Ok(all)
}

/// The first `want` items of a native cursor-based list; `fetch(cursor, limit)` reads one
/// chunk and says where the next starts.
pub(crate) async fn first<T, F, Fut>(want: usize, mut fetch: F) -> Result<Vec<T>, AppError>
where
    F: FnMut(Option<String>, u32) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), AppError>>,
{
    let mut items = Vec::with_capacity(want.min(CHUNK));
    let mut cursor = None;
    while items.len() < want {
        let limit = u32::try_from((want - items.len()).min(CHUNK)).unwrap_or(1000);
        let (chunk, next) = fetch(cursor.take(), limit).await?;
        items.extend(chunk);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(items)
}
