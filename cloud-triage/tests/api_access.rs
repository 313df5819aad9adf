//! Access: each role tries every endpoint; only the allowed succeed. No
//! token, a wrong token and a revoked token get 401; a role that may not
//! use an endpoint gets 403; every change is recorded under the token's name.

mod api_support;

use api_support::{ingest, serve};
use cloud_triage::{api::ROUTES, store::access::Role};

/// Who may use what: reading is for every role (cases hold personal data,
/// so never for anonymous callers), working cases for engineers and admins,
/// recording a driver's satisfaction for every role, making tokens for admins.
fn expected(method: &str, path: &str, role: Role) -> bool {
    match (method, path) {
        ("get", _) => true,
        ("post", "/api/cases/{id}/satisfaction") => true,
        ("post", "/api/tokens") => role == Role::Admin,
        _ => matches!(role, Role::Engineer | Role::Admin),
    }
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    case_id: i64,
    feedback_id: uuid::Uuid,
) -> u16 {
    let id = if path.contains("feedback") {
        feedback_id.to_string()
    } else {
        case_id.to_string()
    };
    let url = format!("{base}{}", path.replace("{id}", &id));
    let client = reqwest::Client::new();
    let body = match path {
        p if p.ends_with("/merge") => serde_json::json!({"into": case_id}),
        p if p.ends_with("/split") => serde_json::json!({"feedback_ids": []}),
        p if p.ends_with("/transition") => {
            serde_json::json!({"to": "cancelled", "reason": "access check"})
        }
        p if p.ends_with("/satisfaction") => serde_json::json!({"score": 9}),
        p if p.ends_with("/message") => serde_json::json!({"message": ""}),
        "/api/tokens" => serde_json::json!({"role": "operator", "name": "x"}),
        _ => serde_json::json!({"set": {"department": "Body"}}),
    };
    let mut request = match method {
        "get" => client.get(&url),
        "patch" => client.patch(&url).json(&body),
        "post" => client.post(&url).json(&body),
        other => panic!("no call for {other}"),
    };
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn each_role_reaches_exactly_its_endpoints() {
    let api = serve(true).await;
    let (feedback_id, case_id) = ingest(&api.store, Some("mirror folds in")).await;
    for role in [Role::Operator, Role::Engineer, Role::Admin] {
        let token = api
            .store
            .create_token(role, role.as_str(), 1)
            .await
            .unwrap();
        for (method, path) in ROUTES {
            let status = call(&api.base, method, path, Some(&token), case_id, feedback_id).await;
            let public = matches!(path, "/healthz" | "/api/openapi.json");
            if public || expected(method, path, role) {
                assert!(
                    ![401, 403, 404, 405].contains(&status),
                    "{} {method} {path}: {status}",
                    role.as_str()
                );
            } else {
                assert_eq!(status, 403, "{} {method} {path}", role.as_str());
            }
        }
    }
}

#[tokio::test]
async fn without_a_valid_token_only_health_and_the_api_document_answer() {
    let api = serve(true).await;
    let (feedback_id, case_id) = ingest(&api.store, Some("mirror folds in")).await;
    let revoked = api
        .store
        .create_token(Role::Admin, "gone", 1)
        .await
        .unwrap();
    assert_eq!(api.store.revoke_tokens("gone", 2).await.unwrap(), 1);
    for token in [
        None,
        Some("qlp_not-a-real-token"),
        Some("Basic abc"),
        Some(revoked.as_str()),
    ] {
        for (method, path) in ROUTES {
            let status = call(&api.base, method, path, token, case_id, feedback_id).await;
            if matches!(path, "/healthz" | "/api/openapi.json") {
                assert_eq!(status, 200, "{method} {path}");
            } else {
                assert_eq!(status, 401, "{method} {path} with {token:?}");
            }
        }
    }
}

#[tokio::test]
async fn changes_are_recorded_under_the_tokens_name() {
    let api = serve(true).await;
    let (_, case_id) = ingest(&api.store, Some("mirror folds in")).await;
    let token = api
        .store
        .create_token(Role::Engineer, "erin", 1)
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .patch(format!("{}/api/cases/{case_id}", api.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"actor": "mallory", "set": {"root_cause": "hinge"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let case = api.store.get_case(case_id).await.unwrap().unwrap();
    let entry = case
        .history
        .iter()
        .find(|h| h.field == "root_cause")
        .unwrap();
    assert_eq!(entry.actor, "erin", "the body cannot claim another name");
}
