//! The service the browser talks to: the real one on free ports (embedded
//! broker, SQLite, the triage model), with known issues imported into its
//! knowledge index first, the way an operator does.

use std::{net::SocketAddr, path::Path, time::Duration};

use cloud_triage::{
    config::{MqttSource, ServiceConfig},
    service::Service,
    store::Store,
};

/// A recall about the journey's complaint, and one about something else.
const KNOWN_ISSUES: &str = r#"{"id": "KI-BRAKE-12", "title": "Front brake pads wear through early", "symptom": "Grinding noise from the front brakes when slowing down; the pads wear to the backing plate.", "component": "SERVICE BRAKES, HYDRAULIC", "models": ["MODEL 3"], "years": [2020, 2021, 2022], "containment": "Inspect the front brake pads at the next visit and replace them when worn.", "remedy": "Replace the front brake pads and rotors with the revised compound.", "consequence": "Worn pads lengthen the stopping distance, raising the risk of a crash."}
{"id": "KI-HVAC-2", "title": "Cabin blower resistor failure", "symptom": "The fan only runs on the highest setting or not at all.", "component": "HVAC", "models": ["MODEL 3"], "containment": "Use the highest fan setting.", "remedy": "Replace the blower resistor."}
"#;

/// Starts the service over `dir` with [`KNOWN_ISSUES`] imported.
pub async fn service_with_known_issues(dir: &Path) -> Service {
    let mut config = ServiceConfig::local(dir.to_path_buf());
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt = MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 0)));
    import_known_issues(&config, dir).await;
    let service = Service::start(config).await.expect("service starts");
    service
        .wait_ready(Duration::from_secs(20))
        .await
        .expect("service subscribes");
    service
}

/// Imports [`KNOWN_ISSUES`] into the store and the index of `dir`.
async fn import_known_issues(config: &ServiceConfig, dir: &Path) {
    let store = Store::connect(&config.database_url()).await.unwrap();
    let index = cloud_triage::knowledge::open_index(dir).unwrap();
    let model = qloop_models::weights::embedding_model_dir().unwrap();
    let embedder = qloop_models::Embedder::load(&model).unwrap();
    let vectors = cloud_triage::knowledge::Vectors::open(dir, embedder).unwrap();
    let file = dir.join("known-issues.jsonl");
    std::fs::write(&file, KNOWN_ISSUES).unwrap();
    let report = cloud_triage::knowledge::import_file(&store, &index, Some(&vectors), &file)
        .await
        .unwrap();
    assert_eq!(report.imported, 2, "{:?}", report.rejected);
    store.close().await;
}
