//! The command line: `serve` (the default), `migrate`, `backup`, `admin add`, `admin set-password`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::{self, AppState};
use crate::bootstrap::{self, Bootstrap};
use crate::clock::Clock;
use crate::config::{Config, Settings};
use crate::db::{self, ConnectionManager, DatabaseTarget, Db, DbConn};
use crate::domain::EmailAddress;
use crate::platform::admins::cli as admins;

#[derive(Debug, Parser)]
#[command(name = "orgportal", version, about = "Self-hosted portal for administering organizations (tenants)")]
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
    /// Write a consistent copy of the SQLite database to PATH, which must not exist
    /// (PostgreSQL: use pg_dump)
    Backup {
        /// Where to write the copy
        path: PathBuf,
    },
    /// Bulk-insert synthetic data for benchmarks (safe while a server runs); every count is
    /// optional
    DemoData {
        /// How many organizations to add
        #[arg(long, default_value_t = 0)]
        orgs: u64,
        /// Active members to add to each (accounts without passwords)
        #[arg(long, default_value_t = 0)]
        users_per_org: u64,
        /// How many memberships to add to the Default organization, in every status
        #[arg(long, default_value_t = 0)]
        members: u64,
        /// How many audit events to add, in both trails, over the last two years
        #[arg(long, default_value_t = 0)]
        events: u64,
        /// How many outbox messages to add, in every status, none of which is ever sent
        #[arg(long, default_value_t = 0)]
        outbox: u64,
    },
    /// Sync an LDAP connection now, on this process, and print what it did
    LdapSync {
        /// The connection's id (its page is /admin/ldap/ID)
        connection_id: i64,
    },
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
    /// Remove an account's second factor and end its sessions (a lost phone and lost recovery
    /// codes); its next sign-in sets one up again where one is required
    #[command(name = "reset-2fa")]
    Reset2fa { email: String },
}

/// Parse the command line and run it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info,actix_server=warn")).init();
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

/// Migrate and bootstrap over one plain connection: what every subcommand needs first.
/// Commands other than `serve` use this connection only: a pool opens connections on
/// background threads, and libpq tearing down under them at process exit can crash.
/// Safe for any number of instances starting together on one PostgreSQL database: the
/// migrations and the index repair run under the migration lock, the bootstrap under its own.
pub fn prepare(config: &Config, clock: &Clock) -> anyhow::Result<(DbConn, Bootstrap)> {
    if let DatabaseTarget::Sqlite(path) = &config.database {
        // Its folder (the data dir by default) 0700, the file 0600: it holds password hashes.
        crate::private_fs::prepare_sqlite_file(path)
            .map_err(|e| anyhow::anyhow!("cannot prepare the database file {}: {e}", path.display()))?;
    }
    let mut conn = ConnectionManager::new(config.database.clone()).open()?;
    let migrated = db::backup::migrate_with_backup(&mut conn, &config.data_dir, clock.now())?;
    if let Some(backup) = &migrated.backup {
        println!("Backed up the database to {} before migrating it.", backup.display());
    }
    for version in &migrated.applied {
        log::info!("applied migration {version}");
    }
    // An interrupted `demo-data` may have left indexes dropped. Under the lock: two instances
    // creating one index at once collide in PostgreSQL's catalog despite IF NOT EXISTS.
    db::under_migration_lock(&mut conn, |conn| Ok(db::org_index::ensure_rebuilt_indexes(conn)?))?;
    let bootstrap = bootstrap::ensure(&mut conn, config.admin_password.as_deref(), clock.now())?;
    Ok((conn, bootstrap))
}

fn run(command: Command, config: Config) -> anyhow::Result<()> {
    // A backup copies the database as it is: no migration, no bootstrap.
    if let Command::Backup { path } = &command {
        return backup(&config, path);
    }
    let clock = Arc::new(Clock::system());
    let (mut conn, bootstrap) = prepare(&config, &clock)?;
    announce_bootstrap(&bootstrap);
    match command {
        Command::Serve => {
            drop(conn);
            let mut db = Db::connect(config.database.clone(), pool_size(&config.database))?;
            if let Some(settings) = &config.replica {
                let replica = crate::db::Replica::new(settings, pool_size(&config.database));
                replica.spawn_monitor(db.clone())?;
                db = db.with_replica(replica);
                println!(
                    "List pages and exports read the replica while it lags under {} s.",
                    settings.max_lag.as_secs()
                );
            }
            // Delivery problems (a bad SMTP URL) stop the start, not the first email.
            let worker = crate::mail::worker::Worker::new(db.clone(), clock.clone(), &config)?.spawn()?;
            let state = AppState::new(config, db, clock)?;
            crate::platform::ldap::sync::spawn_schedule(state.db.clone(), state.ldap_key.clone(), state.clock.clone())?;
            println!(
                "orgportal is serving {} on {} at {}",
                state.config.database.backend_name(),
                state.config.bind,
                state.config.base_url
            );
            if bootstrap == Bootstrap::AlreadyDone {
                println!("Sign in with a platform administrator account (`orgportal admin add EMAIL` creates one).");
            }
            let served = actix_web::rt::System::new().block_on(app::serve(state));
            worker.stop();
            served
        }
        Command::Migrate => {
            println!("The database schema is up to date.");
            Ok(())
        }
        // Returned before `prepare` above; kept here so this match stays exhaustive.
        Command::Backup { path } => backup(&config, &path),
        Command::DemoData { orgs, users_per_org, members, events, outbox } => {
            if orgs > 0 {
                demo_orgs(&mut conn, orgs, users_per_org, &clock)?;
            }
            if members > 0 {
                let started = std::time::Instant::now();
                let bar = progress_bar(members, "memberships");
                let added =
                    crate::demo::members::load_members_with_progress(&mut conn, members, clock.now(), |done| {
                        bar.set_position(done)
                    })?;
                bar.finish_and_clear();
                let seconds = started.elapsed().as_secs_f64();
                println!(
                    "Added {} memberships to the Default organization in {seconds:.1} s.",
                    crate::domain::group_thousands(added as i64)
                );
            }
            if events > 0 {
                let started = std::time::Instant::now();
                let bar = progress_bar(events, "audit events");
                let added = crate::demo::load_events(&mut conn, events, clock.now(), |done| bar.set_position(done))?;
                bar.finish_and_clear();
                let seconds = started.elapsed().as_secs_f64();
                println!("Added {} audit events in {seconds:.1} s.", crate::domain::group_thousands(added as i64));
            }
            if outbox > 0 {
                let started = std::time::Instant::now();
                let bar = progress_bar(outbox, "outbox messages");
                let added = crate::demo::load_outbox(&mut conn, outbox, clock.now(), |done| bar.set_position(done))?;
                bar.finish_and_clear();
                let seconds = started.elapsed().as_secs_f64();
                println!("Added {} outbox messages in {seconds:.1} s.", crate::domain::group_thousands(added as i64));
            }
            Ok(())
        }
        Command::LdapSync { connection_id } => ldap_sync(&mut conn, &config, &clock, connection_id),
        Command::Admin { command: AdminCommand::Add { email } } => {
            let email = EmailAddress::parse(&email).map_err(|why| anyhow::anyhow!("{why}"))?;
            let password = if admins::needs_password(&mut conn, &email)? {
                Some(admins::read_new_password(&email)?)
            } else {
                None
            };
            match admins::add_admin(&mut conn, &email, password.as_deref(), clock.now())? {
                admins::Added::Created => println!("Created platform administrator {email}."),
                admins::Added::Promoted => println!("{email} is now a platform administrator."),
                admins::Added::AlreadyAdmin => {
                    println!("{email} already is a platform administrator.")
                }
            }
            Ok(())
        }
        Command::Admin { command: AdminCommand::SetPassword { email } } => {
            let email = EmailAddress::parse(&email).map_err(|why| anyhow::anyhow!("{why}"))?;
            let password = admins::read_new_password(&email)?;
            admins::set_password(&mut conn, &email, &password, clock.now())?;
            println!("Password set for {email}; its sessions have ended.");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Reset2fa { email } } => {
            let email = EmailAddress::parse(&email).map_err(|why| anyhow::anyhow!("{why}"))?;
            let Some(account_id) = crate::second_factor::handlers::account_id_by_email(&mut conn, email.as_str())?
            else {
                anyhow::bail!("there is no account with the address {email}");
            };
            let act = crate::app::Act {
                actor: crate::audit::Actor::command_line(),
                now: clock.now(),
                site: std::sync::Arc::new(crate::mail::Site::from_config(&config)),
            };
            let (email, had) = crate::second_factor::handlers::reset(&mut conn, &act, account_id, false)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if had {
                println!("Two-step sign-in of {email} is removed and its sessions have ended.");
            } else {
                println!("{email} had no two-step sign-in; its sessions have ended.");
            }
            Ok(())
        }
    }
}

/// `orgportal ldap-sync ID`: one run, timed, on this process's single connection.
fn ldap_sync(conn: &mut DbConn, config: &Config, clock: &Clock, connection_id: i64) -> anyhow::Result<()> {
    use crate::platform::ldap::{sync, BindPasswordKey};
    let key = BindPasswordKey::derive(&config.load_secret_key()?);
    let started = std::time::Instant::now();
    let ended = sync::run(conn, &key, clock, connection_id, &sync::holder())?;
    let seconds = started.elapsed().as_secs_f64();
    match ended {
        sync::Ended::AlreadyRunning => anyhow::bail!("a sync of connection {connection_id} is already running"),
        sync::Ended::Failed(why) => anyhow::bail!("the sync failed after {seconds:.1} s: {why}"),
        sync::Ended::Finished(counts) => {
            let rate = counts.entries_read as f64 / seconds.max(0.001);
            println!(
                "Synced {} entries in {seconds:.1} s ({rate:.0} entries/s): {} created, {} updated, {} removed, {} errors.",
                counts.entries_read, counts.created, counts.updated, counts.removed, counts.errors
            );
            if !counts.last_error.is_empty() {
                println!("Last error: {}", counts.last_error);
            }
            Ok(())
        }
    }
}

/// `orgportal backup PATH`: a consistent copy of the SQLite database; PostgreSQL is refused
/// with the pg_dump command to use instead.
fn backup(config: &Config, path: &Path) -> anyhow::Result<()> {
    let database = match &config.database {
        DatabaseTarget::Postgres(_) => anyhow::bail!("{}", db::backup::PG_DUMP_ADVICE),
        DatabaseTarget::Sqlite(database) => database,
    };
    // Opening a missing file would create an empty database, and back that up.
    anyhow::ensure!(database.is_file(), "there is no SQLite database at {}", database.display());
    if path.exists() {
        anyhow::bail!("{} exists; refusing to overwrite it", path.display());
    }
    let mut conn = ConnectionManager::new(config.database.clone()).open()?;
    let size = db::backup::backup_sqlite(&mut conn, path)?;
    println!(
        "Backed up {} to {} ({} bytes).",
        database.display(),
        path.display(),
        crate::domain::group_thousands(i64::try_from(size).unwrap_or(i64::MAX))
    );
    Ok(())
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
            println!(" Set up a new instance. Sign in as {} with", bootstrap::ADMIN_EMAIL);
            println!("   password: {password}");
            println!(" This password is shown only now; you will choose a new one at");
            println!(" first sign-in.");
            println!("================================================================");
        }
    }
}

/// `demo-data --orgs N [--users-per-org M]`.
fn demo_orgs(conn: &mut DbConn, orgs: u64, users_per_org: u64, clock: &Clock) -> anyhow::Result<()> {
    let report = crate::demo::load(conn, orgs, users_per_org, clock.now())?;
    println!(
        "Added {} organizations and {} users in {:.1} s (waiting for names {:.1} s, rows {:.1} s, search index {:.1} s, sort indexes and statistics {:.1} s).",
        crate::domain::group_thousands(report.organizations as i64),
        crate::domain::group_thousands(report.users as i64),
        report.seconds,
        report.phases[3],
        report.phases[0],
        report.phases[1],
        report.phases[2],
    );
    Ok(())
}

/// A progress bar on a terminal, else nothing.
fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let template =
        format!("{{elapsed_precise}} [{{wide_bar}}] {{human_pos}}/{{human_len}} {what}, {{per_sec}}, {{eta}} left");
    bar.set_style(
        indicatif::ProgressStyle::with_template(&template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
