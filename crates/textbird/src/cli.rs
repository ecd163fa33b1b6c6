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
    /// Configuration file (TOML); default `./textbird.toml` (in the working directory only,
    /// never a parent). Missing is fine unless given explicitly.
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
    /// Carrier connectors: their state (as the database knows it) and pauses.
    Connectors {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: ConnectorsCommand,
    },
    /// Messages, parts and cost per account per UTC day, as JSON lines.
    Usage {
        #[command(flatten)]
        common: Common,
        /// One account; default every account.
        #[arg(long)]
        account: Option<String>,
        /// First day, YYYY-MM-DD; default 30 days ago.
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (included); default today.
        #[arg(long)]
        to: Option<String>,
    },
    /// Write a consistent copy of the running `SQLite` database to FILE (a new file); restore
    /// by putting it in place of `textbird.db` while no server runs (with the `secrets.key`
    /// beside it, which opens the secrets stored sealed).
    Backup {
        #[command(flatten)]
        common: Common,
        file: PathBuf,
    },
    /// The configuration: show the effective one, check a file.
    Config {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: ConfigCommand,
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
    /// Print one account as JSON.
    Get {
        #[arg(long)]
        id: String,
    },
    /// Change an account's name, country or time zone.
    Update {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        timezone: Option<String>,
    },
    /// Suspend an account: its credentials stop working, its data stays.
    Suspend {
        #[arg(long)]
        id: String,
    },
    /// Reinstate a suspended account.
    Unsuspend {
        #[arg(long)]
        id: String,
    },
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
    /// Remove the rate of one prefix.
    Delete { prefix: String },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults, the file, `TEXTBIRD_*` variables, flags)
    /// as JSON, with every secret redacted.
    Show,
    /// Check that FILE is a valid configuration; exits non-zero with the reason if not.
    Check { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// List the configured connectors and whether they are paused, as JSON lines.
    List,
    /// Stop handing messages to a connector, on every node (its bind stays up).
    Pause { name: String },
    /// Hand messages to a paused connector again.
    Resume { name: String },
}
