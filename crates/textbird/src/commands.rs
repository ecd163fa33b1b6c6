//! Every command but `serve`: they open the same database as the server (and may run while
//! it does).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use textbird_app::{AccountUpdate, App, NewAccountRequest, Principal, parse_rates_csv};
use textbird_config::Settings;
use textbird_store::{Keyring, OpenOptions, Sealed, Store};

use crate::cli::{
    AccountsCommand, Cli, Command, Common, ConfigCommand, ConnectorsCommand, RatesCommand, SecretsCommand,
};

/// The key made on first use when none is configured (`SQLite` only), beside the database.
const KEY_FILE: &str = "secrets.key";

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { common, http, smpp } => {
            let mut settings = load_settings(&common)?;
            let file = config_file(&common);
            if file.exists() {
                tracing::info!(file = %file.display(), "configuration loaded");
            } else {
                tracing::info!(file = %file.display(), "no configuration file; using defaults and TEXTBIRD_* variables");
            }
            if let Some(h) = http {
                settings.http.listen = h;
            }
            if let Some(s) = smpp {
                settings.smpp_server.listen = s;
            }
            crate::serve::serve(settings).await
        }
        Command::Migrate { common } => {
            let settings = load_settings(&common)?;
            let store = open_store(&settings, true).await?;
            store.close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::Accounts { common, command } => {
            let settings = load_settings(&common)?;
            let store = open_store(&settings, true).await?;
            let result = accounts(&store, settings, command).await;
            store.close().await;
            result
        }
        Command::Rates { common, command } => {
            let settings = load_settings(&common)?;
            let store = open_store(&settings, true).await?;
            let result = rates(&store, settings, command).await;
            store.close().await;
            result
        }
        Command::Connectors { common, command } => {
            let settings = load_settings(&common)?;
            let store = open_store(&settings, true).await?;
            let result = connectors(&store, settings, command).await;
            store.close().await;
            result
        }
        Command::Usage { common, account, from, to } => {
            let settings = load_settings(&common)?;
            let store = open_store(&settings, true).await?;
            let result = async {
                let app = App::new(store.clone(), settings, None).await.map_err(describe)?;
                let rows = app
                    .admin_usage(&Principal::operator(), account.as_deref(), from.as_deref(), to.as_deref())
                    .await
                    .map_err(describe)?;
                for row in rows {
                    println!("{}", serde_json::to_string(&row)?);
                }
                anyhow::Ok(())
            }
            .await;
            store.close().await;
            result
        }
        Command::Backup { common, file } => {
            let settings = load_settings(&common)?;
            let store = open_store(&settings, false).await?;
            let result =
                store.backup_into(&file).await.with_context(|| format!("cannot back up to {}", file.display()));
            store.close().await;
            result?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!("{}", serde_json::json!({ "backup": file.display().to_string(), "bytes": size }));
            Ok(())
        }
        Command::Config { common, command } => match command {
            ConfigCommand::Show => crate::config_cmd::show(&load_settings(&common)?),
            ConfigCommand::Check { file } => crate::config_cmd::check(&file),
        },
        Command::Secrets { common, command } => secrets(&load_settings(&common)?, command).await,
    }
}

async fn secrets(settings: &Settings, command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::GenerateKey => println!("{}", Keyring::generate_key()),
        SecretsCommand::Seal => {
            let keyring = keyring(settings)?;
            if keyring.current_id().is_none() {
                bail!("no [secrets] key is configured to seal with");
            }
            let mut value = String::new();
            std::io::stdin().read_to_string(&mut value).context("cannot read standard input")?;
            let value = value.strip_suffix('\n').unwrap_or(&value);
            let value = value.strip_suffix('\r').unwrap_or(value);
            println!("{}", keyring.seal(value, Sealed::ConnectorPassword));
        }
        SecretsCommand::Rotate => {
            let store = open_store(settings, true).await?;
            let result = store.reseal_secrets().await;
            store.close().await;
            let key = keyring(settings)?.current_id().map(str::to_owned);
            let Some(key) = key else { bail!("no [secrets] key is configured to seal with") };
            println!("{}", serde_json::json!({ "resealed": result?, "key": key }));
        }
    }
    Ok(())
}

/// The keys that seal stored secrets: `[secrets] key` (or `key_file`) and `previous_keys`.
/// Without one, on `SQLite` a key is made once beside the database file (in the data
/// directory unless a `sqlite://` URL puts the file elsewhere); on PostgreSQL, where every
/// node must share the key, nothing is sealed until one is configured.
pub fn keyring(settings: &Settings) -> anyhow::Result<Keyring> {
    let s = &settings.secrets;
    let current = if !s.key.expose().is_empty() {
        Some(s.key.expose().to_owned())
    } else if let Some(file) = &s.key_file {
        Some(std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?)
    } else {
        match settings.database.url.as_ref().map(textbird_config::Secret::expose) {
            Some(url) if url.starts_with("postgres") => None,
            // Beside the SQLite file, wherever the URL puts it.
            Some(url) => {
                let path =
                    Path::new(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url));
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                Some(data_dir_key(dir)?)
            }
            None => Some(data_dir_key(&settings.database.data_dir)?),
        }
    };
    let previous = s
        .previous_keys
        .iter()
        .map(|k| Keyring::parse_key(k.expose()))
        .collect::<Result<Vec<_>, _>>()
        .context("[secrets] previous_keys")?;
    match current {
        Some(key) => Ok(Keyring::new(&Keyring::parse_key(&key).context("[secrets] key")?, &previous)),
        None if previous.is_empty() => Ok(Keyring::default()),
        None => bail!("[secrets] previous_keys is set but [secrets] key is not"),
    }
}

/// The key in `dir/secrets.key`, made (readable by its owner only) when missing. Two
/// processes starting together agree on one: the file appears whole, by a hard link.
fn data_dir_key(dir: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(KEY_FILE);
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temp = dir.join(format!(".{KEY_FILE}.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(Keyring::generate_key().as_bytes())?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&temp, &path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => tracing::warn!(
            file = %path.display(),
            "made a key for the secrets stored in the database; keep it with the database's backups, or set [secrets] key"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// Opens the connector passwords the configuration gives sealed (`textbird secrets seal`).
pub fn open_connector_passwords(settings: &mut Settings, keyring: &Keyring) -> anyhow::Result<()> {
    for c in &mut settings.connectors {
        let plain = keyring
            .open(c.password.expose(), Sealed::ConnectorPassword)
            .with_context(|| format!("the password of connector {:?}", c.name))?;
        c.password = textbird_config::Secret::new(plain);
    }
    Ok(())
}

/// The configuration file: `--config FILE` (or `TEXTBIRD_CONFIG`), else `./textbird.toml`.
pub fn config_file(common: &Common) -> std::path::PathBuf {
    common.config.clone().unwrap_or_else(|| "textbird.toml".into())
}

/// Defaults, then the config file, then `TEXTBIRD_*__*` variables, then flags.
pub fn load_settings(common: &Common) -> anyhow::Result<Settings> {
    let (path, required) = match &common.config {
        Some(p) => (p.clone(), true),
        None => ("textbird.toml".into(), false),
    };
    let mut settings = Settings::load(&path, required)?;
    if let Some(d) = &common.data_dir {
        settings.database.data_dir.clone_from(d);
    }
    if let Some(u) = &common.database_url {
        settings.database.url = Some(textbird_config::Secret::new(u.clone()));
    }
    Ok(settings)
}

pub async fn open_store(settings: &Settings, migrate: bool) -> anyhow::Result<Store> {
    let options = OpenOptions {
        sqlite_synchronous_full: settings.database.sqlite_synchronous == "full",
        max_connections: settings.database.max_connections,
        writers: settings.database.writers.max(1) as usize,
        migrate,
        keyring: Arc::new(keyring(settings)?),
    };
    let store = match &settings.database.url {
        Some(url) => Store::open_url(url.expose(), &options).await,
        None => Store::open_sqlite(&settings.database.sqlite_path(), &options).await,
    };
    store.context("cannot open the database")
}

async fn accounts(store: &Store, settings: Settings, command: AccountsCommand) -> anyhow::Result<()> {
    let app = App::new(store.clone(), settings, None).await.map_err(describe)?;
    let op = Principal::operator();
    match command {
        AccountsCommand::Create { name, balance, country, timezone } => {
            let created = app
                .admin_create_account(&op, NewAccountRequest { name, balance, country, timezone, is_admin: false })
                .await
                .map_err(describe)?;
            println!("{}", serde_json::to_string(&created)?);
        }
        AccountsCommand::List => {
            for a in app.admin_accounts(&op).await.map_err(describe)? {
                println!("{}", serde_json::to_string(&a)?);
            }
        }
        AccountsCommand::Get { id } => {
            println!("{}", serde_json::to_string(&app.admin_account(&op, &id).await.map_err(describe)?)?);
        }
        AccountsCommand::Update { id, name, country, timezone } => {
            let a = app
                .admin_update_account(&op, &id, AccountUpdate { name, country, timezone })
                .await
                .map_err(describe)?;
            println!("{}", serde_json::to_string(&a)?);
        }
        AccountsCommand::Suspend { id } => {
            println!("{}", serde_json::to_string(&app.admin_suspend_account(&op, &id, true).await.map_err(describe)?)?);
        }
        AccountsCommand::Unsuspend { id } => {
            println!(
                "{}",
                serde_json::to_string(&app.admin_suspend_account(&op, &id, false).await.map_err(describe)?)?
            );
        }
        AccountsCommand::Credit { id, amount } => {
            let a = app.admin_credit(&op, &id, &amount).await.map_err(describe)?;
            println!("{}", serde_json::json!({ "id": a.id, "balance": a.balance }));
        }
    }
    Ok(())
}

async fn rates(store: &Store, settings: Settings, command: RatesCommand) -> anyhow::Result<()> {
    let app = App::new(store.clone(), settings, None).await.map_err(describe)?;
    let op = Principal::operator();
    match command {
        RatesCommand::Import { file } => {
            let meta = std::fs::metadata(&file).with_context(|| format!("cannot read {}", file.display()))?;
            if meta.len() > 64 * 1024 * 1024 {
                bail!("{} is larger than 64 MiB", file.display());
            }
            let bytes = std::fs::read(&file)?;
            let text = String::from_utf8(bytes).context("the rate file must be UTF-8")?;
            let rows = parse_rates_csv(&text).map_err(describe)?;
            let done = app.admin_import_rates(&op, &rows).await.map_err(describe)?;
            println!("{}", serde_json::to_string(&done)?);
            eprintln!(
                "a running server picks up the new rates within {} s",
                textbird_app::RATES_RELOAD_INTERVAL.as_secs()
            );
        }
        RatesCommand::List => {
            println!("prefix,price");
            for r in app.admin_rates(&op).await.map_err(describe)? {
                println!("{},{}", r.prefix, r.price);
            }
        }
        RatesCommand::Delete { prefix } => {
            app.admin_delete_rate(&op, &prefix).await.map_err(describe)?;
            println!("{}", serde_json::json!({ "deleted": prefix }));
        }
    }
    Ok(())
}

async fn connectors(store: &Store, settings: Settings, command: ConnectorsCommand) -> anyhow::Result<()> {
    let app = App::new(store.clone(), settings, None).await.map_err(describe)?;
    let op = Principal::operator();
    let changed = match command {
        ConnectorsCommand::List => {
            for c in app.admin_connectors(&op).await.map_err(describe)? {
                println!("{}", serde_json::json!({ "name": c.name, "kind": c.kind, "paused": c.paused }));
            }
            return Ok(());
        }
        ConnectorsCommand::Pause { name } => app.admin_pause_connector(&op, &name, true).await,
        ConnectorsCommand::Resume { name } => app.admin_pause_connector(&op, &name, false).await,
    }
    .map_err(describe)?;
    println!("{}", serde_json::json!({ "name": changed.name, "paused": changed.paused }));
    eprintln!("running servers apply it within {} ms", textbird_app::CONNECTOR_PAUSE_POLL.as_millis());
    Ok(())
}

/// Validation errors with their fields, for a terminal.
pub fn describe(e: textbird_app::AppError) -> anyhow::Error {
    match e {
        textbird_app::AppError::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}
