//! Recipient lists and unsubscribe lists: create, rename, disable, delete; add numbers;
//! import files (streamed in chunks, all or nothing); preview a file; page through and export
//! members. Both kinds work the same way; only what a send does with them differs.

use std::path::{Path, PathBuf};

use textbird_store::{List, ListFilter, ListKind, Member};
use textbird_types::{new_id, now_millis};
use tokio::sync::mpsc;

use crate::imports::{self, FileError, FileLimits, Mapping, Preview, RowRules};
use crate::messages::{next_cursor, page};
use crate::{App, AppError, FieldError, Principal};

const MAX_NAME: usize = 100;
/// Members written per transaction during an import.
const CHUNK: usize = 5_000;
/// Numbers in one JSON request.
const MAX_JSON_NUMBERS: usize = 10_000;

/// What an import or an add did: `total` rows with a number, of which `inserted` are new,
/// `duplicate` were already in the list (or earlier in the file) and `wrong` are not phone
/// numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub inserted: u64,
    pub duplicate: u64,
    pub wrong: u64,
    pub total: u64,
}

/// How a file is imported.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub mapping: Mapping,
    /// Cut over-long fields instead of refusing the file.
    pub truncate: bool,
    /// The file's members replace the list's (only once the whole file is read).
    pub replace: bool,
}

fn what(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Recipients => "list",
        ListKind::Unsubscribe => "unsubscribe list",
    }
}

fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AppError::field("name", format!("must be 1 to {MAX_NAME} characters")));
    }
    Ok(name.to_owned())
}

impl App {
    fn file_limits(&self) -> FileLimits {
        let s = &self.settings().imports;
        FileLimits { max_rows: s.max_rows, max_unpacked_bytes: s.max_unpacked_bytes }
    }

    pub async fn create_list(&self, p: &Principal, kind: ListKind, name: &str) -> Result<List, AppError> {
        let now = now_millis();
        let list = List {
            id: new_id(),
            account_id: p.account_id.clone(),
            name: check_name(name)?,
            enabled: true,
            count: 0,
            created_at: now,
            updated_at: now,
        };
        self.store().create_list(kind, &list).await?;
        Ok(list)
    }

    /// The account's list, or not found (another account's id is not found either).
    pub async fn list(&self, p: &Principal, kind: ListKind, id: &str) -> Result<List, AppError> {
        self.store().find_list(&p.account_id, kind, id).await?.ok_or(AppError::NotFound(what(kind)))
    }

    pub async fn lists(
        &self,
        p: &Principal,
        kind: ListKind,
        filter: ListFilter,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<List>, Option<String>), AppError> {
        let page = page(cursor, limit)?;
        let items = self.store().list_lists(&p.account_id, kind, &filter, &page).await?;
        let next = next_cursor(&items, &page, |l| &l.id);
        Ok((items, next))
    }

    pub async fn update_list(
        &self,
        p: &Principal,
        kind: ListKind,
        id: &str,
        name: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<List, AppError> {
        let name = name.map(check_name).transpose()?;
        if !self.store().update_list(&p.account_id, kind, id, name.as_deref(), enabled).await? {
            return Err(AppError::NotFound(what(kind)));
        }
        self.list(p, kind, id).await
    }

    pub async fn delete_list(&self, p: &Principal, kind: ListKind, id: &str) -> Result<(), AppError> {
        if self.store().delete_list(&p.account_id, kind, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(what(kind)))
        }
    }

    /// Adds numbers given in a request (their `phone` as written, `created_at` unset); a number already in the list or repeated is a
    /// duplicate, one that is not a phone number is wrong.
    pub async fn add_members(
        &self,
        p: &Principal,
        kind: ListKind,
        id: &str,
        inputs: Vec<Member>,
    ) -> Result<ImportCounts, AppError> {
        let list = self.list(p, kind, id).await?;
        if inputs.len() > MAX_JSON_NUMBERS {
            return Err(AppError::field(
                "numbers",
                format!("at most {MAX_JSON_NUMBERS} per request; import a file for more"),
            ));
        }
        let now = now_millis();
        let mut problems = Vec::new();
        let mut members = Vec::with_capacity(inputs.len());
        let mut counts = ImportCounts { total: inputs.len() as u64, ..ImportCounts::default() };
        for (i, m) in inputs.into_iter().enumerate() {
            let Some(phone) = imports::parse_phone(m.phone.trim(), p.country) else {
                counts.wrong += 1;
                continue;
            };
            let fields = [
                ("first_name", &m.first_name, imports::Column::FirstName),
                ("last_name", &m.last_name, imports::Column::LastName),
                ("email", &m.email, imports::Column::Email),
                ("url", &m.url, imports::Column::Url),
                ("custom", &m.custom, imports::Column::Custom),
            ];
            for (name, value, column) in fields {
                if value.as_ref().is_some_and(|v| v.chars().count() > column.limit()) {
                    problems.push(FieldError::new(
                        format!("numbers[{i}].{name}"),
                        format!("must be at most {} characters", column.limit()),
                    ));
                }
            }
            if m.customs.iter().flatten().any(|v| v.chars().count() > imports::Column::Custom.limit()) {
                problems.push(FieldError::new(
                    format!("numbers[{i}]"),
                    format!("custom1..custom4 must be at most {} characters", imports::Column::Custom.limit()),
                ));
            }
            members.push(Member { phone, created_at: now, ..m });
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let valid = members.len() as u64;
        counts.inserted = self.store().insert_members(&list.id, None, &members).await?;
        counts.duplicate = valid - counts.inserted;
        Ok(counts)
    }

    /// Imports the file at `path` into a list. The file is read in a blocking thread and
    /// written in chunks as it is read; if any row is refused, or the file turns out to be
    /// malformed, what this import wrote is taken back and the list is as it was.
    pub async fn import_file(
        &self,
        p: &Principal,
        kind: ListKind,
        id: &str,
        path: PathBuf,
        request: ImportRequest,
    ) -> Result<ImportCounts, AppError> {
        let list = self.list(p, kind, id).await?;
        let _permit = self.import_permit().await?;
        let import_id = new_id();
        // A replacing import fills a staging list first, so the list keeps its members until
        // the file has been read whole.
        let target = if request.replace { new_id() } else { list.id.clone() };
        let rules = RowRules { truncate: request.truncate, country: p.country, now: now_millis() };
        let (tx, mut rx) = mpsc::channel::<Vec<Member>>(4);
        let limits = self.file_limits();
        let reader = tokio::task::spawn_blocking(move || read_members(&path, limits, &request.mapping, rules, &tx));
        let mut inserted = 0;
        let mut write_error = None;
        while let Some(chunk) = rx.recv().await {
            match self.store().insert_members(&target, Some(&import_id), &chunk).await {
                Ok(n) => inserted += n,
                Err(e) => {
                    write_error = Some(e);
                    break;
                }
            }
        }
        drop(rx);
        let read = reader.await.map_err(|e| AppError::Internal(format!("import reader: {e}")))?;
        let outcome = match (write_error, read) {
            (Some(e), _) => Err(AppError::from(e)),
            (None, Err(e)) => Err(AppError::field("file", e.0)),
            (None, Ok((total, wrong))) => {
                let valid = total - wrong;
                Ok(ImportCounts { inserted, duplicate: valid - inserted, wrong, total })
            }
        };
        match outcome {
            Ok(counts) => {
                if request.replace {
                    self.store().replace_members(&list.id, &target).await?;
                }
                Ok(counts)
            }
            Err(e) => {
                self.store().remove_import(&target, &import_id).await?;
                Err(e)
            }
        }
    }

    /// Reads a whole file: its first rows and per-column flags.
    pub async fn preview_file(&self, path: PathBuf) -> Result<Preview, AppError> {
        let _permit = self.import_permit().await?;
        let limits = self.file_limits();
        tokio::task::spawn_blocking(move || imports::preview(&path, limits))
            .await
            .map_err(|e| AppError::Internal(format!("preview reader: {e}")))?
            .map_err(|e| AppError::field("file", e.0))
    }

    pub async fn members(
        &self,
        p: &Principal,
        kind: ListKind,
        id: &str,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<Member>, Option<String>), AppError> {
        let list = self.list(p, kind, id).await?;
        let page = page(cursor, limit)?;
        let items = self.store().list_members(&list.id, &page).await?;
        let next = next_cursor(&items, &page, |m| &m.phone);
        Ok((items, next))
    }

    pub async fn remove_member(&self, p: &Principal, kind: ListKind, id: &str, phone: &str) -> Result<(), AppError> {
        let list = self.list(p, kind, id).await?;
        let phone = imports::parse_phone(phone, p.country).ok_or(AppError::NotFound("member"))?;
        if self.store().remove_member(&list.id, &phone).await? { Ok(()) } else { Err(AppError::NotFound("member")) }
    }

    async fn import_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        self.inner.imports.acquire().await.map_err(|_| AppError::Unavailable)
    }
}

/// Reads the file, sending members in chunks; returns `(rows with a number, wrong numbers)`.
fn read_members(
    path: &Path,
    limits: FileLimits,
    mapping: &Mapping,
    rules: RowRules,
    tx: &mpsc::Sender<Vec<Member>>,
) -> Result<(u64, u64), FileError> {
    let mut chunk = Vec::with_capacity(CHUNK);
    let (mut total, mut wrong) = (0u64, 0u64);
    imports::read_rows(path, limits, |row, cells| {
        if row == 1 && imports::is_header(&cells, mapping) {
            return Ok(());
        }
        total += 1;
        match imports::member_of(row, &cells, mapping, rules)? {
            None => wrong += 1,
            Some(m) => chunk.push(m),
        }
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            tx.blocking_send(full).map_err(|_| FileError("the import stopped".into()))?;
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        tx.blocking_send(chunk).map_err(|_| FileError("the import stopped".into()))?;
    }
    Ok((total, wrong))
}

impl App {
    /// The members of the account's enabled recipient lists `ids`, as recipients, at most
    /// `max` in all (more is a validation error: large lists are sent by campaigns).
    pub(crate) async fn list_recipients(
        &self,
        p: &Principal,
        ids: &[String],
        max: usize,
    ) -> Result<Vec<crate::Recipient>, AppError> {
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let field = format!("list_ids[{i}]");
            let list = self
                .store()
                .find_list(&p.account_id, ListKind::Recipients, id)
                .await?
                .ok_or_else(|| AppError::field(&field, "no such list"))?;
            if !list.enabled {
                return Err(AppError::field(&field, "this list is disabled"));
            }
            if out.len() + list.count as usize > max {
                return Err(AppError::field(
                    &field,
                    format!("a send reaches at most {max} recipients; this list has {}", list.count),
                ));
            }
            let mut page = textbird_store::Page { after: None, limit: 1000 };
            loop {
                let members = self.store().list_members(&list.id, &page).await?;
                let full = members.len() == page.limit as usize;
                page.after = members.last().map(|m| m.phone.clone());
                out.extend(members.into_iter().map(recipient_of));
                if !full {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// A list member as a recipient: `custom1`..`custom4` become fields of those names.
pub(crate) fn recipient_of(m: Member) -> crate::Recipient {
    let mut fields = std::collections::BTreeMap::new();
    for (i, v) in m.customs.into_iter().enumerate() {
        if let Some(v) = v {
            fields.insert(format!("custom{}", i + 1), v);
        }
    }
    crate::Recipient {
        phone: m.phone,
        first_name: m.first_name,
        last_name: m.last_name,
        email: m.email,
        url: m.url,
        custom: m.custom,
        fields,
    }
}
