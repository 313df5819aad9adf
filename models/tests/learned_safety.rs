//! The learned safety call on the default corpus (`models/training/`) with
//! the real embedding model: everyday safety complaints that no phrase rule
//! catches are called major with the right hazard, and comfort complaints
//! are not. The sentences are written here, apart from the training files
//! and from the evaluation sets in `fixtures/triage/`.

use qloop_models::{
    corpus::{cache_dir, load_corpus, train_corpus, training_dir},
    severity::{self, TelemetryEvidence},
    trained::DEFAULT_MAJOR_THRESHOLD,
    weights::embedding_model_dir,
    Embedder, Hazard, Taxonomy,
};

#[test]
fn everyday_safety_words_are_major_with_their_hazard_and_comfort_is_not() {
    let dir = embedding_model_dir().expect("model available (models/fetch.sh)");
    let embedder = Embedder::load(&dir).unwrap();
    let taxonomy = Taxonomy::default_taxonomy();
    let set = load_corpus(&training_dir(), &taxonomy).unwrap();
    let trained = train_corpus(
        &embedder,
        &taxonomy,
        &set.items,
        Some(&cache_dir(&dir)),
        DEFAULT_MAJOR_THRESHOLD,
    )
    .unwrap();
    let safety = [
        (
            "going down the mountain road the pedal kept sinking and we barely slowed",
            Hazard::LossOfBraking,
        ),
        (
            "the car crept forward by itself at the lights while my foot was off the pedal",
            Hazard::UnintendedAcceleration,
        ),
        (
            "my headlights switched off on an unlit road at night",
            Hazard::LossOfVisibilityOrLighting,
        ),
        (
            "the back door popped open while we were driving on the highway",
            Hazard::DoorHoodLatchOpening,
        ),
    ];
    let comfort = [
        "the music app forgets my playlist every morning",
        "the heated seat takes ages to warm up",
        "the salesman never called me back about the floor mats",
    ];
    let none = TelemetryEvidence::default();
    let texts: Vec<String> = safety
        .iter()
        .map(|(t, _)| t.to_string())
        .chain(comfort.iter().map(|t| t.to_string()))
        .collect();
    let vectors = embedder.embed_blocking(texts.clone()).unwrap();
    for ((text, hazard), v) in safety.iter().zip(&vectors) {
        assert!(
            !severity::assess(text, &none).is_major(),
            "{text:?} must test the learned head, not the phrase rules"
        );
        let call = trained.heads.hazard(v);
        assert!(call.major, "{text:?} missed: {call:?}");
        assert_eq!(call.hazard, *hazard, "{text:?}: {call:?}");
    }
    for (text, v) in comfort.iter().zip(&vectors[safety.len()..]) {
        let call = trained.heads.hazard(v);
        assert!(!call.major, "{text:?} is not a safety complaint: {call:?}");
    }
    let counts = trained.heads.counts();
    assert!(
        counts.hazard > 1000 && counts.major > counts.hazard,
        "{counts:?}"
    );
}
