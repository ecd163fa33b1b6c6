//! Reading number files for lists: CSV (any common delimiter, quoted fields, a BOM, UTF-8 or
//! Latin-1), XLSX and XLS. Rows stream to the caller one at a time; only spreadsheets are held
//! whole, and only after their unpacked size is checked. Each column is mapped to a member
//! field (`{"0":"phone_number","1":"first_name"}`), and each field has a length limit that is
//! either enforced (an error naming the row) or applied (`truncate`).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use calamine::{Data, Reader};
use phonenumber::country::Id as CountryId;
use textbird_store::Member;
use textbird_types::Msisdn;

/// Names and their limit.
const NAME_LIMIT: usize = 50;
/// Email and URL.
const ADDRESS_LIMIT: usize = 255;
/// Everything else.
const OTHER_LIMIT: usize = 5000;
/// Rows a preview shows.
pub const PREVIEW_ROWS: usize = 10;
/// Columns a file may have; more is not a number list.
const MAX_COLUMNS: usize = 100;

/// A member field a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Phone,
    FirstName,
    LastName,
    Email,
    Url,
    Custom,
    /// `custom1`..`custom4`, as 0..3.
    CustomN(usize),
}

impl Column {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "phone_number" | "phone" => Column::Phone,
            "first_name" => Column::FirstName,
            "last_name" => Column::LastName,
            "email" => Column::Email,
            "url" => Column::Url,
            "custom" => Column::Custom,
            "custom1" => Column::CustomN(0),
            "custom2" => Column::CustomN(1),
            "custom3" => Column::CustomN(2),
            "custom4" => Column::CustomN(3),
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Column::Phone => "phone_number",
            Column::FirstName => "first_name",
            Column::LastName => "last_name",
            Column::Email => "email",
            Column::Url => "url",
            Column::Custom => "custom",
            Column::CustomN(i) => ["custom1", "custom2", "custom3", "custom4"][i],
        }
    }

    /// Longest value, in characters.
    pub fn limit(self) -> usize {
        match self {
            Column::FirstName | Column::LastName => NAME_LIMIT,
            Column::Email | Column::Url => ADDRESS_LIMIT,
            _ => OTHER_LIMIT,
        }
    }
}

/// Which file column fills which field.
#[derive(Debug, Clone)]
pub struct Mapping {
    columns: Vec<(usize, Column)>,
    phone: usize,
}

impl Mapping {
    /// Reads `{"0":"phone_number","1":"first_name",...}`: column indexes from 0, each field
    /// at most once, `phone_number` required.
    pub fn parse(json: &str) -> Result<Self, String> {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|_| r#"must be a JSON object like {"0":"phone_number","1":"first_name"}"#.to_owned())?;
        let mut columns: Vec<(usize, Column)> = Vec::with_capacity(object.len());
        for (key, value) in &object {
            let index: usize = key
                .parse()
                .ok()
                .filter(|i| *i < MAX_COLUMNS)
                .ok_or_else(|| format!("{key:?} is not a column number (0 to {})", MAX_COLUMNS - 1))?;
            let name = value.as_str().ok_or_else(|| format!("column {key} must name a field"))?;
            let column = Column::parse(name).ok_or_else(|| {
                format!(
                    "{name:?} is not a field; use phone_number, first_name, last_name, email, url, custom or custom1..custom4"
                )
            })?;
            if columns.iter().any(|(_, c)| *c == column) {
                return Err(format!("{name} is mapped twice"));
            }
            columns.push((index, column));
        }
        let phone = columns
            .iter()
            .find(|(_, c)| *c == Column::Phone)
            .map(|(i, _)| *i)
            .ok_or_else(|| "must map a column to phone_number".to_owned())?;
        Ok(Self { columns, phone })
    }

    /// Only a phone number in the first column.
    pub fn phone_only() -> Self {
        Self { columns: vec![(0, Column::Phone)], phone: 0 }
    }
}

/// What an import does with over-long fields and numbers without a country code.
#[derive(Debug, Clone, Copy)]
pub struct RowRules {
    pub truncate: bool,
    pub country: Option<CountryId>,
    pub now: i64,
}

/// A file that cannot be imported, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

impl FileError {
    fn at(row: usize, what: impl std::fmt::Display) -> Self {
        FileError(format!("row {row}: {what}"))
    }
}

/// A row as a member: `Ok(None)` when its number is not a phone number (counted as wrong),
/// an error when a field is too long and truncating was not asked for.
pub fn member_of(
    row_number: usize,
    cells: &[String],
    mapping: &Mapping,
    rules: RowRules,
) -> Result<Option<Member>, FileError> {
    let raw = cells.get(mapping.phone).map_or("", |s| s.trim());
    let Some(phone) = parse_phone(raw, rules.country) else { return Ok(None) };
    let mut m = Member { phone, created_at: rules.now, ..Member::default() };
    for (index, column) in &mapping.columns {
        let Some(value) = cells.get(*index).map(|s| s.trim()).filter(|s| !s.is_empty()) else { continue };
        let limit = column.limit();
        let value = match value.char_indices().nth(limit) {
            None => value.to_owned(),
            Some((cut, _)) if rules.truncate => value[..cut].to_owned(),
            Some(_) => {
                return Err(FileError::at(
                    row_number,
                    format!(
                        "{} is {} characters, over the limit of {limit} (import with truncate to cut it)",
                        column.name(),
                        value.chars().count()
                    ),
                ));
            }
        };
        let slot = match column {
            Column::Phone => continue,
            Column::FirstName => &mut m.first_name,
            Column::LastName => &mut m.last_name,
            Column::Email => &mut m.email,
            Column::Url => &mut m.url,
            Column::Custom => &mut m.custom,
            Column::CustomN(i) => &mut m.customs[*i],
        };
        *slot = Some(value);
    }
    Ok(Some(m))
}

/// A number as written in a list: in the account's country when it has no country code, and
/// failing that as an international number without its `+` (`18756785619`).
pub fn parse_phone(raw: &str, country: Option<CountryId>) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    Msisdn::parse(raw, country)
        .or_else(|e| {
            if country.is_some() && raw.bytes().all(|b| b.is_ascii_digit()) { Msisdn::parse(raw, None) } else { Err(e) }
        })
        .ok()
        .map(Msisdn::into_string)
}

/// Kinds of file, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Xls,
}

/// The format of the file at `path`.
pub fn detect(path: &Path) -> std::io::Result<Format> {
    let mut head = [0u8; 8];
    let mut f = File::open(path)?;
    let n = f.read(&mut head)?;
    Ok(match &head[..n] {
        [b'P', b'K', 3, 4, ..] => Format::Xlsx,
        [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] => Format::Xls,
        _ => Format::Csv,
    })
}

/// Bounds on what a file may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct FileLimits {
    /// Rows, header included.
    pub max_rows: usize,
    /// What an XLSX may expand to, all its parts together.
    pub max_unpacked_bytes: u64,
}

/// Reads every row of the file at `path` in order, handing each (numbered from 1) to `each`;
/// the first error (the file's or `each`'s) ends the read.
pub fn read_rows(
    path: &Path,
    limits: FileLimits,
    mut each: impl FnMut(usize, Vec<String>) -> Result<(), FileError>,
) -> Result<(), FileError> {
    let mut row_number = 0;
    let mut emit = |cells: Vec<String>| {
        row_number += 1;
        if row_number > limits.max_rows {
            return Err(FileError(format!("the file has more than {} rows", limits.max_rows)));
        }
        if cells.len() > MAX_COLUMNS {
            return Err(FileError::at(row_number, format!("more than {MAX_COLUMNS} columns")));
        }
        each(row_number, cells)
    };
    let unreadable = |e: &dyn std::fmt::Display| FileError(format!("cannot read the file: {e}"));
    match detect(path).map_err(|e| unreadable(&e))? {
        Format::Csv => {
            let delimiter = sniff_delimiter(path).map_err(|e| unreadable(&e))?;
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter)
                .from_reader(BufReader::with_capacity(256 * 1024, File::open(path).map_err(|e| unreadable(&e))?));
            let mut record = csv::ByteRecord::new();
            let mut first = true;
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) => {
                        let line = e.position().map_or(0, csv::Position::line);
                        return Err(FileError(format!("malformed CSV at line {line}: {}", csv_problem(&e))));
                    }
                }
                let mut cells: Vec<String> = record.iter().map(decode).collect();
                if first {
                    first = false;
                    if let Some(c) = cells.first_mut()
                        && let Some(rest) = c.strip_prefix('\u{feff}')
                    {
                        *c = rest.to_owned();
                    }
                }
                if cells.iter().all(String::is_empty) {
                    continue;
                }
                emit(cells)?;
            }
            Ok(())
        }
        Format::Xlsx => {
            check_unpacked_size(path, limits.max_unpacked_bytes)?;
            let mut book: calamine::Xlsx<_> =
                calamine::open_workbook(path).map_err(|e| FileError(format!("not a readable XLSX file: {e}")))?;
            let range = book
                .worksheet_range_at(0)
                .ok_or_else(|| FileError("the workbook has no sheet".into()))?
                .map_err(|e| FileError(format!("cannot read the first sheet: {e}")))?;
            sheet_rows(&range, emit)
        }
        Format::Xls => {
            let mut book: calamine::Xls<_> =
                calamine::open_workbook(path).map_err(|e| FileError(format!("not a readable XLS file: {e}")))?;
            let range = book
                .worksheet_range_at(0)
                .ok_or_else(|| FileError("the workbook has no sheet".into()))?
                .map_err(|e| FileError(format!("cannot read the first sheet: {e}")))?;
            sheet_rows(&range, emit)
        }
    }
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string().split(": ").last().unwrap_or("unreadable").to_owned(),
    }
}

fn sheet_rows(
    range: &calamine::Range<Data>,
    mut emit: impl FnMut(Vec<String>) -> Result<(), FileError>,
) -> Result<(), FileError> {
    if range.width() > MAX_COLUMNS {
        return Err(FileError(format!("the sheet has more than {MAX_COLUMNS} columns")));
    }
    for row in range.rows() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        emit(cells)?;
    }
    Ok(())
}

/// A cell as text: whole numbers without a decimal point (spreadsheets store phone numbers
/// as floats).
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e17 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt.to_string(),
        Data::Error(e) => format!("{e:?}"),
    }
}

/// An XLSX is a zip archive that may unpack to far more than its size (a 511 KB file can
/// hold 530 MB of sheet): its parts' declared sizes must fit the limit, and no part may claim
/// an implausible compression ratio.
fn check_unpacked_size(path: &Path, max: u64) -> Result<(), FileError> {
    const MAX_RATIO: u64 = 200;
    let bad = |e: &dyn std::fmt::Display| FileError(format!("not a readable XLSX file: {e}"));
    let file = File::open(path).map_err(|e| bad(&e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(&e))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| bad(&e))?;
        total = total.saturating_add(entry.size());
        if entry.size() > 1024 * 1024 && entry.size() / entry.compressed_size().max(1) > MAX_RATIO {
            return Err(FileError(format!(
                "the XLSX part {:?} claims to unpack {} bytes from {}: refused as a compression bomb",
                entry.name(),
                entry.size(),
                entry.compressed_size()
            )));
        }
    }
    if total > max {
        return Err(FileError(format!("the XLSX unpacks to {total} bytes, over the limit of {max}")));
    }
    Ok(())
}

/// UTF-8 when it is, otherwise Latin-1 (every byte a character), which never fails.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The delimiter of a CSV: of `,` `;` tab and `|`, the one most used outside quotes in the
/// first lines (comma when none is).
fn sniff_delimiter(path: &Path) -> std::io::Result<u8> {
    let mut f = File::open(path)?;
    let mut head = vec![0u8; 64 * 1024];
    let n = read_full(&mut f, &mut head)?;
    f.seek(SeekFrom::Start(0))?;
    let mut counts = [0usize; 4];
    let candidates = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    let mut lines = 0;
    for &b in &head[..n] {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                lines += 1;
                if lines == 20 {
                    break;
                }
            }
            _ if !quoted => {
                if let Some(i) = candidates.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|i| (counts[*i], usize::from(*i == 0))).unwrap_or(0);
    Ok(if counts[best] == 0 { b',' } else { candidates[best] })
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Whether a row is a header: its phone cell holds no digit at all.
pub fn is_header(cells: &[String], mapping: &Mapping) -> bool {
    !cells.get(mapping.phone).is_some_and(|c| c.bytes().any(|b| b.is_ascii_digit()))
}

/// A file's first rows and, per column over every row after a header, whether all values
/// are numbers and whether any exceeds each length limit.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub rows: Vec<Vec<String>>,
    pub total_rows: usize,
    pub all_numeric: Vec<bool>,
    pub exceeds_50: Vec<bool>,
    pub exceeds_255: Vec<bool>,
    pub exceeds_5000: Vec<bool>,
}

/// Reads the whole file for `Preview`.
pub fn preview(path: &Path, limits: FileLimits) -> Result<Preview, FileError> {
    let mut p = Preview::default();
    let mut header = false;
    read_rows(path, limits, |n, cells| {
        p.total_rows = n;
        if n == 1 {
            header = !cells.iter().any(|c| is_number(c));
        }
        if p.rows.len() < PREVIEW_ROWS {
            p.rows.push(cells.clone());
        }
        if n == 1 && header {
            return Ok(());
        }
        let width = cells.len().max(p.all_numeric.len());
        let first = p.all_numeric.is_empty();
        p.all_numeric.resize(width, first);
        p.exceeds_50.resize(width, false);
        p.exceeds_255.resize(width, false);
        p.exceeds_5000.resize(width, false);
        for (i, c) in cells.iter().enumerate() {
            let len = c.chars().count();
            if !c.trim().is_empty() && !is_number(c) {
                p.all_numeric[i] = false;
            }
            p.exceeds_50[i] |= len > NAME_LIMIT;
            p.exceeds_255[i] |= len > ADDRESS_LIMIT;
            p.exceeds_5000[i] |= len > OTHER_LIMIT;
        }
        Ok(())
    })?;
    Ok(p)
}

/// Digits with the punctuation numbers are written with.
fn is_number(s: &str) -> bool {
    let s = s.trim();
    s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
}

/// A cell for a CSV export: one starting with `=`, `+`, `-`, `@`, a tab or a carriage return
/// is prefixed with `'` so no spreadsheet evaluates it.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests;
