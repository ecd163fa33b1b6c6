use std::collections::HashMap;
use std::io::Write;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use tempfile::NamedTempFile;
use textbird_app::App;

use crate::error::Problem;

/// Longest text part (`mapping`, `name`, ...) of an upload.
const MAX_TEXT_PART: usize = 64 * 1024;

/// A `multipart/form-data` upload: one file (part `file`, or `doc`), streamed to a temporary
/// file and cut off past `[imports] max_file_bytes`, and the short text parts beside it.
pub(crate) struct Upload {
    pub file: Option<NamedTempFile>,
    pub texts: HashMap<String, String>,
}

impl Upload {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.texts.get(name).map(String::as_str)
    }

    /// A yes/no part or query value: `true`/`false`/`1`/`0`.
    pub fn flag(&self, name: &str, query: Option<bool>) -> Result<bool, Problem> {
        match self.text(name) {
            None => Ok(query.unwrap_or(false)),
            Some(v) => parse_flag(v)
                .ok_or_else(|| Problem::validation(vec![textbird_app::FieldError::new(name, "must be true or false")])),
        }
    }

    /// The file, or a validation problem naming the part.
    pub fn take_file(&mut self) -> Result<NamedTempFile, Problem> {
        self.file.take().ok_or_else(|| {
            Problem::validation(vec![textbird_app::FieldError::new(
                "file",
                "is required (a multipart part named `file`)",
            )])
        })
    }
}

fn parse_flag(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" => Some(true),
        "false" | "0" | "" => Some(false),
        _ => None,
    }
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-upload", "Cannot read the upload", Some(detail.into()))
}

impl FromRequest<App> for Upload {
    type Rejection = Problem;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let max = app.settings().imports.max_file_bytes;
        let too_large = || {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file-too-large",
                "File too large",
                Some(format!("Files of up to {max} bytes can be imported; nothing was stored.")),
            )
        };
        if req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > max.saturating_add(MAX_TEXT_PART as u64 * 8))
        {
            return Err(too_large());
        }
        let mut multipart = Multipart::from_request(req, app)
            .await
            .map_err(|e| bad(format!("send the file as multipart/form-data: {}", e.body_text())))?;
        let mut upload = Upload { file: None, texts: HashMap::new() };
        while let Some(mut field) = multipart.next_field().await.map_err(|e| bad(e.body_text()))? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "file" || name == "doc" {
                if upload.file.is_some() {
                    return Err(bad("send one file"));
                }
                let mut file = NamedTempFile::new().map_err(|_| bad("cannot store the upload"))?;
                let mut written: u64 = 0;
                while let Some(chunk) = field.chunk().await.map_err(|e| bad(e.body_text()))? {
                    written += chunk.len() as u64;
                    if written > max {
                        return Err(too_large());
                    }
                    file.write_all(&chunk).map_err(|_| bad("cannot store the upload"))?;
                }
                file.flush().map_err(|_| bad("cannot store the upload"))?;
                upload.file = Some(file);
            } else {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| bad(e.body_text()))? {
                    if text.len() + chunk.len() > MAX_TEXT_PART {
                        return Err(bad(format!("the part {name:?} is over {MAX_TEXT_PART} bytes")));
                    }
                    text.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(text).map_err(|_| bad(format!("the part {name:?} is not UTF-8")))?;
                upload.texts.insert(name, text);
            }
        }
        Ok(upload)
    }
}
