//! Operator accounts and `payhub operator create | list`.
//!
//! Operators are created on the command line only (there is no sign-up
//! page): whoever runs the CLI already holds the database. The password is
//! generated, printed once and kept only as an Argon2id hash.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use payhub_core::MerchantId;
use payhub_store::{Operator, Store, StoreError};
use rand::distributions::{Alphanumeric, DistString};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::session::hash_password;
use crate::config::{DataInput, Settings};

/// Length of a generated password: 20 alphanumerics, about 119 bits.
const PASSWORD_LENGTH: usize = 20;

/// `payhub operator …`: console operators.
#[derive(Subcommand, Debug)]
pub enum OperatorCommand {
    /// Create a console operator and print its password (shown this once only).
    Create {
        /// The login name (1 to 64 letters, digits, '.', '_', '-', '@').
        name: String,
        /// Confine the operator to this merchant's data (mer_…).
        #[arg(long)]
        merchant: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: DataInput,
    },
    /// List console operators (names and scopes; passwords are never shown again).
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: DataInput,
    },
}

/// Why an operator was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateOperatorError {
    #[error("an operator name is 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    InvalidName,
    #[error("no merchant {0}")]
    UnknownMerchant(String),
    #[error("an operator named {0} already exists")]
    NameTaken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hashing(#[from] anyhow::Error),
}

/// A new operator and its password, which exists nowhere else.
pub struct CreatedOperator {
    pub operator: Operator,
    pub password: SecretString,
}

/// How `payhub operator list --json` and `create --json` show an operator.
#[derive(Serialize)]
struct OperatorView<'a> {
    id: &'a str,
    name: &'a str,
    merchant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
}

fn view<'a>(operator: &'a Operator, password: Option<&'a str>) -> OperatorView<'a> {
    OperatorView {
        id: &operator.id,
        name: &operator.name,
        merchant: operator.merchant_id.as_ref().map(MerchantId::as_str),
        password,
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Creates an operator with a generated password; `merchant` confines it.
pub async fn create_operator(
    store: &dyn Store,
    name: &str,
    merchant: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CreatedOperator, CreateOperatorError> {
    if !valid_name(name) {
        return Err(CreateOperatorError::InvalidName);
    }
    let merchant_id = match merchant {
        Some(text) => {
            let unknown = || CreateOperatorError::UnknownMerchant(text.to_owned());
            let id = MerchantId::parse(text).ok_or_else(unknown)?;
            store.find_merchant(&id).await?.ok_or_else(unknown)?;
            Some(id)
        }
        None => None,
    };
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), PASSWORD_LENGTH);
    let password_hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || hash_password(&password)
    })
    .await
    .map_err(anyhow::Error::from)??;
    let operator = Operator {
        id: format!("op_{:016x}", rand::random::<u64>()),
        name: name.to_owned(),
        password_hash,
        merchant_id,
        failed_logins: 0,
        locked_until: DateTime::UNIX_EPOCH,
        created_at: now,
    };
    match store.insert_operator(&operator).await {
        Ok(()) => {}
        Err(StoreError::DuplicateReference) => {
            return Err(CreateOperatorError::NameTaken(name.to_owned()))
        }
        Err(error) => return Err(error.into()),
    }
    Ok(CreatedOperator {
        operator,
        password: SecretString::from(password),
    })
}

/// Runs `payhub operator …`; `settings` resolves the command's settings the
/// way every other command does.
pub async fn run(
    command: OperatorCommand,
    settings: impl FnOnce(DataInput) -> anyhow::Result<Settings>,
) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Create {
            name,
            merchant,
            json,
            settings: input,
        } => {
            let settings = settings(input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let created =
                create_operator(store.as_ref(), &name, merchant.as_deref(), Utc::now()).await?;
            let password = created.password.expose_secret();
            if json {
                let shown = view(&created.operator, Some(password));
                println!("{}", serde_json::to_string(&shown)?);
            } else {
                let scope = created
                    .operator
                    .merchant_id
                    .as_ref()
                    .map_or("every merchant".to_owned(), |m| format!("merchant {m}"));
                println!(
                    "operator {} ({name}) created for {scope}",
                    created.operator.id
                );
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        OperatorCommand::List {
            json,
            settings: input,
        } => {
            let settings = settings(input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let operators = store.list_operators().await?;
            if json {
                let shown: Vec<_> = operators.iter().map(|o| view(o, None)).collect();
                println!("{}", serde_json::to_string(&shown)?);
            } else {
                for operator in &operators {
                    let scope = operator.merchant_id.as_ref().map_or("*", |m| m.as_str());
                    println!("{}\t{}\t{scope}", operator.id, operator.name);
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_are_plain() {
        for good in ["alice", "ops.team", "a_b-c", "x@example.org"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "a b", "<script>", "é", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
