//! `payhub migrate`: bring the database's schema up to date and say what was applied.

use crate::config::Settings;

/// Applies pending migrations and prints them (or that there were none).
pub(super) async fn run(settings: Settings) -> anyhow::Result<()> {
    let (store, applied) = payhub_store::connect_and_migrate(&settings.database_url, 1).await?;
    let url = payhub_store::redact_url(&settings.database_url);
    if applied.is_empty() {
        println!(
            "database at {url} ({}): nothing to apply, it is up to date",
            store.backend_name()
        );
    } else {
        println!("database at {url} ({}): applied", store.backend_name());
        for migration in &applied {
            println!("  {:04} {}", migration.version, migration.description);
        }
    }
    Ok(())
}
