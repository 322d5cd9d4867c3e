use std::num::NonZeroU16;

use crate::error::{ValidationError, ValidationErrorKind};

/// A port number from the wire, 1..=65535.
pub(crate) fn parse_port(value: u32) -> Result<NonZeroU16, ValidationError> {
    u16::try_from(value)
        .ok()
        .and_then(NonZeroU16::new)
        .ok_or_else(|| ValidationErrorKind::Port(value).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_1_to_65535() {
        assert_eq!(parse_port(1).expect("valid").get(), 1);
        assert_eq!(parse_port(65535).expect("valid").get(), 65535);
        for bad in [0, 65536, u32::MAX] {
            let err = parse_port(bad).expect_err("out of range");
            assert_eq!(
                err.to_string(),
                format!("port {bad} out of range 1..=65535")
            );
        }
    }
}
