// The OpenID-certified Node provider `oidc-provider`, configured like mynaid's benchmark
// client (private_key_jwt ES256, PKCE, the claims `name` and `birthdate` by scope), for the
// side-by-side token and UserInfo benchmark (crates/server/benches/oidc.rs). It mints its
// authorization codes through its own models (its login and consent pages are not what is
// measured), prints them as one JSON line, and serves until killed.
//
// Usage: node provider.mjs PORT CLIENT_JWKS_JSON CODE_CHALLENGE COUNT
import Provider from "oidc-provider";
import * as jose from "jose";

const [port, clientJwks, challenge, count] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const redirectUri = "https://bench.example.jp/cb";

// Its development adapter is an LRU of 1000 entries, too few for a benchmark's codes and
// grants: a plain in-memory map (what a fast production store would be, without a network).
const store = new Map();
class MapAdapter {
  constructor(name) {
    this.name = name;
  }
  key(id) {
    return `${this.name}:${id}`;
  }
  async upsert(id, payload) {
    store.set(this.key(id), payload);
    if (payload.grantId) {
      const k = `grant:${payload.grantId}`;
      store.set(k, [...(store.get(k) || []), this.key(id)]);
    }
  }
  async find(id) {
    return store.get(this.key(id));
  }
  async findByUid(uid) {
    for (const [k, v] of store) {
      if (k.startsWith(`${this.name}:`) && v.uid === uid) return v;
    }
    return undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id) {
    const v = store.get(this.key(id));
    if (v) v.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    for (const k of store.get(`grant:${grantId}`) || []) store.delete(k);
    store.delete(`grant:${grantId}`);
  }
}

const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
const signing = { ...(await jose.exportJWK(privateKey)), kid: "bench-1", alg: "RS256", use: "sig" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "bench",
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "ES256",
      jwks: JSON.parse(clientJwks),
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  jwks: { keys: [signing] },
  scopes: ["openid", "name", "birthdate"],
  claims: { name: ["name"], birthdate: ["birthdate"] },
  async findAccount(ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, name: "山田　太郎", birthdate: "1980-02-17" }) };
  },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  ttl: { AuthorizationCode: 600, AccessToken: 3600, IdToken: 300, Grant: 3600 },
  cookies: { keys: ["benchmark-cookie-key-0123456789abcdef"] },
  adapter: MapAdapter,
});

const server = provider.listen(Number(port));
await new Promise((resolve) => server.once("listening", resolve));

const client = await provider.Client.find("bench");
const codes = [];
for (let i = 0; i < Number(count); i += 1) {
  const grant = new provider.Grant({ accountId: "card-1", clientId: "bench" });
  grant.addOIDCScope("openid name birthdate");
  const grantId = await grant.save();
  const code = new provider.AuthorizationCode({
    client,
    accountId: "card-1",
    grantId,
    scope: "openid name birthdate",
    redirectUri,
    codeChallenge: challenge,
    codeChallengeMethod: "S256",
    authTime: Math.floor(Date.now() / 1000),
  });
  codes.push(await code.save());
}
console.log(JSON.stringify({ issuer, codes }));
