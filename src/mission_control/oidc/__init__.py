"""OpenID Connect sign-on: issuer discovery, JWKS-checked bearer JWTs, users on first sign-in."""
