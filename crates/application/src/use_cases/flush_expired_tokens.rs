use std::sync::Arc;

use crate::ports::{Clock, RefreshTokenStore, RepositoryError};

/// Deletes the rows of refresh tokens that have expired; they can never be used again.
#[derive(Clone)]
pub struct FlushExpiredTokens {
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub clock: Arc<dyn Clock>,
}

impl FlushExpiredTokens {
    /// Returns how many rows were deleted.
    pub fn execute(&self) -> Result<u64, RepositoryError> {
        self.refresh_tokens.delete_expired(self.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    #[test]
    fn expired_tokens_are_deleted_as_of_now() {
        let mut ports = Ports::new();
        ports
            .refresh_tokens
            .expect_delete_expired()
            .withf(|at| *at == now())
            .times(1)
            .returning(|_| Ok(4));
        let flush = FlushExpiredTokens {
            refresh_tokens: Arc::new(ports.refresh_tokens),
            clock: fixed_clock(),
        };
        assert_eq!(flush.execute().expect("flushes"), 4);
    }
}
