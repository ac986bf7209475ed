//! `sasl.oauthbearer.*`: the token source of the OAUTHBEARER mechanism, built-in OIDC client
//! credentials or the built-in unsecured token, from librdkafka's keys and Java's JAAS options.

use super::{ConfigError, Pending, Secret, TokenSource, invalid, invalid_secret};

/// The OIDC client-credentials settings (librdkafka's names; Java's JAAS options `clientId`,
/// `clientSecret` and `scope` fill what is missing).
pub(super) fn oidc_token_source(
    p: &Pending,
    jaas_option: &dyn Fn(&str) -> Option<String>,
) -> Result<TokenSource, ConfigError> {
    if !cfg!(feature = "oidc") {
        return Err(invalid(
            "sasl.oauthbearer.method",
            "oidc",
            "the `oidc` cargo feature of ferrokafka (the built-in OIDC provider), or an \
             OAuthBearerTokenProvider",
        ));
    }
    let url = p.token_endpoint.clone().ok_or_else(|| {
        invalid(
            "sasl.oauthbearer.token.endpoint.url",
            "",
            "the identity provider's token endpoint (http:// or https://)",
        )
    })?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(invalid(
            "sasl.oauthbearer.token.endpoint.url",
            &url,
            "an http:// or https:// URL",
        ));
    }
    let client_id = p
        .client_id
        .clone()
        .or_else(|| jaas_option("clientId"))
        .ok_or_else(|| invalid("sasl.oauthbearer.client.id", "", "the OIDC client id"))?;
    let client_secret = p
        .client_secret
        .clone()
        .or_else(|| jaas_option("clientSecret").map(Secret))
        .ok_or_else(|| {
            invalid(
                "sasl.oauthbearer.client.secret",
                "",
                "the OIDC client secret",
            )
        })?;
    Ok(TokenSource::Oidc {
        url,
        client_id,
        client_secret,
        scope: p.scope.clone().or_else(|| jaas_option("scope")),
    })
}

/// The built-in unsecured token: librdkafka's `sasl.oauthbearer.config`
/// (`principal=alice scope=a,b lifeSeconds=3600`) or Java's
/// `OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice"`.
pub(super) fn unsecured_token_source(
    p: &Pending,
    jaas_option: &dyn Fn(&str) -> Option<String>,
) -> Result<TokenSource, ConfigError> {
    let mut principal = jaas_option("unsecuredLoginStringClaim_sub");
    let mut scope = jaas_option("unsecuredLoginListClaim_scope");
    let mut life_seconds = jaas_option("unsecuredLoginLifetimeSeconds")
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                invalid_secret(
                    "sasl.jaas.config",
                    "unsecuredLoginLifetimeSeconds in seconds",
                )
            })
        })
        .transpose()?
        .unwrap_or(3600);
    if let Some(config) = &p.oauthbearer_config {
        for part in config.expose().split_whitespace() {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                invalid_secret(
                    "sasl.oauthbearer.config",
                    "space-separated key=value pairs: principal=..., scope=..., lifeSeconds=...",
                )
            })?;
            match k {
                "principal" => principal = Some(v.to_owned()),
                "scope" => scope = Some(v.replace(',', " ")),
                "lifeSeconds" => {
                    life_seconds = v.parse().map_err(|_| {
                        invalid_secret("sasl.oauthbearer.config", "lifeSeconds in seconds")
                    })?;
                }
                _ => {}
            }
        }
    }
    let principal = principal.ok_or_else(|| {
        invalid(
            "sasl.oauthbearer.config",
            "",
            "principal=<name> for the built-in unsecured token, or an OAuthBearerTokenProvider",
        )
    })?;
    Ok(TokenSource::Unsecured {
        principal,
        scope,
        life_seconds: life_seconds.max(1),
    })
}
