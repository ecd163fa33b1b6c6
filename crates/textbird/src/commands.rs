//! Every command but `serve`: they open the same database as the server (and may run while
//! it does).

use anyhow::{Context, bail};
use textbird_app::{App, NewAccountRequest, parse_rates_csv};
use textbird_config::Settings;
use textbird_store::{OpenOptions, Store};
use textbird_types::Money;

use crate::cli::{AccountsCommand, Cli, Command, Common, RatesCommand};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { common, http, smpp } => {
            let mut settings = load_settings(&common)?;
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
            let result = rates(&store, command).await;
            store.close().await;
            result
        }
    }
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
    };
    let store = match &settings.database.url {
        Some(url) => Store::open_url(url.expose(), &options).await,
        None => Store::open_sqlite(&settings.database.sqlite_path(), &options).await,
    };
    store.context("cannot open the database")
}

async fn accounts(store: &Store, settings: Settings, command: AccountsCommand) -> anyhow::Result<()> {
    let app = App::new(store.clone(), settings, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match command {
        AccountsCommand::Create { name, balance, country, timezone } => {
            let created = app
                .create_account(NewAccountRequest { name, balance, country, timezone, is_admin: false })
                .await
                .map_err(describe)?;
            println!("{}", serde_json::to_string(&created)?);
        }
        AccountsCommand::List => {
            for a in store.list_accounts().await? {
                let line = serde_json::json!({
                    "id": a.id, "name": a.name, "username": a.username, "balance": Money(a.balance).to_string(),
                    "country": a.country, "timezone": a.timezone, "admin": a.is_admin,
                });
                println!("{line}");
            }
        }
        AccountsCommand::Credit { id, amount } => {
            let amount = Money::parse(&amount)?;
            let balance = store.adjust_balance(&id, amount.micros(), "operator credit").await?;
            println!("{}", serde_json::json!({ "id": id, "balance": Money(balance).to_string() }));
        }
    }
    Ok(())
}

async fn rates(store: &Store, command: RatesCommand) -> anyhow::Result<()> {
    match command {
        RatesCommand::Import { file } => {
            let meta = std::fs::metadata(&file).with_context(|| format!("cannot read {}", file.display()))?;
            if meta.len() > 64 * 1024 * 1024 {
                bail!("{} is larger than 64 MiB", file.display());
            }
            let bytes = std::fs::read(&file)?;
            let text = String::from_utf8(bytes).context("the rate file must be UTF-8")?;
            let rows = parse_rates_csv(&text).map_err(describe)?;
            let n = store.upsert_rates(&rows).await?;
            println!("{}", serde_json::json!({ "imported": rows.len(), "changed": n }));
            eprintln!(
                "a running server picks up the new rates within {} s",
                textbird_app::RATES_RELOAD_INTERVAL.as_secs()
            );
        }
        RatesCommand::List => {
            println!("prefix,price");
            for r in store.list_rates().await? {
                println!("{},{}", r.prefix, Money(r.price));
            }
        }
    }
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
