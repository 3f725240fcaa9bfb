//! Where a gateway process started by a test listens, as the process itself reports it.

/// The address in the gateway's "gateway listening on http://<addr>" line, read from its
/// standard output, which a thread then keeps draining (the log goes there too and a full
/// pipe would stall the process). `None` when the process ends first.
pub async fn listening_address(stdout: std::process::ChildStdout) -> Option<std::net::SocketAddr> {
    use std::io::BufRead as _;
    let (found, addr) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("gateway listening on http://") {
                if let (Some(tx), Ok(a)) = (found.take(), rest.trim().parse()) {
                    let _ = tx.send(a);
                }
            }
        }
    });
    addr.await.ok()
}
