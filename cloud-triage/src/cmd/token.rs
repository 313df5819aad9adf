//! `token create` and `token revoke`: API tokens for people, on the same
//! data directory (and database) `serve` uses.

use clap::{Args, Subcommand};

use super::knowledge::DataArgs;
use crate::store::access::Role;

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it (it is shown only this once).
    Create(CreateArgs),
    /// Revoke every token of a name.
    Revoke(RevokeArgs),
}

/// Flags of `token create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
    /// `operator`, `engineer` or `admin`.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Whose token; their changes are recorded under this name.
    #[arg(long, default_value = "admin")]
    pub name: String,
}

/// Flags of `token revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
    /// The tokens' name.
    #[arg(long)]
    pub name: String,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not operator, engineer or admin"))
}

/// Runs a `token` subcommand.
pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => {
            let store = args.data.store().await?;
            let token = store
                .create_token(args.role, &args.name, crate::now_ms())
                .await?;
            println!("{token}");
            eprintln!(
                "{} token for {:?}; send it as `Authorization: Bearer TOKEN`",
                args.role.as_str(),
                args.name.trim()
            );
        }
        TokenCommand::Revoke(args) => {
            let store = args.data.store().await?;
            let n = store.revoke_tokens(&args.name, crate::now_ms()).await?;
            eprintln!("revoked {n} token(s) named {:?}", args.name);
        }
    }
    Ok(())
}
