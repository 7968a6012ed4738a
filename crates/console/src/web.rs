//! The web console: plain HTML, JavaScript modules and CSS from `crates/console/assets`, embedded in
//! the binary and served by Ferry itself (nothing from a CDN: it works offline). The pages are
//! open (they hold no data); everything they show comes from the API, behind the login.
//!
//! `/` is the page; `/assets/<file>` the rest. Every answer carries a strict Content Security
//! Policy: scripts, styles and connections only from Ferry, no inline script, no framing.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::ApiState;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $type:expr),* $(,)?) => {
        &[$(Asset { path: $path, content_type: $type, bytes: include_bytes!(concat!("../assets/", $path)) }),*]
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file of the console (a test checks that none in the directory is left out).
static ASSETS: &[Asset] = assets![
    "index.html" => HTML,
    "style.css" => CSS,
    "favicon.svg" => SVG,
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "chart.js" => JS,
    "pages/login.js" => JS,
    "pages/tasks.js" => JS,
    "pages/import.js" => JS,
    "pages/migration.js" => JS,
    "pages/steps/connect.js" => JS,
    "pages/steps/metadata.js" => JS,
    "pages/steps/access.js" => JS,
    "pages/steps/topics.js" => JS,
    "pages/steps/complete.js" => JS,
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

fn serve(asset: &Asset) -> Response {
    let mut r = (StatusCode::OK, asset.bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Small files, and a new Ferry may bring new ones: always asked again.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

async fn index() -> Response {
    serve(find("index.html").expect("index.html is embedded"))
}

async fn asset(Path(path): Path<String>) -> Response {
    match find(&path) {
        Some(a) => serve(a),
        None => {
            (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "no such file\n")
                .into_response()
        }
    }
}

/// `/` and `/assets/{file}`.
pub(crate) fn router() -> Router<ApiState> {
    Router::new().route("/", get(index)).route("/assets/{*path}", get(asset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path as FsPath, PathBuf};

    fn files(dir: &FsPath, root: &FsPath, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                files(&path, root, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_of_the_assets_directory_is_embedded_once_with_its_type() {
        let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk = Vec::new();
        files(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "the ASSETS table and crates/console/assets differ");
        for a in ASSETS {
            let ext = a.path.rsplit('.').next().unwrap();
            let expected = match ext {
                "html" => HTML,
                "js" => JS,
                "css" => CSS,
                "svg" => SVG,
                other => panic!("no content type for .{other}"),
            };
            assert_eq!(a.content_type, expected, "{}", a.path);
        }
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for a in ASSETS {
            let text = String::from_utf8_lossy(a.bytes);
            for needle in ["http://", "https://", "//cdn", "<script>", " onclick=", " style=\""] {
                let allowed = needle == "http://" && text.contains("http://www.w3.org/2000/svg");
                let count = text.matches(needle).count();
                let svg_ns = text.matches("http://www.w3.org/2000/svg").count();
                if allowed && count == svg_ns {
                    continue;
                }
                assert!(
                    count == 0,
                    "{} contains {needle:?}: only Ferry's own files, no inline script or style",
                    a.path
                );
            }
        }
    }
}
