//! Garbage collection on the wallet's own node (`repo/gc`): after a revocation the old
//! version's objects are unpinned, and collecting removes them from this node, so it no
//! longer serves them. Other nodes keep what they keep; the caller checks the result
//! block by block (`has_locally`) rather than trusting the answer.

use std::time::Duration;

use super::{IpfsError, IpfsNode, PIN_TIMEOUT};

impl IpfsNode {
    /// Runs the node's garbage collection and answers how many blocks it says it removed.
    /// Bounded by [`PIN_TIMEOUT`] overall and [`super::STALL_TIMEOUT`] without progress.
    #[tracing::instrument(name = "ipfs_repo_gc", skip_all)]
    pub async fn collect_garbage(&self) -> Result<u64, IpfsError> {
        let result = tokio::time::timeout(PIN_TIMEOUT, self.collect_here())
            .await
            .unwrap_or_else(|_| Err(self.timed_out(PIN_TIMEOUT)));
        match &result {
            Ok(removed) => tracing::debug!(removed, "garbage collected"),
            Err(e) => tracing::debug!(error = e.kind(), "garbage collection failed"),
        }
        result
    }

    async fn collect_here(&self) -> Result<u64, IpfsError> {
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            self.send(self.post("repo/gc", &[("quiet", "true")])),
        )
        .await
        .map_err(|_| self.timed_out(Duration::from_secs(30)))??;
        let mut removed = 0u64;
        self.each_line(answer, "a garbage collection", |line| {
            removed += self.gc_line(line)?;
            Ok(true)
        })
        .await?;
        Ok(removed)
    }

    /// One line of `repo/gc`'s answer: `{"Key": {"/": "<cid>"}}` for a removed block, or
    /// `{"Error": "…"}`.
    fn gc_line(&self, line: &[u8]) -> Result<u64, IpfsError> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(0);
        }
        let value: serde_json::Value = serde_json::from_slice(line)
            .map_err(|_| self.not_ipfs("a garbage collection answer that is not JSON"))?;
        match value.get("Error").and_then(serde_json::Value::as_str) {
            Some(err) if !err.is_empty() => Err(IpfsError::Api {
                url: self.url.to_string(),
                message: err.to_owned(),
            }),
            _ => Ok(1),
        }
    }
}
