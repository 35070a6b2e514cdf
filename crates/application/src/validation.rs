//! Field errors in the shape clients know: messages keyed by field, nested for nested objects.

/// Where an error belongs: `["username"]`, `["profile", "phone"]`, or `[]` for the value itself.
pub type FieldPath = Vec<&'static str>;

/// The key for errors that belong to no single field, as DRF names it.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// Every validation message for one request, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(FieldPath, String)>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One message about the value itself.
    pub fn single(message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(&[], message);
        errors
    }

    /// One message under `path`.
    pub fn single_at(path: &[&'static str], message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(path, message);
        errors
    }

    pub fn add(&mut self, path: &[&'static str], message: impl Into<String>) {
        self.0.push((path.to_vec(), message.into()));
    }

    /// Adds every error of `nested` below `prefix`.
    pub fn extend_under(&mut self, prefix: &[&'static str], nested: FieldErrors) {
        for (path, message) in nested.0 {
            let mut full = prefix.to_vec();
            full.extend(path);
            self.0.push((full, message));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[&'static str], &str)> {
        self.0
            .iter()
            .map(|(path, message)| (path.as_slice(), message.as_str()))
    }

    /// `Ok(())` when there is nothing to report.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// One field of a request as the client sent it, before the use case parses it.
///
/// The transport decides what "absent" and "rejected" mean (a missing JSON key, a `null`, a number
/// where a string belongs); the use case decides whether the field is required and what a valid
/// value is. `Rejected` carries the transport's errors relative to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted<T> {
    Absent,
    Rejected(FieldErrors),
    Value(T),
}

impl<T> Submitted<T> {
    /// The value of a field that must be present; records why not under `field` otherwise.
    pub fn required(self, field: &'static str, errors: &mut FieldErrors) -> Option<T> {
        match self {
            Self::Absent => {
                errors.add(&[field], REQUIRED);
                None
            }
            other => other.optional(field, errors),
        }
    }

    /// The value of a field that may be left out; records why it is unusable under `field`.
    pub fn optional(self, field: &'static str, errors: &mut FieldErrors) -> Option<T> {
        match self {
            Self::Absent => None,
            Self::Rejected(nested) => {
                errors.extend_under(&[field], nested);
                None
            }
            Self::Value(value) => Some(value),
        }
    }
}

impl Submitted<String> {
    /// The value of a required text field that may not be empty (DRF's `allow_blank=False`).
    pub fn required_non_blank(
        self,
        field: &'static str,
        errors: &mut FieldErrors,
    ) -> Option<String> {
        let raw = self.required(field, errors)?;
        if raw.is_empty() {
            errors.add(&[field], BLANK);
            return None;
        }
        Some(raw)
    }
}

pub(crate) const REQUIRED: &str = "This field is required.";
pub(crate) const BLANK: &str = "This field may not be blank.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_nest_under_their_prefix() {
        let mut errors = FieldErrors::new();
        errors.extend_under(&["profile"], {
            let mut nested = FieldErrors::new();
            nested.add(&["phone"], "too long");
            nested
        });
        let collected: Vec<_> = errors.iter().collect();
        assert_eq!(collected, vec![(&["profile", "phone"][..], "too long")]);
    }

    #[test]
    fn an_absent_required_field_is_reported_as_required() {
        let mut errors = FieldErrors::new();
        assert_eq!(
            Submitted::<String>::Absent.required("email", &mut errors),
            None
        );
        assert_eq!(
            errors.iter().collect::<Vec<_>>(),
            vec![(&["email"][..], REQUIRED)]
        );
    }

    #[test]
    fn an_absent_optional_field_is_no_error() {
        let mut errors = FieldErrors::new();
        assert_eq!(
            Submitted::<String>::Absent.optional("phone", &mut errors),
            None
        );
        assert!(errors.is_empty());
    }

    #[test]
    fn a_rejected_field_reports_the_transport_message_under_its_name() {
        let mut errors = FieldErrors::new();
        let field =
            Submitted::<String>::Rejected(FieldErrors::single("This field may not be null."));
        assert_eq!(field.required("username", &mut errors), None);
        assert_eq!(
            errors.iter().collect::<Vec<_>>(),
            vec![(&["username"][..], "This field may not be null.")]
        );
    }
}
