//! How secrets appear when leadgen must name them: a key by its first and
//! last 4 characters, a URL with its password so masked. A leaf: messages
//! in every room (config, doctor, the gateway's shared quota) use it.

/// A secret shown only by its first and last 4 characters (`demo…cret`);
/// a value of 8 characters or fewer shows as `…`.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A URL with its password (if any) masked; an unparsable URL is masked whole.
pub fn mask_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => match u.password().map(mask) {
            Some(masked) => {
                // `set_password` would percent-encode the ellipsis.
                let plain = u.to_string();
                if u.set_password(Some("PASSWORD")).is_err() {
                    return mask(&plain);
                }
                u.to_string().replacen("PASSWORD", &masked, 1)
            }
            None => u.to_string(),
        },
        Err(_) => mask(raw),
    }
}
