//! `waystation token`: create, list and revoke editors' tokens. A token is shown
//! once, when it is created; the database keeps only its hash.

use super::db::{DbArg, open_existing};
use crate::store::Role;

#[derive(clap::Subcommand)]
pub(super) enum TokenCommand {
    /// Create a token and print it (only it, on the last line; it is not stored).
    Create {
        #[command(flatten)]
        db: DbArg,
        /// Who holds it (written in the audit log).
        #[arg(long)]
        name: String,
        /// editor or admin.
        #[arg(long)]
        role: String,
        /// Limit an editor to one city (e.g. 临沂市).
        #[arg(long)]
        city: Option<String>,
    },
    /// List tokens (names, roles, cities; never the tokens).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke a token by name.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// The token's name.
        #[arg(long)]
        name: String,
    },
}

/// Carries out one `token` command.
pub(super) fn token(command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create {
            db,
            name,
            role,
            city,
        } => {
            let role: Role = role.parse()?;
            if role == Role::Admin && city.is_some() {
                return Err("--city limits editors; an admin edits every city".into());
            }
            let mut store = open_existing(&db.path()?)?;
            let token = store
                .create_token(&name, role, city.as_deref())
                .map_err(|e| e.to_string())?;
            // The note on stderr, the token alone on stdout: `$(waystation token
            // create …)` captures just the token.
            eprintln!("token '{name}' created; it is shown only now:");
            println!("{token}");
        }
        TokenCommand::List { db } => {
            let store = open_existing(&db.path()?)?;
            for t in store.tokens().map_err(|e| e.to_string())? {
                println!(
                    "{}\t{:?}\t{}\tcreated {}{}",
                    t.name,
                    t.role,
                    t.city.as_deref().unwrap_or("(all cities)"),
                    t.created,
                    t.revoked
                        .map(|r| format!("\trevoked {r}"))
                        .unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { db, name } => {
            let mut store = open_existing(&db.path()?)?;
            store.revoke_token(&name).map_err(|e| e.to_string())?;
            println!("token '{name}' revoked");
        }
    }
    Ok(())
}
