//! The `cloud-triage` binary: parses the command line and runs a subcommand.

#![forbid(unsafe_code)]

use clap::Parser;

use cloud_triage::cmd::{demo, knowledge, serve, triage, Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The demo prints its own summary; per-message logs would bury it.
    let default_filter = match cli.command {
        Command::Demo(_) => "warn,rumqttd=off",
        Command::ImportKnowledge(_)
        | Command::Search(_)
        | Command::Reindex(_)
        | Command::Train(_)
        | Command::Eval(_)
        | Command::EvalSearch(_)
        | Command::EvalLinking(_)
        | Command::PrintDefaultPolicy
        | Command::Token(_)
        | Command::LoginLink(_)
        | Command::Report(_) => "warn",
        _ => "info,rumqttd=warn,sqlx=warn,tantivy=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QLOOP_LOG")
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::ImportKnowledge(args) => knowledge::import(args).await,
        Command::Search(args) => knowledge::search(args).await,
        Command::Reindex(args) => knowledge::reindex(args).await,
        Command::EvalSearch(args) => knowledge::eval_search(args).await,
        Command::EvalLinking(args) => knowledge::eval_linking(args).await,
        Command::Train(args) => triage::train(args).await,
        Command::Eval(args) => triage::eval(args).await,
        Command::Report(args) => cloud_triage::cmd::report::run(args).await,
        Command::Token(command) => cloud_triage::cmd::token::run(command).await,
        Command::LoginLink(args) => cloud_triage::cmd::login_link::run(args).await,
        Command::Transcribe(args) => cloud_triage::cmd::speech::transcribe(args).await,
        Command::EvalAsr(args) => cloud_triage::cmd::speech::eval_asr(args).await,
        Command::PrintDefaultPolicy => {
            print!("{}", cloud_triage::policy::DEFAULT_POLICY_TOML);
            Ok(())
        }
    }
}
