// An independent DPoP client (panva's `dpop`) obtains a DPoP-bound JWT from
// patgate, and an independent JOSE library (`jose`) verifies it against
// patgate's JWKS and checks `cnf.jkt` is the key's RFC 7638 thumbprint.
// Usage: node dpop.mjs <issuer> <token-endpoint> <pat>
// Prints one JSON line: {status, tokenType, cnfJkt, thumbprint, verified, error?}.
import { generateKeyPair, generateProof } from 'dpop';
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify } from 'jose';

const [issuer, tokenEndpoint, pat] = process.argv.slice(2);
const keypair = await generateKeyPair('ES256');
const proof = await generateProof(keypair, tokenEndpoint, 'POST');
const res = await fetch(tokenEndpoint, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', DPoP: proof },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pat }),
});
const body = await res.json();
const out = { status: res.status, tokenType: body.token_type };
try {
  const jwks = createRemoteJWKSet(new URL('.well-known/jwks.json', issuer.endsWith('/') ? issuer : issuer + '/'));
  const { payload } = await jwtVerify(body.access_token, jwks, { issuer, typ: 'at+jwt' });
  out.verified = true;
  out.cnfJkt = payload.cnf && payload.cnf.jkt;
  out.thumbprint = await calculateJwkThumbprint(await exportJWK(keypair.publicKey), 'sha256');
  // The same proof again is a replay.
  const again = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', DPoP: proof },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pat }),
  });
  out.replay = { status: again.status, error: (await again.json()).error };
} catch (e) {
  out.verified = false;
  out.error = String(e);
}
console.log(JSON.stringify(out));
