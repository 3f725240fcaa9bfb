//! Opaque bearer tokens: 32 random bytes, base64url, with an expiry.
//!
//! Only the SHA-256 of a token is stored (a leaked store does not leak usable tokens). In cluster
//! mode the store is Redis Cluster (`SET tok:<hash> <user id> EX <ttl>`), so every gateway sees
//! every login and logout; on the embedded default it is an in-process map with expiry that is
//! swept lazily (on lookup, and of the whole map every 1024 inserts) so it stays bounded by the
//! number of live tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::RngCore as _;
use redis::AsyncCommands as _;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Where token hashes live.
#[derive(Clone)]
pub enum TokenStore {
    /// In-process map: hash → (user id, expiry).
    Memory(Arc<Mutex<MemoryStore>>),
    /// Redis Cluster.
    Redis(redis::cluster_async::ClusterConnection),
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenStore::Memory(_) => f.write_str("TokenStore::Memory"),
            TokenStore::Redis(_) => f.write_str("TokenStore::Redis"),
        }
    }
}

/// The in-process store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tokens: HashMap<[u8; 32], (i64, Instant)>,
    inserts: u64,
}

/// A new random token (43 characters of base64url).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn redis_key(token: &str) -> String {
    let h = hash(token);
    let mut s = String::with_capacity(4 + 64);
    s.push_str("tok:");
    for b in h {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl TokenStore {
    /// The in-process store.
    pub fn memory() -> Self {
        TokenStore::Memory(Arc::new(Mutex::new(MemoryStore::default())))
    }

    /// Stores `token` for `user_id`, expiring after `ttl`.
    pub async fn insert(&self, token: &str, user_id: i64, ttl: Duration) -> Result<(), ApiError> {
        match self {
            TokenStore::Memory(m) => {
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                m.inserts += 1;
                if m.inserts % 1024 == 0 {
                    m.tokens.retain(|_, (_, exp)| *exp > now);
                }
                m.tokens.insert(hash(token), (user_id, now + ttl));
                Ok(())
            }
            TokenStore::Redis(c) => {
                let mut c = c.clone();
                let _: () = c
                    .set_ex(redis_key(token), user_id, ttl.as_secs().max(1))
                    .await?;
                Ok(())
            }
        }
    }

    /// The user id of a live token, `None` if unknown or expired.
    pub async fn get(&self, token: &str) -> Result<Option<i64>, ApiError> {
        match self {
            TokenStore::Memory(m) => {
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                let h = hash(token);
                match m.tokens.get(&h) {
                    Some((uid, exp)) if *exp > Instant::now() => Ok(Some(*uid)),
                    Some(_) => {
                        m.tokens.remove(&h);
                        Ok(None)
                    }
                    None => Ok(None),
                }
            }
            TokenStore::Redis(c) => {
                let mut c = c.clone();
                Ok(c.get(redis_key(token)).await?)
            }
        }
    }

    /// Revokes a token (no error if it was not live).
    pub async fn remove(&self, token: &str) -> Result<(), ApiError> {
        match self {
            TokenStore::Memory(m) => {
                m.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .tokens
                    .remove(&hash(token));
                Ok(())
            }
            TokenStore::Redis(c) => {
                let mut c = c.clone();
                let _: () = c.del(redis_key(token)).await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_expires_and_revokes() {
        let s = TokenStore::memory();
        let t = new_token();
        assert_eq!(t.len(), 43);
        s.insert(&t, 7, Duration::from_secs(60)).await.unwrap();
        assert_eq!(s.get(&t).await.unwrap(), Some(7));
        assert_eq!(s.get("other").await.unwrap(), None);
        s.remove(&t).await.unwrap();
        assert_eq!(s.get(&t).await.unwrap(), None);
        let t2 = new_token();
        s.insert(&t2, 8, Duration::ZERO).await.unwrap();
        assert_eq!(s.get(&t2).await.unwrap(), None);
    }

    #[test]
    fn redis_key_is_hash_not_token() {
        let k = redis_key("secret");
        assert!(k.starts_with("tok:") && !k.contains("secret") && k.len() == 68);
    }
}
