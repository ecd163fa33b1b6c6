use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Textbird: a self-hostable SMS gateway.
#[derive(Debug, Parser)]
#[command(name = "textbird", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the configuration and the database are; every command that touches the database
/// takes these.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Configuration file (TOML). Missing is fine unless given explicitly.
    #[arg(long, env = "TEXTBIRD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory for the `SQLite` database.
    #[arg(long, env = "TEXTBIRD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL; `postgres://...` switches to `PostgreSQL`, `sqlite://PATH` names a file.
    #[arg(long, env = "TEXTBIRD_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: HTTP API, SMPP server, dispatcher, webhooks.
    Serve {
        #[command(flatten)]
        common: Common,
        /// HTTP listen address.
        #[arg(long, env = "TEXTBIRD_HTTP")]
        http: Option<String>,
        /// SMPP server listen address.
        #[arg(long, env = "TEXTBIRD_SMPP")]
        smpp: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Manage accounts.
    Accounts {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Manage the rate table (price per message part by destination prefix).
    Rates {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: RatesCommand,
    },
    /// The key that encrypts stored secrets (`[secrets]`): make one, encrypt a value for the
    /// configuration, re-encrypt the database under the current key.
    Secrets {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a new random key (base64) for `[secrets] key` or `TEXTBIRD_SECRETS__KEY`.
    GenerateKey,
    /// Read a value (such as an SMPP connector password) from standard input and print it
    /// encrypted under the current key, for the configuration file.
    Seal,
    /// Re-encrypt every stored secret under the current key (after `[secrets] key` changed
    /// and the old key moved to `previous_keys`); then the old key can be dropped.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account; prints its id and every credential as one JSON object.
    Create {
        #[arg(long)]
        name: String,
        /// Opening balance, e.g. 100 or 12.50.
        #[arg(long, default_value = "0")]
        balance: String,
        /// Default country (ISO 3166 alpha-2) for numbers written without a country code.
        #[arg(long, default_value = "US")]
        country: String,
        /// IANA time zone of the account.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
    /// List accounts as JSON lines.
    List,
    /// Add (or with a negative amount, remove) credit.
    Credit {
        #[arg(long)]
        id: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RatesCommand {
    /// Import `prefix,price` rows from a CSV file (existing prefixes are updated).
    Import { file: PathBuf },
    /// Print the rate table as CSV.
    List,
}
