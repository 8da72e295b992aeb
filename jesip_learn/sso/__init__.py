"""Signing in with the organisation's own account: OpenID Connect, with Microsoft Entra ID
across many tenants and any other OpenID provider an organisation runs.

- `models`: providers, the organisations (and Entra tenants) linked to them, the identities
  linked to accounts, organisations that require single sign-on, sign-ins under way.
- `client_secrets`: client secrets kept encrypted (Fernet).
- `protocol`: the OpenID Connect client (Authlib and joserfc): discovery, the authorisation
  request with PKCE, state and nonce, the code exchange, and the ID token's checks.
- `providers`: what administrators configure, each change in the audit log.
- `sign_in`: a sign-in as far as the provider's answer: which provider, the sign-in under
  way, the answer checked; and the provider's own sign-out.
- `completion`: what the checked answer does: refused, the account signed in, or the
  identity held for a first sign-in.
- `first_sign_in`: after a first sign-in, the new account created or the existing one
  linked.

Like the rest of the domain, nothing here imports Flask.
"""
