//! E-mail address syntax as Shopify, BigCommerce and Stripe check it: loose (one `@`, something before it, a
//! dotted domain, no spaces), unlike HubSpot's and Salesforce's own stricter rules (in their folders).

/// `local@domain.tld`: a non-empty local part, one `@`, a domain of at least two non-empty dot-separated
/// labels, no whitespace anywhere.
pub fn is_plain_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_emails() {
        for ok in ["a@b.co", "first.last+tag@mail.example.com", "x@y.z", "Ünï@exämple.de", "a\u{1}@b.co"] {
            assert!(is_plain_email(ok), "{ok}");
        }
        for bad in ["", "plain", "@example.com", "a@", "a@b", "a@b.", "a@.com", "a b@c.com", "a@b@c.com", "a@b.c\t"] {
            assert!(!is_plain_email(bad), "{bad}");
        }
    }
}
