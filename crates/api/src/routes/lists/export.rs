//! A list's members as CSV, streamed page by page.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use textbird_app::{App, ListKind, Principal, neutralise};

/// Pages of members as CSV: `phone_number` digits (no `+`), then the data columns, every
/// cell neutralised against formula injection.
pub(super) fn export_csv(app: App, p: Principal, kind: ListKind, id: String, name: &str) -> Response {
    const HEADER: &[u8] = b"phone_number,first_name,last_name,email,url,custom,custom1,custom2,custom3,custom4\n";
    let stream = futures::stream::unfold(Some(None::<String>), move |cursor| {
        let (app, p, id) = (app.clone(), p.clone(), id.clone());
        async move {
            let cursor = cursor?;
            let (members, next) = match app.members(&p, kind, &id, cursor, Some(1000)).await {
                Ok(page) => page,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            };
            let mut w = csv::Writer::from_writer(Vec::with_capacity(members.len() * 64));
            for m in &members {
                let [c1, c2, c3, c4] = &m.customs;
                let cells = [&m.first_name, &m.last_name, &m.email, &m.url, &m.custom, c1, c2, c3, c4];
                let mut record = vec![std::borrow::Cow::Borrowed(m.phone.trim_start_matches('+'))];
                record.extend(cells.iter().map(|c| neutralise(c.as_deref().unwrap_or(""))));
                if let Err(e) = w.write_record(record.iter().map(|c| c.as_bytes())) {
                    return Some((Err(std::io::Error::other(e.to_string())), None));
                }
            }
            let bytes = w.into_inner().unwrap_or_default();
            Some((Ok(Bytes::from(bytes)), next.map(Some)))
        }
    });
    let body = futures::stream::once(async { Ok(Bytes::from_static(HEADER)) }).chain(stream);
    let filename: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}.csv\"")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
