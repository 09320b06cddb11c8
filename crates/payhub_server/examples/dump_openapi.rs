//! Writes every OpenAPI document payhub serves to a directory (default
//! `target/openapi`), as `{name}.json`, for validators outside Rust
//! (`scripts/validate-openapi.sh`).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/openapi"));
    std::fs::create_dir_all(&dir)?;
    for document in payhub_server::openapi::documents() {
        let path = dir.join(format!("{}.json", document.name));
        std::fs::write(&path, serde_json::to_string_pretty(&document.openapi)?)?;
        println!("{}", path.display());
    }
    Ok(())
}
