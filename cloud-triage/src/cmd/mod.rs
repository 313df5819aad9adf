//! One file per subcommand of the `cloud-triage` binary.

pub mod demo;
pub mod eval;
pub mod knowledge;
pub mod login_link;
pub mod report;
pub mod serve;
pub mod speech;
pub mod token;
pub mod triage;

use clap::{Parser, Subcommand};

/// qloop cloud-triage: takes driver feedback from cars, stores it, opens
/// tracked cases and serves the API.
#[derive(Debug, Parser)]
#[command(name = "cloud-triage", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: ingest from MQTT, HTTP API, downlink to cars.
    Serve(serve::ServeArgs),
    /// Run everything embedded, replay the fixture vehicles through real edge
    /// agents, and print the cases that were opened.
    Demo(demo::DemoArgs),
    /// Load known issues (NHTSA recalls, bulletins, qloop's format) into the knowledge index.
    ImportKnowledge(knowledge::ImportArgs),
    /// Search known issues, cases and feedback.
    Search(knowledge::SearchArgs),
    /// Rebuild the knowledge index from the database.
    Reindex(knowledge::ReindexArgs),
    /// Retrieval quality of BM25, embeddings and hybrid on labelled queries.
    EvalSearch(knowledge::EvalSearchArgs),
    /// Replay complaints through the fleet linker: cases versus true issues, purity.
    EvalLinking(knowledge::EvalLinkingArgs),
    /// Store labelled feedback for the triage classifier.
    Train(triage::TrainArgs),
    /// Score triage on labelled feedback: accuracy, macro-F1, safety recall.
    Eval(triage::EvalArgs),
    /// API tokens for people: `token create --role engineer --name alice`.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// A one-time web UI sign-in link (10 minutes): `login-link --role engineer`.
    LoginLink(login_link::LoginLinkArgs),
    /// The monthly complaint analysis as HTML and CSV: `report --month 2026-10`.
    Report(report::ReportArgs),
    /// Print the default policy file (linking, emerging issues, knowledge matches).
    PrintDefaultPolicy,
    /// Transcribe a WAV file offline (Whisper): the transcript on stdout.
    Transcribe(speech::TranscribeArgs),
    /// Word error rate of the speech models on the fixture clips, clean and noisy.
    EvalAsr(speech::EvalAsrArgs),
}
