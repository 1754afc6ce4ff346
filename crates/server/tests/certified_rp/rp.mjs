// A relying party built on oauth4webapi (OpenID-certified for Basic RP and FAPI 2.0), used
// as shipped: discovery, an authorization request with PKCE, state and nonce, then — once
// the test has driven the browser through mynaid's pages — the callback (state and RFC 9207
// `iss` checked), the code exchange with the client's own authentication method, the ID
// token's checks (signature by the JWKS, iss, aud, exp, iat, nonce) and UserInfo (sub).
//
// METHOD `fapi2` is a FAPI 2.0 client: `private_key_jwt`, the request pushed (PAR, RFC 9126),
// the tokens bound to a fresh key with DPoP (RFC 9449), the ID token expected PS256.
//
// Usage: node rp.mjs ISSUER CLIENT_ID METHOD SECRET_OR_PKCS8 REDIRECT_URI SCOPE
// Prints {"authorization_url": …}, reads the callback URL as one line of standard input,
// prints {"id_token": {…}, "userinfo": {…}} — or {"error": …} and exits 1.
import * as oauth from "oauth4webapi";
import { createInterface } from "node:readline";
import { webcrypto } from "node:crypto";

const [issuerText, clientId, method, secret, redirectUri, scope] = process.argv.slice(2);
const issuer = new URL(issuerText);
// The test server is plain http on loopback; the library refuses that unless told.
const options = { [oauth.allowInsecureRequests]: issuer.protocol === "http:" };

async function clientAuth() {
  switch (method) {
    case "client_secret_basic":
      return oauth.ClientSecretBasic(secret);
    case "client_secret_post":
      return oauth.ClientSecretPost(secret);
    case "private_key_jwt":
    case "fapi2": {
      const key = await webcrypto.subtle.importKey(
        "pkcs8",
        Buffer.from(secret, "base64"),
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign"],
      );
      return oauth.PrivateKeyJwt({ key, kid: "rp-key-1" });
    }
    default:
      throw new Error(`unknown method ${method}`);
  }
}

async function main() {
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
  const fapi = method === "fapi2";
  const client = fapi ? { client_id: clientId, id_token_signed_response_alg: "PS256" } : { client_id: clientId };
  const auth = await clientAuth();
  const dpop = fapi ? oauth.DPoP(client, await oauth.generateKeyPair("ES256")) : undefined;
  const tokenOptions = fapi ? { ...options, DPoP: dpop } : options;
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const parameters = {
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  };
  const url = new URL(as.authorization_endpoint);
  if (fapi) {
    const pushed = await oauth.processPushedAuthorizationResponse(
      as,
      client,
      await oauth.pushedAuthorizationRequest(as, client, auth, parameters, tokenOptions),
    );
    url.searchParams.set("client_id", clientId);
    url.searchParams.set("request_uri", pushed.request_uri);
  } else {
    for (const [k, v] of Object.entries(parameters)) {
      url.searchParams.set(k, v);
    }
  }
  console.log(JSON.stringify({ authorization_url: url.href }));

  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const callback = new URL((await lines.next()).value);
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, tokenOptions);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: nonce,
    requireIdToken: true,
  });
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  const info = await oauth.processUserInfoResponse(
    as,
    client,
    claims.sub,
    await oauth.userInfoRequest(as, client, tokens.access_token, tokenOptions),
  );
  console.log(JSON.stringify({ id_token: claims, userinfo: info, token_type: tokens.token_type }));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(JSON.stringify({ error: String(e && e.message), code: e && e.code, cause: String(e && e.cause && JSON.stringify(e.cause)) }));
    process.exit(1);
  },
);
