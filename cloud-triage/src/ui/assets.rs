//! The UI's static files, embedded in the binary from `cloud-triage/static/`
//! (rust-embed, with `debug-embed` so debug and release builds serve the
//! same bytes): the stylesheet, the page script, and the vendored htmx and
//! uPlot (`static/vendor/README.md` names their versions and licences).

use axum::{
    extract::Path,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use rust_embed::RustEmbed;

/// Everything under `cloud-triage/static/`.
#[derive(RustEmbed)]
#[folder = "static/"]
pub struct Assets;

/// The content type of a static file. Five kinds of file are served, so a
/// table here is shorter than a MIME database crate.
/// Other files in the folder (the vendor README and licences) are not served.
fn content_type(path: &str) -> Option<&'static str> {
    match path.rsplit('.').next() {
        Some("js") => Some("text/javascript; charset=utf-8"),
        Some("css") => Some("text/css; charset=utf-8"),
        Some("svg") => Some("image/svg+xml"),
        Some("png") => Some("image/png"),
        Some("ico") => Some("image/x-icon"),
        _ => None,
    }
}

/// `GET /ui/static/{*path}`. Vendored files carry their version in the name
/// and are cached for a year; qloop's own are revalidated.
pub async fn serve(Path(path): Path<String>) -> Response {
    let (Some(kind), Some(file)) = (content_type(&path), Assets::get(&path)) else {
        return (StatusCode::NOT_FOUND, "no such static file").into_response();
    };
    let cache = if path.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)],
        file.data.into_owned(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_libraries_and_qloops_own_files_are_embedded() {
        for path in [
            "vendor/htmx-2.0.11.min.js",
            "vendor/uplot-1.6.32.iife.min.js",
            "vendor/uplot-1.6.32.min.css",
            "qloop.css",
            "qloop.js",
        ] {
            assert!(Assets::get(path).is_some(), "{path} is embedded");
        }
        assert_eq!(
            content_type("vendor/README.md"),
            None,
            "only web files are served"
        );
    }
}
