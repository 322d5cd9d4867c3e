use std::net::{IpAddr, SocketAddr};

use crate::error::{ValidationError, ValidationErrorKind, shown};

pub(crate) fn parse_ip(value: &str) -> Result<IpAddr, ValidationError> {
    value
        .parse()
        .map_err(|_| ValidationErrorKind::IpAddr(shown(value)).into())
}

/// Empty means absent, as proto3 strings cannot be unset.
pub(crate) fn parse_optional_ip(value: &str) -> Result<Option<IpAddr>, ValidationError> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_ip(value).map(Some)
}

/// Port 0 is refused: it cannot be sent to.
pub(crate) fn parse_optional_socket_addr(
    value: &str,
) -> Result<Option<SocketAddr>, ValidationError> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<SocketAddr>() {
        Ok(addr) if addr.port() != 0 => Ok(Some(addr)),
        Ok(_) => Err(ValidationErrorKind::Port(0).into()),
        Err(_) => Err(ValidationErrorKind::SocketAddr(shown(value)).into()),
    }
}

pub(crate) fn parse_ip_list(
    field: &str,
    values: &[String],
) -> Result<Vec<IpAddr>, ValidationError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| parse_ip(v).map_err(|e| e.at(format!("{field}[{i}]"))))
        .collect()
}

/// Appends `ip` as `Display` writes it. IPv4, nearly every pod address, is written
/// digit by digit: formatting a million keys through `fmt` was a tenth of an export.
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    let IpAddr::V4(v4) = ip else {
        use std::fmt::Write as _;
        let _ = write!(out, "{ip}");
        return;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

pub(crate) fn to_strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_ips_read_as_displayed() {
        let mut samples: Vec<IpAddr> = (0..=255u8)
            .map(|b| IpAddr::from([b, 255 - b, b / 10, 100]))
            .collect();
        samples.extend(
            [
                "0.0.0.0",
                "255.255.255.255",
                "fd00::1",
                "::ffff:10.0.0.1",
                "::",
            ]
            .map(|s| s.parse::<IpAddr>().expect("address")),
        );
        for ip in samples {
            let mut out = String::from("x/");
            push_ip(&mut out, ip);
            assert_eq!(out, format!("x/{ip}"));
        }
    }

    #[test]
    fn ips() {
        assert_eq!(parse_ip("10.0.0.1").expect("v4").to_string(), "10.0.0.1");
        assert_eq!(parse_ip("fd00::1").expect("v6").to_string(), "fd00::1");
        for bad in [
            "",
            "10.0.0",
            "10.0.0.256",
            "010.0.0.1",
            "10.0.0.1/32",
            "[fd00::1]",
            "x",
        ] {
            assert!(parse_ip(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_optional_ip("").expect("empty"), None);
        let err = parse_ip_list("addrs", &["10.0.0.1".into(), "nope".into()]).expect_err("bad");
        assert_eq!(err.to_string(), "addrs[1]: invalid IP address \"nope\"");
    }

    #[test]
    fn socket_addrs() {
        assert_eq!(parse_optional_socket_addr("").expect("empty"), None);
        for ok in ["10.0.0.1:51820", "[fd00::1]:51820"] {
            let addr = parse_optional_socket_addr(ok).expect(ok).expect("present");
            assert_eq!(addr.to_string(), ok);
        }
        for bad in [
            "10.0.0.1",
            "10.0.0.1:0",
            "fd00::1:51820",
            "host:1",
            "10.0.0.1:70000",
        ] {
            assert!(parse_optional_socket_addr(bad).is_err(), "{bad:?}");
        }
    }
}
