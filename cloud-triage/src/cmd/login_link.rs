//! `login-link`: a one-time sign-in URL for the web UI, valid for 10
//! minutes, for a person of a role (a token of that role and name is made
//! behind it, so the history names them and `token revoke` ends it).

use clap::Args;

use super::knowledge::DataArgs;
use crate::store::{access::Role, ui_sessions::LOGIN_LINK_TTL_MS};

/// Flags of `login-link`.
#[derive(Debug, Args)]
pub struct LoginLinkArgs {
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
    /// `operator`, `engineer` or `admin`.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Who signs in; their changes are recorded under this name.
    #[arg(long, default_value = "ui user")]
    pub name: String,
    /// The address people reach the service at.
    #[arg(long, env = "QLOOP_UI_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not operator, engineer or admin"))
}

/// The sign-in URL for `code` at `base`.
pub fn link_url(base: &str, code: &str) -> String {
    format!("{}/ui/login/link?code={code}", base.trim_end_matches('/'))
}

/// Prints where the web UI of `base` is and a one-time sign-in link for an
/// engineer named `name` (the demo ends with this).
pub async fn print_ui_entry(
    store: &crate::store::Store,
    base: &str,
    name: &str,
    now_ms: i64,
) -> anyhow::Result<()> {
    let code = store
        .create_login_link(Role::Engineer, name, now_ms)
        .await?;
    println!("\nWeb UI: {base}/ui/");
    println!("Sign in: {}", link_url(base, &code));
    println!(
        "         (as {name:?}; the link works once, within {} minutes)",
        LOGIN_LINK_TTL_MS / 60_000
    );
    Ok(())
}

/// Prints the link on stdout.
pub async fn run(args: LoginLinkArgs) -> anyhow::Result<()> {
    let store = args.data.store().await?;
    let code = store
        .create_login_link(args.role, &args.name, crate::now_ms())
        .await?;
    println!("{}", link_url(&args.url, &code));
    eprintln!(
        "one-time sign-in link for {:?} ({}); it works once, within {} minutes",
        args.name.trim(),
        args.role.as_str(),
        LOGIN_LINK_TTL_MS / 60_000
    );
    Ok(())
}
