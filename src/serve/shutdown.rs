//! Stopping: SIGTERM or Ctrl-C (SIGINT) ends accepting; requests in flight
//! finish (within the grace period), then the process exits 0.

/// Resolves at the first SIGTERM or Ctrl-C.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                let term = async move {
                    term.recv().await;
                };
                first(ctrl_c, term).await;
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// Resolves when either future does.
async fn first(a: impl std::future::Future<Output = ()>, b: impl std::future::Future<Output = ()>) {
    let (a, b) = (std::pin::pin!(a), std::pin::pin!(b));
    let mut a = a;
    let mut b = b;
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}
