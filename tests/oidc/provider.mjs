// A real OpenID provider for the single sign-on tests: the certified `oidc-provider`
// package, run on loopback, shaped like Microsoft Entra ID across several tenants.
//
//   node provider.mjs CONFIG.json     prints {"port": N} once it listens on 127.0.0.1:N
//
// - Each tenant is its own oidc-provider instance with the issuer
//   http://127.0.0.1:N/{tenant id}/v2.0, as Entra ID's are https://login.microsoftonline.com/
//   {tenant id}/v2.0. All of them sign with the same keys, as Entra ID does.
// - /organizations/v2.0/.well-known/openid-configuration is the multi-tenant discovery
//   document, with Entra ID's issuer template; its authorisation endpoint finds the
//   person's tenant from the login_hint (Entra ID's home realm discovery) and hands over to
//   that tenant, and its token endpoint passes the request to the tenant that issued the
//   code (known from the PKCE challenge it saw).
// - /generic is one more provider of the ordinary kind (no tenants).
// - Sign-in goes through oidc-provider's own development login page; consent is given
//   for the registered clients, as an Entra ID administrator grants it for a tenant.
// - Each account's `amr` is what its sign-in reports (["pwd", "mfa"] for one that used a
//   second factor).
//
// Test controls, on loopback only: POST /_control/accounts (add accounts),
// /_control/rotate-keys (new signing keys, every tenant), /_control/clock (shift this
// provider's clock by offset_seconds, to issue tokens that have expired or are dated ahead).

import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = new Map();
for (const account of config.accounts || []) accounts.set(account.login, account);

// The provider's clock, which a test may set wrong.
const realNow = Date.now.bind(Date);
let clockOffsetMs = 0;
Date.now = () => realNow() + clockOffsetMs;

function newSigningKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' }] };
}

function publicKeys(jwks) {
  return {
    keys: jwks.keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  };
}

let signingKeys = newSigningKeys();
let port;
let providers = new Map(); // mount path -> the provider's request handler
const challengeTenants = new Map(); // PKCE code_challenge -> tenant id

function claimsOf(account, tenant) {
  const claims = {
    sub: account.sub || `${account.login}-subject`,
    email: account.email,
    email_verified: account.email_verified,
    name: account.name,
    preferred_username: account.preferred_username || account.email,
  };
  if (tenant !== 'generic') {
    claims.tid = tenant;
    claims.oid = account.oid;
  }
  for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key];
  return claims;
}

function buildProvider(mountPath, tenant) {
  const issuer = `http://127.0.0.1:${port}${mountPath}`;
  const cookieName = tenant.replace(/[^a-z0-9]/gi, '');
  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
    })),
    jwks: structuredClone(signingKeys),
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: {
      // amr in every ID token, as the sign-in recorded it (Entra ID v1 tokens carry it).
      openid: ['sub', 'tid', 'oid', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    cookies: {
      keys: ['test provider cookie key'],
      names: {
        session: `_session_${cookieName}`,
        interaction: `_interaction_${cookieName}`,
        resume: `_interaction_resume_${cookieName}`,
      },
    },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    ttl: { AccessToken: 600, AuthorizationCode: 1800, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    async findAccount(ctx, id) {
      const account = accounts.get(id);
      if (!account || account.tenant !== tenant) return undefined;
      return { accountId: id, claims: () => claimsOf(account, tenant) };
    },
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  // The development login page records no authentication methods: each account's own are
  // added to the finished login, where the provider puts them in the session and `amr`.
  const finish = provider.interactionFinished.bind(provider);
  provider.interactionFinished = async (req, res, result, options) => {
    const account = result.login && accounts.get(result.login.accountId);
    if (account?.amr) result.login.amr = account.amr;
    return finish(req, res, result, options);
  };
  provider.on('server_error', (ctx, error) => { console.error('server_error', error); });
  return provider;
}

function buildProviders() {
  providers = new Map();
  for (const tenant of config.tenants) {
    providers.set(`/${tenant.id}/v2.0`, buildProvider(`/${tenant.id}/v2.0`, tenant.id).callback());
  }
  providers.set('/generic', buildProvider('/generic', 'generic').callback());
}

// --- the multi-tenant front, in Entra ID's shape ------------------------------------------

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function multiTenantMetadata(directory) {
  const base = `http://127.0.0.1:${port}/${directory}`;
  return {
    issuer: `http://127.0.0.1:${port}/{tenantid}/v2.0`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    response_types_supported: ['code'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'name', 'email', 'preferred_username', 'oid', 'tid', 'amr'],
  };
}

function tenantForLogin(loginHint) {
  const account = accounts.get(loginHint || '');
  if (account && account.tenant !== 'generic') return account.tenant;
  const domain = (loginHint || '').split('@')[1] || '';
  return config.tenants.find((tenant) => (tenant.domains || []).includes(domain))?.id;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function multiTenant(req, res, url, directory, rest) {
  if (rest === '/v2.0/.well-known/openid-configuration') {
    return sendJson(res, 200, multiTenantMetadata(directory));
  }
  if (rest === '/discovery/v2.0/keys') return sendJson(res, 200, publicKeys(signingKeys));
  if (rest === '/oauth2/v2.0/authorize') {
    const tenant = tenantForLogin(url.searchParams.get('login_hint'));
    if (!tenant) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return res.end('No tenant has an account like that.');
    }
    const challenge = url.searchParams.get('code_challenge');
    if (challenge) challengeTenants.set(challenge, tenant);
    res.writeHead(302, { location: `/${tenant}/v2.0/auth${url.search}` });
    return res.end();
  }
  if (rest === '/oauth2/v2.0/token' && req.method === 'POST') {
    const body = await readBody(req);
    const verifier = new URLSearchParams(body.toString()).get('code_verifier') || '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const tenant = challengeTenants.get(challenge);
    if (!tenant) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'unknown code' });
    const headers = { 'content-type': req.headers['content-type'] };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const answer = await fetch(`http://127.0.0.1:${port}/${tenant}/v2.0/token`, { method: 'POST', headers, body });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') || 'application/json' });
    return res.end(Buffer.from(await answer.arrayBuffer()));
  }
  return sendJson(res, 404, { error: 'not_found' });
}

async function control(req, res, path) {
  const body = JSON.parse((await readBody(req)).toString() || '{}');
  if (path === '/_control/accounts') {
    for (const account of body.accounts) accounts.set(account.login, account);
    return sendJson(res, 200, { accounts: accounts.size });
  }
  if (path === '/_control/rotate-keys') {
    signingKeys = newSigningKeys();
    buildProviders();
    return sendJson(res, 200, { kid: signingKeys.keys[0].kid });
  }
  if (path === '/_control/clock') {
    clockOffsetMs = (body.offset_seconds || 0) * 1000;
    return sendJson(res, 200, { offset_seconds: clockOffsetMs / 1000 });
  }
  return sendJson(res, 404, { error: 'not_found' });
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    if (url.pathname.startsWith('/_control/') && req.method === 'POST') return await control(req, res, url.pathname);
    const front = url.pathname.match(/^\/(organizations|common)(\/.*)$/);
    if (front) return await multiTenant(req, res, url, front[1], front[2]);
    for (const [mountPath, handle] of providers) {
      if (url.pathname === mountPath || url.pathname.startsWith(`${mountPath}/`)) {
        req.originalUrl = req.url;
        req.url = req.url.slice(mountPath.length) || '/';
        return handle(req, res);
      }
    }
    return sendJson(res, 404, { error: 'not_found' });
  } catch (error) {
    console.error(error);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    return undefined;
  }
});

server.listen(0, '127.0.0.1', () => {
  port = server.address().port;
  buildProviders();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
