//! The `patgate` command line: parses arguments and calls into the library.

use clap::{Parser, Subcommand};
use patgate::app::Services;
use patgate::cli::access::{self, ClientArgs};
use patgate::cli::{self, IssueArgs};
use patgate::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the help lists the flags the client commands ignore.
const SERVER_OPTIONS: &str =
    "Server options (serve, migrate, admin; ignored by login, logout, whoami, token)";

/// patgate: personal access tokens as an OAuth2 authorization server.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Examples:\n  patgate serve                                   # the embedded default on 127.0.0.1:8080\n  patgate serve --listen 0.0.0.0:8095 --issuer https://auth.example.com\n  patgate admin token issue --owner ci --name deploy --scope read --expires-in 30d\n  patgate login --server https://auth.example.com  # then: patgate token list"
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "PATGATE_CONFIG", help_heading = SERVER_OPTIONS)]
    config: Option<PathBuf>,
    /// Database URL (overrides the file and PATGATE_DATABASE_URL).
    #[arg(long, global = true, help_heading = SERVER_OPTIONS)]
    database_url: Option<String>,
    /// Data directory (overrides the file and PATGATE_DATA_DIR).
    #[arg(long, global = true, help_heading = SERVER_OPTIONS)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Server(ServerCommand),
    /// Log in to a patgate server from this machine and store a PAT for it.
    #[command(
        after_help = "Examples:\n  patgate login --server https://auth.example.com\n  patgate login --server 127.0.0.1:8080 --device --scope read --name \"build box\"\n  PATGATE_SERVER=https://auth.example.com patgate login --no-browser"
    )]
    Login(patgate::cli::login::LoginArgs),
    /// Revoke the stored PAT and forget it.
    Logout {
        /// The server (default: the only one logged in to).
        #[arg(long, env = "PATGATE_SERVER")]
        server: Option<String>,
    },
    /// Who the stored PAT acts as: user, token and scopes, checked with the server.
    Whoami {
        /// The server (default: the only one logged in to).
        #[arg(long, env = "PATGATE_SERVER")]
        server: Option<String>,
    },
    /// Your tokens on a patgate server, with the PAT `patgate login` stored.
    #[command(
        after_help = "Examples:\n  patgate token list\n  patgate token create --name ci --scope read --expires 30d --cidr 10.0.0.0/8\n  patgate token rotate ci --grace 1h\n  patgate token revoke ci\n  curl -H \"Authorization: Bearer $(patgate token exchange)\" https://api.example.com/"
    )]
    Token {
        /// The server (default: the only one logged in to).
        #[arg(long, global = true, env = "PATGATE_SERVER")]
        server: Option<String>,
        #[command(subcommand)]
        command: patgate::cli::remote::RemoteTokenCommand,
    },
}

/// Commands that work on the configured server and database.
#[derive(Subcommand)]
enum ServerCommand {
    /// Run the server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks one).
        #[arg(long)]
        listen: Option<String>,
        /// Issuer URL.
        #[arg(long)]
        issuer: Option<String>,
        /// HTTP worker threads (default: one per CPU).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Operator commands that work on the configured database directly.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Personal and service tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Local user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// OAuth2 clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent copy of the SQLite database (while the server runs).
    Backup {
        /// The new file.
        to: std::path::PathBuf,
    },
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token; prints only the token on stdout.
    Issue(IssueArgs),
    /// List tokens.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new secret for a token (same id, name and scopes); prints only the token.
    Rotate {
        /// Token id.
        id: String,
        /// How long the old secret keeps working (0 to 7d; default 0).
        #[arg(long)]
        grace: Option<String>,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (the 21 characters after `pat_`/`sat_`).
        id: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a local account; prints a generated password unless --password-stdin.
    Add {
        /// User name (the subject of its tokens).
        name: String,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users (local and SSO), most recent sign-in first.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set a local user's password (a lost or first one); their sessions end.
    /// Prints a generated password unless --password-stdin.
    Password {
        /// User name.
        name: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a local user's email address, where expiry reminders go (SSO
    /// users' addresses come from their provider). Without ADDRESS: clear it.
    Email {
        /// User name.
        name: String,
        /// The address.
        address: Option<String>,
    },
    /// Disable a user: no more sign-ins, sessions end (tokens revoked when
    /// `[sso] revoke_tokens_on_disable`).
    Disable {
        /// User subject (`provider:id` for SSO users).
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// User subject (`provider:id` for SSO users).
        name: String,
    },
    /// Replace the roles given directly to a user (none: clear them).
    Roles {
        /// User name.
        name: String,
        /// Roles: `admin` or one defined under `[access.roles]`.
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; prints the generated secret of a confidential one.
    Add(ClientArgs),
    /// List clients from the database and the config file.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a registered client.
    Remove {
        /// The client_id.
        id: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Roll up and trim the audit trail now, to the end (the server does it
    /// in small steps every 5 minutes; see `[audit]`).
    Maintain,
    /// Print audit events as JSON lines, oldest first.
    Export {
        /// Only events at or after this RFC 3339 time, or this long ago (24h, 7d).
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key active; the old one stays published until its tokens expire.
    Rotate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (log_writer, flush_logs) = patgate::log_writer::BatchedLogWriter::new(std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_env("PATGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_writer);
    if std::env::var("PATGATE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        // One JSON object per line, the event's fields at the top level.
        logs.json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        // Colour only for a person at a terminal, not in log files.
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let result = run(cli);
    drop(flush_logs);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("patgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Client commands talk to a server; they need no configuration or database.
    match cli.command {
        Command::Login(args) => patgate::cli::login::login(args),
        Command::Logout { server } => patgate::cli::login::logout(server.as_deref()),
        Command::Whoami { server } => patgate::cli::remote::whoami(server.as_deref()),
        Command::Token { server, command } => patgate::cli::remote::run(server.as_deref(), command),
        Command::Server(command) => run_server(command, cli.config, cli.database_url, cli.data_dir),
    }
}

fn run_server(
    command: ServerCommand,
    config: Option<PathBuf>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut overrides: Vec<(&str, String)> = Vec::new();
    if let Some(url) = database_url {
        overrides.push(("database_url", url));
    }
    if let Some(dir) = data_dir {
        overrides.push(("data_dir", dir.display().to_string()));
    }
    let mut workers = None;
    if let ServerCommand::Serve {
        listen,
        issuer,
        workers: w,
    } = &command
    {
        overrides.extend(listen.clone().map(|v| ("listen", v)));
        overrides.extend(issuer.clone().map(|v| ("issuer", v)));
        workers = *w;
    }
    let config = Config::load(config.as_deref(), std::env::vars(), &overrides)?;
    let svc = Services::open(config)?;
    match command {
        ServerCommand::Serve { .. } => cli::serve(svc, workers),
        ServerCommand::Migrate => {
            eprintln!("migrations applied; database {}", svc.db.backend_name());
            Ok(())
        }
        ServerCommand::Admin {
            command:
                AdminCommand::Keys {
                    command: KeysCommand::Rotate,
                },
        } => cli::rotate_keys(&svc),
        ServerCommand::Admin {
            command: AdminCommand::User { command },
        } => match command {
            UserCommand::Add {
                name,
                admin,
                password_stdin,
            } => access::add_user(&svc, &name, admin, password_stdin),
            UserCommand::Roles { name, roles } => access::set_roles(&svc, &name, &roles),
            UserCommand::Disable { name } => access::set_user_disabled(&svc, &name, true),
            UserCommand::Enable { name } => access::set_user_disabled(&svc, &name, false),
            UserCommand::List { json } => access::list_users(&svc, json),
            UserCommand::Email { name, address } => {
                access::set_email(&svc, &name, address.as_deref())
            }
            UserCommand::Password {
                name,
                password_stdin,
            } => access::set_password(&svc, &name, password_stdin),
        },
        ServerCommand::Admin {
            command:
                AdminCommand::Audit {
                    command: AuditCommand::Export { since },
                },
        } => cli::export_audit(&svc, since.as_deref()),
        ServerCommand::Admin {
            command:
                AdminCommand::Audit {
                    command: AuditCommand::Maintain,
                },
        } => cli::maintain_audit(&svc),
        ServerCommand::Admin {
            command: AdminCommand::Backup { to },
        } => cli::backup(&svc, &to),
        ServerCommand::Admin {
            command: AdminCommand::Client { command },
        } => match command {
            ClientCommand::Add(args) => access::add_client(&svc, args),
            ClientCommand::List { json } => access::list_clients(&svc, json),
            ClientCommand::Remove { id } => access::remove_client(&svc, &id),
        },
        ServerCommand::Admin {
            command: AdminCommand::Token { command },
        } => match command {
            TokenCommand::Issue(args) => cli::issue_token(&svc, args),
            TokenCommand::List { json } => cli::list_tokens(&svc, json),
            TokenCommand::Revoke { id } => cli::revoke_token(&svc, &id),
            TokenCommand::Rotate { id, grace } => cli::rotate_token(&svc, &id, grace.as_deref()),
        },
    }
}
