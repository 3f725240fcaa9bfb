//! `both!(scenario, name)`: runs one async scenario `fn(&Ctx)` twice, as
//! `name::sqlite` (embedded default) and `name::mysql` (MySQL primary +
//! replica and Redis Cluster from `scripts/stack env`). Each test binary
//! that includes this file provides `crate::common::Ctx` with `sqlite()`,
//! `mysql()` and `finish()`.

macro_rules! both {
    ($scenario:path, $name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let ctx = crate::common::Ctx::sqlite().await;
                $scenario(&ctx).await;
                ctx.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                let ctx = crate::common::Ctx::mysql().await;
                $scenario(&ctx).await;
                ctx.finish().await;
            }
        }
    };
}
