//! argon2id password hashing, run on the blocking pool (hashing takes tens of milliseconds by
//! design and must not stall the async workers).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;

use crate::error::ApiError;

fn hasher(memory_kib: u32, iterations: u32) -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(memory_kib.max(8), iterations.max(1), 1, None)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=...`).
pub async fn hash(password: String, memory_kib: u32, iterations: u32) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("salt: {e}")))?;
        let h = hasher(memory_kib, iterations)?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2: {e}")))?;
        Ok(h.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("hash task: {e}")))?
}

/// Whether `password` matches `phc` (parameters are read from the stored hash).
pub async fn verify(password: String, phc: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("verify task: {e}")))?
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hash_and_verify() {
        let h = super::hash("hunter22".into(), 1024, 1).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("hunter22".into(), h.clone()).await.unwrap());
        assert!(!super::verify("hunter23".into(), h).await.unwrap());
    }
}
