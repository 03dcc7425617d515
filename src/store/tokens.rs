//! Editors' tokens: created once and shown once, stored only as SHA-256, compared
//! in constant time, revocable, optionally limited to one city.

use rand::RngCore;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Store, StoreError, now};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Edit and import features (of one city when the token names one).
    Editor,
    /// Everything an editor may, in every city.
    Admin,
}

impl Role {
    fn id(self) -> &'static str {
        match self {
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role '{other}' (editor, admin)")),
        }
    }
}

/// A token's holder, as the server sees it after authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Token {
    /// Who (written in the audit log).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The only city they may edit, when limited.
    pub city: Option<String>,
    /// When the token was created.
    pub created: String,
    /// When it was revoked (revoked tokens are refused).
    pub revoked: Option<String>,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Store {
    /// Creates a token and returns it: 256 random bits, hex, prefixed `ws_`. Only
    /// its hash is stored, so this is the one time it can be seen.
    pub fn create_token(
        &mut self,
        name: &str,
        role: Role,
        city: Option<&str>,
    ) -> Result<String, StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::Conflict("a token needs a name".into()));
        }
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!("ws_{}", hex::encode(secret));
        let inserted = self.conn.execute(
            "INSERT INTO token (name, role, city, hash, created) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(name) DO NOTHING",
            params![name, role.id(), city, &hash(&token)[..], now()],
        )?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "a token named '{name}' exists already"
            )));
        }
        Ok(token)
    }

    /// Every token (revoked ones too), by name.
    pub fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, city, created, revoked FROM token ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        rows.map(|row| {
            let (name, role, city, created, revoked) = row?;
            Ok(Token {
                name,
                role: role.parse().map_err(StoreError::Damaged)?,
                city,
                created,
                revoked,
            })
        })
        .collect()
    }

    /// Revokes the token `name`.
    pub fn revoke_token(&mut self, name: &str) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE token SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL",
            params![name, now()],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "no active token named '{name}'"
            )));
        }
        Ok(())
    }

    /// The holder of `token`, when it is known and not revoked.
    pub fn authenticate(&self, token: &str) -> Result<Option<Token>, StoreError> {
        let wanted = hash(token);
        let found = self
            .conn
            .query_row(
                "SELECT name, role, city, created, revoked, hash FROM token WHERE hash = ?1",
                [&wanted[..]],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Vec<u8>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((name, role, city, created, revoked, stored)) = found else {
            return Ok(None);
        };
        // The lookup found it by hash; compare again in constant time so that no
        // path through this function depends on how much of a guess was right.
        if !bool::from(stored.ct_eq(&wanted[..])) || revoked.is_some() {
            return Ok(None);
        }
        Ok(Some(Token {
            name,
            role: role.parse().map_err(StoreError::Damaged)?,
            city,
            created,
            revoked,
        }))
    }
}
