//! `textbird config show` (the effective configuration, secrets redacted) and
//! `textbird config check FILE`.

use std::path::Path;

use textbird_config::{Secret, Settings};

const REDACTED: &str = "<redacted>";

/// The settings with every secret replaced (database URLs keep all but their password).
pub fn redacted(settings: &Settings) -> Settings {
    let mut s = settings.clone();
    let hide = |v: &mut Secret| {
        if !v.expose().is_empty() {
            *v = Secret::new(REDACTED);
        }
    };
    if let Some(url) = &mut s.database.url {
        *url = Secret::new(redact_url(url.expose()));
    }
    for c in &mut s.connectors {
        hide(&mut c.password);
    }
    hide(&mut s.secrets.key);
    hide(&mut s.metrics.token);
    s.secrets.previous_keys.iter_mut().for_each(hide);
    s
}

/// `scheme://user:password@host/...` with the password replaced.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{REDACTED}@{host}"),
        None => url.to_owned(),
    }
}

pub fn show(settings: &Settings) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&redacted(settings))?);
    Ok(())
}

pub fn check(file: &Path) -> anyhow::Result<()> {
    match Settings::load(file, true) {
        Ok(_) => {
            println!("{}: the configuration is valid", file.display());
            Ok(())
        }
        Err(e) => anyhow::bail!("{}: {e}", file.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_everything_but_the_password() {
        assert_eq!(redact_url("postgres://tb:hunter2@db:5432/tb"), "postgres://tb:<redacted>@db:5432/tb");
        assert_eq!(redact_url("postgres://db/tb"), "postgres://db/tb");
        assert_eq!(redact_url("sqlite:///data/textbird.db"), "sqlite:///data/textbird.db");
    }
}
