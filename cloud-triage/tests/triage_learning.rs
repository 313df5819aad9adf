//! Engineers' corrections keep teaching triage while it runs: the
//! neighbours know a correction at once, and the trained heads are
//! retrained on it in the background, without a restart.

use std::time::{Duration, Instant};

use cloud_triage::triage::Triage;
use qloop_models::{weights::embedding_model_dir, ClassifierConfig, Embedder, Taxonomy};
use qloop_protocol::TelemetrySnapshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_decides_at_once_and_the_heads_retrain_on_it() {
    let dir = embedding_model_dir().expect("model available (models/fetch.sh)");
    let embedder = Embedder::load(&dir).unwrap();
    let taxonomy = Taxonomy::default_taxonomy();
    let triage = Triage::build(embedder, taxonomy, ClassifierConfig::default(), Vec::new())
        .await
        .unwrap();
    let before = triage.head_examples();
    assert!(before > 0, "the heads train on the taxonomy's exemplars");

    let text = "the ambient light strip in the door flickers purple at night";
    let none = TelemetrySnapshot::default();
    let first = triage.assess_words(text, &none).await.unwrap();
    let corrected = if first.category == "noise_vibration" {
        "body_structure"
    } else {
        "noise_vibration"
    };
    triage.learn(text, corrected).await.unwrap();
    let again = triage.assess_words(text, &none).await.unwrap();
    assert_eq!(again.category, corrected, "was {}", first.category);

    let deadline = Instant::now() + Duration::from_secs(60);
    while triage.head_examples() == before {
        assert!(Instant::now() < deadline, "the heads were not retrained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(triage.head_examples(), before + 1);
}
