// A real OpenID Connect provider on loopback for datafix's sign-in tests: npm's oidc-provider
// (a certified implementation) with its own login, consent and device pages. Started by the
// tests (tests/web/oidc_test.cpp) as `node provider.mjs`; prints "issuer <url>" once it listens.
//
// Environment:
//   OIDC_REDIRECT_URI   datafix's callback (http://127.0.0.1:PORT/auth/callback)
//   OIDC_CLIENT_SECRET  the secret of client "datafix" (confidential, PKCE required)
//   OIDC_PEOPLE         JSON list of {id, email, email_verified, name, groups}: who can sign in
//                       (the login page takes the id as login; the password is not checked)
//
// Test controls (loopback only, outside the provider's routes), so the tests can make the
// provider misbehave the ways a broken or hostile one would:
//   POST /_test/rotate           new signing keys (new kids); the old ones are no longer published
//   POST /_test/id_token/<mode>  the token endpoint's next ID tokens are replaced: "expired",
//                                "wrong-audience", "wrong-issuer", "forged" (signed with a key
//                                the provider never published, under a published kid), "none"
//                                (alg=none), "hs256" (HS256 keyed with the published RSA key),
//                                "es256" (genuine claims signed with the published P-256 key),
//                                or "genuine" (unchanged)
import http from 'node:http';
import crypto from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const redirectUri = process.env.OIDC_REDIRECT_URI;
const clientSecret = process.env.OIDC_CLIENT_SECRET;
const people = JSON.parse(process.env.OIDC_PEOPLE || '[]');
if (!redirectUri || !clientSecret) {
  console.error('provider.mjs: OIDC_REDIRECT_URI and OIDC_CLIENT_SECRET are required');
  process.exit(2);
}

let generation = 0;
let keys = null; // { rsa: {publicJwk, privateJwk}, ec: {...} }
let mode = 'genuine';
let provider = null;
let issuer = '';

async function newKeys() {
  generation += 1;
  const make = async (alg, kid) => {
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' };
    const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
    return { privateJwk, publicJwk, privateKey, publicKey };
  };
  return {
    rsa: await make('RS256', `rsa-${generation}`),
    ec: await make('ES256', `ec-${generation}`),
  };
}

function makeProvider() {
  const p = new Provider(issuer, {
    clients: [{
      client_id: 'datafix',
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [keys.rsa.privateJwk, keys.ec.privateJwk] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
    },
    cookies: { keys: ['datafix-test-cookie-key'] },
    async findAccount(ctx, id) {
      const person = people.find((x) => x.id === id);
      if (!person) {
        return undefined;
      }
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: person.email,
            email_verified: person.email_verified !== false,
            name: person.name,
            groups: person.groups || [],
          };
        },
      };
    },
  });
  // The tests' tampering with ID tokens, on the token endpoint's answers.
  p.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || mode === 'genuine' || !ctx.body || !ctx.body.id_token) {
      return;
    }
    ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token) };
  });
  p.on('server_error', (ctx, err) => console.error('provider error:', err));
  return p;
}

function b64url(data) {
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64url');
}

async function tamper(idToken) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  const signRsa = (payload, key = keys.rsa.privateKey, kid = keys.rsa.privateJwk.kid) =>
    new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
  switch (mode) {
    case 'expired':
      return signRsa({ ...claims, iat: now - 7200, exp: now - 3600 });
    case 'wrong-audience':
      return signRsa({ ...claims, aud: 'another-client' });
    case 'wrong-issuer':
      return signRsa({ ...claims, iss: 'http://127.0.0.1:1/elsewhere' });
    case 'forged': {
      const { privateKey } = await jose.generateKeyPair('RS256');
      return signRsa(claims, privateKey);
    }
    case 'none':
      return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    case 'hs256': {
      // The classic confusion: the published RSA key (as PEM) used as an HMAC secret.
      const pem = await jose.exportSPKI(keys.rsa.publicKey);
      const input = `${b64url({ alg: 'HS256', kid: keys.rsa.privateJwk.kid, typ: 'JWT' })}.${b64url(claims)}`;
      const mac = crypto.createHmac('sha256', pem).update(input).digest('base64url');
      return `${input}.${mac}`;
    }
    case 'es256':
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: keys.ec.privateJwk.kid, typ: 'JWT' })
        .sign(keys.ec.privateKey);
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/_test/rotate') {
    newKeys().then((k) => {
      keys = k;
      provider = makeProvider();
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kids: [keys.rsa.privateJwk.kid, keys.ec.privateJwk.kid] }));
    });
    return;
  }
  const m = req.method === 'POST' && req.url.match(/^\/_test\/id_token\/([a-z0-9-]+)$/);
  if (m) {
    mode = m[1];
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ mode }));
    return;
  }
  provider.callback()(req, res);
});

server.listen(Number(process.env.OIDC_PORT || 0), '127.0.0.1', async () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  keys = await newKeys();
  provider = makeProvider();
  console.log(`issuer ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
