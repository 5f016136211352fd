//! Operation ids: the client-chosen `operationId` that ties an operation to its events.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// The longest operation id the protocol allows, in characters.
pub const MAX_OPERATION_ID_CHARS: usize = 50;

/// An `operationId`: 1 to 50 characters, no control characters.
///
/// The server echoes it in its reply and in every event about the operation, so it is how a
/// client recognises its own operation on the event channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationId(String);

impl OperationId {
    /// Validates an operation id.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the id is empty, longer than 50 characters, or holds a
    /// control character.
    ///
    /// # Examples
    ///
    /// ```
    /// use ucwa::OperationId;
    ///
    /// assert!(OperationId::new("renegotiation-7").is_ok());
    /// assert!(OperationId::new("").is_err());
    /// assert!(OperationId::new("x".repeat(51)).is_err());
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        let chars = id.chars().count();
        if chars == 0 || chars > MAX_OPERATION_ID_CHARS {
            return Err(Error::InvalidInput(format!(
                "an operation id must have 1 to {MAX_OPERATION_ID_CHARS} characters, not {chars}"
            )));
        }
        if id.chars().any(char::is_control) {
            return Err(Error::InvalidInput(
                "an operation id must not contain control characters".to_owned(),
            ));
        }
        Ok(OperationId(id))
    }

    /// A random id (a UUID v4, 36 characters).
    pub fn random() -> Self {
        OperationId(uuid::Uuid::new_v4().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OperationId {
    type Err = Error;

    fn from_str(id: &str) -> Result<Self, Error> {
        OperationId::new(id)
    }
}

impl TryFrom<String> for OperationId {
    type Error = Error;

    fn try_from(id: String) -> Result<Self, Error> {
        OperationId::new(id)
    }
}

impl TryFrom<&str> for OperationId {
    type Error = Error;

    fn try_from(id: &str) -> Result<Self, Error> {
        OperationId::new(id)
    }
}

impl AsRef<str> for OperationId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Makes the operation ids of operations that were not given one.
///
/// The client's default is [`RandomOperationIds`]; tests can use [`FixedOperationId`] or
/// [`SequentialOperationIds`], or any closure returning an [`OperationId`].
pub trait OperationIdGenerator: Send + Sync {
    /// The id for the next operation.
    fn generate(&self) -> OperationId;
}

impl<F> OperationIdGenerator for F
where
    F: Fn() -> OperationId + Send + Sync,
{
    fn generate(&self) -> OperationId {
        self()
    }
}

/// Random UUID v4 ids: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomOperationIds;

impl OperationIdGenerator for RandomOperationIds {
    fn generate(&self) -> OperationId {
        OperationId::random()
    }
}

/// The same id every time.
#[derive(Debug, Clone)]
pub struct FixedOperationId(OperationId);

impl FixedOperationId {
    /// A generator that always yields `id`.
    pub fn new(id: OperationId) -> Self {
        FixedOperationId(id)
    }
}

impl OperationIdGenerator for FixedOperationId {
    fn generate(&self) -> OperationId {
        self.0.clone()
    }
}

/// Ids `<prefix>-<n>` with `n` counting up from a starting number: predictable for tests.
#[derive(Debug)]
pub struct SequentialOperationIds {
    prefix: String,
    next: AtomicU64,
}

impl SequentialOperationIds {
    /// Ids `<prefix>-<start>`, `<prefix>-<start + 1>`, …
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the prefix leaves no room for the number within the 50
    /// characters an id may have, or holds a control character.
    pub fn new(prefix: impl Into<String>, start: u64) -> Result<Self, Error> {
        let prefix = prefix.into();
        // The longest id this generator can make must still be valid.
        OperationId::new(format!("{prefix}-{}", u64::MAX))?;
        Ok(SequentialOperationIds {
            prefix,
            next: AtomicU64::new(start),
        })
    }
}

impl OperationIdGenerator for SequentialOperationIds {
    fn generate(&self) -> OperationId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        OperationId(format!("{}-{n}", self.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters() {
        assert!(OperationId::new("é".repeat(50)).is_ok());
        assert!(OperationId::new("é".repeat(51)).is_err());
        assert!(OperationId::new("a\nb").is_err());
    }

    #[test]
    fn random_ids_are_valid_and_differ() {
        let a = RandomOperationIds.generate();
        let b = RandomOperationIds.generate();
        assert_ne!(a, b);
        assert!(OperationId::new(a.as_str()).is_ok());
    }

    #[test]
    fn sequences_count_up_and_check_their_prefix() {
        let ids = SequentialOperationIds::new("test", 7).unwrap();
        assert_eq!(ids.generate().as_str(), "test-7");
        assert_eq!(ids.generate().as_str(), "test-8");
        assert!(SequentialOperationIds::new("p".repeat(40), 0).is_err());
    }

    #[test]
    fn closures_are_generators() {
        let fixed = OperationId::new("same").unwrap();
        let generator = move || fixed.clone();
        assert_eq!(generator.generate().as_str(), "same");
    }
}
