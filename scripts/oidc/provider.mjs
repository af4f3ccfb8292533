// A real OpenID provider (the `oidc-provider` package) for Guild's single sign-on tests.
//
//   PORT=4000 OIDC_CLIENTS='[{"client_id":"guild","client_secret":"…","redirect_uris":["…"]}]' \
//     node scripts/oidc/provider.mjs
//
// The issuer is http://127.0.0.1:PORT (the tests' fetch guard allows loopback). Test-only parts:
// - The sign-in interaction signs in whoever the authorization request's `login_hint` names:
//   base64url of the account's claims as JSON ({"sub", "email", "email_verified", "name",
//   "groups"}), with no form to fill in; the grant of `openid email profile` is given at once.
// - `GET /__test/tamper?aud=…&nonce=…&kid=…&iss=…` makes the next token response carry an ID
//   token changed that way and signed again with the provider's own key (or, with `kid=unknown`,
//   with a key the provider never published): a provider that issues a wrong token.
// - `GET /__test/rotate` replaces the signing key: only the new one is published and signs from
//   then on, so Guild must fetch the keys again (a token names a key id its cached set lacks).
// Prints `ready` on stdout once it listens.
import http from 'node:http';

import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 4000);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } };
}

let current = await signingKey('k1');
const accounts = new Map();
let tamper = null;

function configuration(key) {
  return {
    clients,
    jwks: { keys: [key.jwk] },
    cookies: { keys: ['guild-test-oidc-provider-cookie-key'] },
    // ID tokens carry the granted scopes' claims (email, name, groups), not only `sub`.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'groups'],
    },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  };
}

let provider = build(current);

function build(key) {
  const p = new Provider(issuer, configuration(key));
  p.use(async (ctx, next) => {
    if (ctx.path.startsWith('/interaction/')) {
      const details = await p.interactionDetails(ctx.req, ctx.res);
      const hint = details.params.login_hint;
      if (!hint) {
        ctx.status = 400;
        ctx.body = 'login_hint (base64url JSON claims) is required';
        return;
      }
      const claims = JSON.parse(Buffer.from(String(hint), 'base64url').toString('utf8'));
      accounts.set(claims.sub, claims);
      const redirectTo = await p.interactionResult(
        ctx.req,
        ctx.res,
        { login: { accountId: claims.sub } },
        { mergeWithLastSubmission: false },
      );
      ctx.redirect(redirectTo);
      return;
    }
    if (ctx.path === '/__test/tamper') {
      tamper = { ...ctx.query };
      ctx.body = { ok: true };
      return;
    }
    await next();
    if (ctx.path === '/token' && ctx.method === 'POST' && tamper && ctx.body?.id_token) {
      const change = tamper;
      tamper = null;
      const claims = decodeJwt(ctx.body.id_token);
      const header = decodeProtectedHeader(ctx.body.id_token);
      if (change.aud) claims.aud = change.aud;
      if (change.nonce) claims.nonce = change.nonce;
      if (change.iss) claims.iss = change.iss;
      let key = current;
      if (change.kid === 'unknown') key = await signingKey('never-published');
      ctx.body = {
        ...ctx.body,
        id_token: await new SignJWT(claims)
          .setProtectedHeader({ alg: header.alg, kid: key.kid })
          .sign(key.privateKey),
      };
    }
  });
  return p;
}

// Rotating keys needs a provider built with the new key; requests go to whichever is current
// (the in-memory adapter's sessions, codes and grants are shared between them).

const server = http.createServer(async (req, res) => {
  if (req.url === '/__test/rotate') {
    current = await signingKey(`k${Date.now()}`);
    const next = build(current);
    provider = next;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kid: current.kid }));
    return;
  }
  provider.callback()(req, res);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
