//! A stable anonymous identity: a random id and the name the server gave
//! it, carried by the client in a token that only the servers can make.
//!
//! The token is `v1.<payload>.<mac>`: the payload is the identity as JSON,
//! the mac its HMAC-SHA256 under `server.identity_secret`, both base64url.
//! Every instance with the same secret accepts it, so a name survives
//! reconnects, room switches and a move to another instance; nothing is
//! stored server-side for it.

mod names;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use names::{comparison_key, has_hidden_characters, unique_name};

const VERSION: &str = "v1";

/// Who is speaking, as far as this anonymous chat knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Random, 22 characters of base64url: which identity, never shown.
    #[serde(rename = "i")]
    pub id: String,
    /// The name the server gave it.
    #[serde(rename = "n")]
    pub name: String,
}

impl Identity {
    /// A new identity with `name`.
    pub fn new(name: String) -> Self {
        Self { id: URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()), name }
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not one this chat issued")]
    Malformed,
    #[error("the token's signature does not match (another server's, or altered)")]
    BadSignature,
}

/// Issues and checks tokens with the shared secret.
#[derive(Clone)]
pub struct Tokens {
    secret: SecretString,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens([REDACTED])")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Tokens {
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        // HMAC takes a key of any length.
        let mut mac = HmacSha256::new_from_slice(self.secret.expose_secret().as_bytes()).expect("any key length");
        mac.update(signed.as_bytes());
        mac
    }

    /// The token of `identity`.
    pub fn issue(&self, identity: &Identity) -> String {
        // An identity holds only strings: serializing cannot fail.
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(identity).expect("identities serialize"));
        let signed = format!("{VERSION}.{payload}");
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{tag}")
    }

    /// The identity a token carries, if this chat issued it.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let (signed, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let payload =
            signed.strip_prefix(VERSION).and_then(|rest| rest.strip_prefix('.')).ok_or(TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
        // Constant time: the comparison does not tell how much of a forged tag was right.
        self.mac(signed).verify_slice(&tag).map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &str) -> Tokens {
        Tokens::new(SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_token_carries_its_identity_to_any_server_with_the_secret() {
        let identity = Identity::new("Azure Ronin".into());
        let token = tokens("shared").issue(&identity);
        assert_eq!(tokens("shared").verify(&token), Ok(identity.clone()));
        assert_eq!(identity.id.len(), 22);
        assert_eq!(tokens("other").verify(&token), Err(TokenError::BadSignature));
    }

    #[test]
    fn altered_or_foreign_tokens_are_refused() {
        let tokens = tokens("shared");
        let token = tokens.issue(&Identity::new("Azure Ronin".into()));
        let (signed, tag) = token.rsplit_once('.').unwrap();
        let forged = Identity { id: "x".into(), name: "Jade Sage".into() };
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(tokens.verify(&format!("v1.{forged_payload}.{tag}")), Err(TokenError::BadSignature));
        for bad in ["", "v1", "v1..", "v2.abc.def", &format!("{signed}.!!"), "not a token at all"] {
            assert!(tokens.verify(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_secret_never_prints() {
        assert_eq!(format!("{:?}", tokens("hunter2")), "Tokens([REDACTED])");
    }
}
