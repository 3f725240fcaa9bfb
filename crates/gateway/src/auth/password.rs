//! argon2id password hashing with a bound on how much of it runs at once.
//!
//! One argon2 hash costs its whole memory parameter (19 MiB by default) for tens of
//! milliseconds, by design. Left to tokio's blocking pool (512 threads) a flood of logins
//! hashes hundreds at once: gigabytes of memory, and the cores starved for everything else.
//! [`Passwords`] therefore runs at most `HASH_CONCURRENCY` hashes at a time (default: one per
//! core), lets up to `HASH_QUEUE` more wait for a slot, and refuses anything beyond at once
//! with [`ApiError::Overloaded`] (503 + `Retry-After`). Memory spent on hashing is then about
//! `HASH_CONCURRENCY` x `ARGON2_MEMORY_KIB`, whatever arrives.
//!
//! The hashes run on a pool of exactly `HASH_CONCURRENCY` threads of their own, each of which
//! allocates its argon2 memory once and reuses it for every hash. Allocating it per hash (as
//! argon2's own `hash_password` does) let the allocator keep freed buffers around: RSS grew
//! by about one buffer every few hashes, to ~200 MiB after ten hashes two at a time.
//!
//! Logins for unknown usernames verify against a dummy hash made at start with the configured
//! parameters ([`Passwords::verify_unknown`]), so they cost, and take, what a wrong password
//! for a real account does, through the same slots: response timing does not tell which
//! usernames exist.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore as _;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::error::ApiError;

/// What a client refused for lack of a hashing slot is told to wait: a hash takes tens of
/// milliseconds, so slots free up quickly.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Counts of the argon2 work done, so tests can check which work a request did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Passwords hashed (registrations, admin creation).
    pub hashes: u64,
    /// Passwords verified against a stored hash or the dummy hash (logins).
    pub verifies: u64,
}

/// The bounded password hasher; one per process, shared by every handler.
pub struct Passwords {
    memory_kib: u32,
    iterations: u32,
    /// Requests admitted (hashing or waiting for a slot): `HASH_CONCURRENCY + HASH_QUEUE`.
    admitted: Arc<Semaphore>,
    /// Hashes running: `HASH_CONCURRENCY`.
    running: Arc<Semaphore>,
    /// `HASH_CONCURRENCY` threads that run the hashes.
    threads: rayon::ThreadPool,
    /// A hash of a random password with the configured parameters, for unknown usernames.
    dummy: String,
    hashes: AtomicU64,
    verifies: AtomicU64,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("memory_kib", &self.memory_kib)
            .field("iterations", &self.iterations)
            .field("work", &self.work())
            .finish()
    }
}

fn params(memory_kib: u32, iterations: u32) -> Result<Params, argon2::Error> {
    Params::new(memory_kib, iterations, 1, None)
}

impl Passwords {
    /// The hasher `config` asks for. Makes the dummy hash (one hash with the configured
    /// parameters), which also checks them: bad `ARGON2_*` values fail here, at start.
    pub async fn new(config: &Config) -> anyhow::Result<Passwords> {
        let (memory_kib, iterations) = (config.argon2_memory_kib, config.argon2_iterations);
        params(memory_kib, iterations).map_err(|e| {
            anyhow::anyhow!(
                "invalid ARGON2_MEMORY_KIB={memory_kib} / ARGON2_ITERATIONS={iterations}: {e}"
            )
        })?;
        let concurrency = config.hash_concurrency.max(1);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(concurrency)
            .thread_name(|i| format!("argon2-{i}"))
            .panic_handler(|_| tracing::error!("a password hash panicked"))
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        threads.spawn(move || {
            let mut random = [0u8; 32];
            rand::rng().fill_bytes(&mut random);
            let _ = tx.send(hash_now(&random, memory_kib, iterations));
        });
        let dummy = rx.await??;
        Ok(Passwords {
            memory_kib,
            iterations,
            admitted: Arc::new(Semaphore::new(concurrency + config.hash_queue)),
            running: Arc::new(Semaphore::new(concurrency)),
            threads,
            dummy,
            hashes: AtomicU64::new(0),
            verifies: AtomicU64::new(0),
        })
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=...`) with the configured
    /// parameters.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let (memory_kib, iterations) = (self.memory_kib, self.iterations);
        let phc = self
            .run(move || hash_now(password.as_bytes(), memory_kib, iterations))
            .await?
            .map_err(ApiError::Internal)?;
        self.hashes.fetch_add(1, Ordering::Relaxed);
        Ok(phc)
    }

    /// Whether `password` matches the stored hash `phc` (its own parameters are used).
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, ApiError> {
        let keep = self.memory_kib;
        let ok = self
            .run(move || verify_now(password.as_bytes(), &phc, keep))
            .await?
            .map_err(ApiError::Internal)?;
        self.verifies.fetch_add(1, Ordering::Relaxed);
        Ok(ok)
    }

    /// The work of [`Passwords::verify`] for a username that does not exist: `password` is
    /// verified against the dummy hash (and can never log in).
    pub async fn verify_unknown(&self, password: String) -> Result<(), ApiError> {
        self.verify(password, self.dummy.clone()).await.map(|_| ())
    }

    /// The argon2 work done so far.
    pub fn work(&self) -> Work {
        Work {
            hashes: self.hashes.load(Ordering::Relaxed),
            verifies: self.verifies.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` on a hashing thread once a slot is free; `Overloaded` at once when every
    /// slot is busy and the queue is full. The permits move into the job, so a client that
    /// disconnects mid-hash does not free its slot before the hash ends (one waiting for a
    /// slot leaves the queue at once).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("password_hash_refused_total").increment(1);
            ApiError::Overloaded(
                "the server is busy checking passwords; retry in a second".into(),
                RETRY_AFTER,
            )
        })?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing slots closed: {e}")))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        // At most `HASH_CONCURRENCY` jobs hold `running`, so a job never waits in the pool.
        self.threads.spawn(move || {
            let _ = tx.send(f());
            drop((running, admitted));
        });
        rx.await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a password hash panicked")))
    }
}

thread_local! {
    /// This thread's argon2 memory, kept between hashes (see the module docs).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The argon2 output of `password` and `salt` under `argon`, `len` bytes long, computed in
/// this thread's kept memory when it needs no more than `keep_kib` (the configured memory
/// parameter; a stored hash made with more gets memory of its own, freed afterwards).
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    len: usize,
    keep_kib: u32,
) -> anyhow::Result<Output> {
    let mut salt_buf = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let blocks = argon.params().block_count();
    let fill = |memory: &mut [Block]| {
        Output::init_with(len, |out| {
            argon
                .hash_password_into_with_memory(password, salt, out, &mut *memory)
                .map_err(Into::into)
        })
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    };
    // One block is one KiB.
    if blocks > keep_kib as usize {
        return fill(&mut vec![Block::default(); blocks]);
    }
    MEMORY.with(|m| {
        let mut memory = m.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        fill(&mut memory[..blocks])
    })
}

/// One argon2id hash of `password` with a fresh random salt, as a PHC string, on the calling
/// thread.
fn hash_now(password: &[u8], memory_kib: u32, iterations: u32) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let params = params(memory_kib, iterations).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = compute(
        &argon,
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
        memory_kib,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (with the algorithm, version and
/// parameters written in it), on the calling thread; outputs compare in constant time.
fn verify_now(password: &[u8], phc: &str, keep_kib: u32) -> anyhow::Result<bool> {
    let unreadable =
        |e: argon2::password_hash::Error| anyhow::anyhow!("stored hash unreadable: {e}");
    let parsed = PasswordHash::new(phc).map_err(unreadable)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("stored hash has no salt or no output");
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(unreadable)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(unreadable)?;
    let argon = Argon2::new(algorithm, version, params);
    let computed = compute(&argon, password, salt, expected.len(), keep_kib)?;
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn passwords(concurrency: usize, queue: usize) -> Passwords {
        let mut config = Config::for_tests("unused");
        config.hash_concurrency = concurrency;
        config.hash_queue = queue;
        Passwords::new(&config).await.unwrap()
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let p = passwords(1, 1).await;
        let h = p.hash("hunter22".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{h}");
        assert!(p.verify("hunter22".into(), h.clone()).await.unwrap());
        assert!(!p.verify("hunter23".into(), h).await.unwrap());
        assert_eq!(
            p.work(),
            Work {
                hashes: 1,
                verifies: 2
            }
        );
    }

    /// Hashes made by argon2's own API (every hash stored before the memory was kept per
    /// thread) verify here, and hashes made here verify there.
    #[test]
    fn hashes_agree_with_argon2s_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let params = params(2048, 2).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(
                b"hunter22",
                &SaltString::encode_b64(b"sixteen byte salt").unwrap(),
            )
            .unwrap()
            .to_string();
        assert!(verify_now(b"hunter22", &theirs, 1024).unwrap());
        assert!(verify_now(b"hunter22", &theirs, 4096).unwrap());
        assert!(!verify_now(b"hunter23", &theirs, 4096).unwrap());
        let ours = hash_now(b"hunter22", 2048, 2).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"hunter22", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"hunter23", &parsed)
            .is_err());
        assert!(verify_now(b"x", "$argon2id$junk", 1024).is_err());
    }

    #[tokio::test]
    async fn the_dummy_hash_has_the_configured_parameters_and_matches_nothing() {
        let p = passwords(1, 0).await;
        assert!(p.dummy.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        p.verify_unknown("".into()).await.unwrap();
        assert_eq!(p.work().verifies, 1);
    }

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_requests_are_refused_at_once() {
        let p = Arc::new(passwords(1, 1).await);
        // A hash in progress: its admission and the one slot.
        let busy = (
            p.admitted.clone().try_acquire_owned().unwrap(),
            p.running.clone().acquire_owned().await.unwrap(),
        );
        // The one queue place.
        let queued = tokio::spawn({
            let p = p.clone();
            async move { p.hash("queued-password".into()).await }
        });
        while p.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let e = p.hash("refused-password".into()).await.unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.retry_after(), Some(RETRY_AFTER));
        drop(busy);
        assert!(
            queued.await.unwrap().is_ok(),
            "the queued request was served"
        );
    }

    #[tokio::test]
    async fn bad_argon2_parameters_fail_at_start_naming_the_variables() {
        let mut config = Config::for_tests("unused");
        config.argon2_memory_kib = 1;
        let e = Passwords::new(&config).await.unwrap_err().to_string();
        assert!(e.contains("ARGON2_MEMORY_KIB"), "{e}");
    }
}
