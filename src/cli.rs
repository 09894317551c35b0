//! The command line: `serve` (the default), `migrate`, `admin add`, `admin set-password`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::{self, AppState};
use crate::bootstrap::{self, Bootstrap};
use crate::clock::Clock;
use crate::config::{Config, Settings};
use crate::db::{self, DatabaseTarget, Db};
use crate::domain::EmailAddress;

#[derive(Debug, Parser)]
#[command(
    name = "orgportal",
    version,
    about = "Self-hosted portal for administering organizations (tenants)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal (the default)
    Serve,
    /// Bring the database schema up to date, then exit
    Migrate,
    /// Manage platform administrators
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create, or promote, an active platform administrator (a new account's password is read
    /// from standard input when it is not a terminal, else prompted)
    Add { email: String },
    /// Set an account's password (read as for `add`); every session of the account ends
    SetPassword { email: String },
}

/// Parse the command line and run it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    )
    .init();
    let config = match Config::from_settings(&cli.settings) {
        Ok(config) => config,
        Err(problems) => {
            eprintln!("orgportal: the settings have problems:");
            for problem in problems {
                eprintln!("  - {problem}");
            }
            return ExitCode::from(2);
        }
    };
    match run(cli.command.unwrap_or(Command::Serve), config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("orgportal: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn pool_size(target: &DatabaseTarget) -> u32 {
    match target {
        DatabaseTarget::Postgres(_) => 16,
        DatabaseTarget::Sqlite(_) => 8,
    }
}

/// Connect, migrate and bootstrap: what every subcommand needs first.
fn prepare(config: &Config, clock: &Clock) -> anyhow::Result<(Db, Bootstrap)> {
    let db = Db::connect(config.database.clone(), pool_size(&config.database))?;
    let mut conn = db.get()?;
    let applied = db::run_migrations(&mut conn)?;
    for version in &applied {
        log::info!("applied migration {version}");
    }
    let bootstrap = bootstrap::ensure(&mut conn, config.admin_password.as_deref(), clock.now())?;
    Ok((db, bootstrap))
}

fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let clock = Arc::new(Clock::system());
    let (db, bootstrap) = prepare(&config, &clock)?;
    announce_bootstrap(&bootstrap);
    match command {
        Command::Serve => {
            let state = AppState::new(config, db, clock)?;
            println!(
                "orgportal is serving {} on {} at {}",
                state.config.database.backend_name(),
                state.config.bind,
                state.config.base_url
            );
            if bootstrap == Bootstrap::AlreadyDone {
                println!("Sign in with a platform administrator account (`orgportal admin add EMAIL` creates one).");
            }
            actix_web::rt::System::new().block_on(app::serve(state))
        }
        Command::Migrate => {
            println!("The database schema is up to date.");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Add { email },
        } => {
            let email = EmailAddress::parse(&email).map_err(|why| anyhow::anyhow!("{why}"))?;
            let mut conn = db.get()?;
            let password = if crate::admins::cli::needs_password(&mut conn, &email)? {
                Some(crate::admins::cli::read_new_password(&email)?)
            } else {
                None
            };
            let outcome =
                crate::admins::cli::add_admin(&mut conn, &email, password.as_deref(), clock.now())?;
            match outcome {
                crate::admins::cli::Added::Created => {
                    println!("Created platform administrator {email}.")
                }
                crate::admins::cli::Added::Promoted => {
                    println!("{email} is now a platform administrator.")
                }
                crate::admins::cli::Added::AlreadyAdmin => {
                    println!("{email} already is a platform administrator.")
                }
            }
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::SetPassword { email },
        } => {
            let email = EmailAddress::parse(&email).map_err(|why| anyhow::anyhow!("{why}"))?;
            let mut conn = db.get()?;
            let password = crate::admins::cli::read_new_password(&email)?;
            crate::admins::cli::set_password(&mut conn, &email, &password, clock.now())?;
            println!("Password set for {email}; its sessions have ended.");
            Ok(())
        }
    }
}

fn announce_bootstrap(bootstrap: &Bootstrap) {
    match bootstrap {
        Bootstrap::AlreadyDone => {}
        Bootstrap::GivenPassword => println!(
            "Set up a new instance. Sign in as {} with the password from ORGPORTAL_ADMIN_PASSWORD.",
            bootstrap::ADMIN_EMAIL
        ),
        Bootstrap::GeneratedPassword(password) => {
            println!("================================================================");
            println!(
                " Set up a new instance. Sign in as {} with",
                bootstrap::ADMIN_EMAIL
            );
            println!("   password: {password}");
            println!(" This password is shown only now; you will choose a new one at");
            println!(" first sign-in.");
            println!("================================================================");
        }
    }
}
