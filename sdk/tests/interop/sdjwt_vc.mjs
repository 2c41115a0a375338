// Drives the OpenWallet Foundation's SD-JWT VC implementation (npm @sd-jwt/sd-jwt-vc 0.19.0, with
// @sd-jwt/crypto-nodejs 0.19.0) for tests/integration/interop.rs.
//
// Usage: DINHDANH_INTEROP_NODE_DIR=<folder where `npm ci` ran> node sdjwt_vc.mjs issue|present|verify
// with one JSON object on stdin; the result is one JSON object on stdout. Keys travel on stdin,
// never on the command line.
//
// issue    {"claims": {...}, "disclosable": ["/json/pointer", ...], "issuer_key": <private JWK>,
//           "decoys": 2}
//          -> {"sd_jwt": "<JWT>~<D1>~...~"}   (typ dc+sd-jwt; `claims` carries vct and cnf)
//          Each pointer names an object property or an array element at any depth; they become
//          the library's disclosure frame, with `decoys` decoy digests on every level that has
//          disclosable claims.
// present  {"sd_jwt": "...", "presentation_frame": <the library's own selection structure>,
//           "holder_key": <private JWK>, "aud": "...", "nonce": "...", "iat": <seconds>}
//          -> {"presentation": "..."}
// verify   {"presentation": "...", "issuer_key": <public JWK>, "aud": "..." | null,
//           "nonce": "..." | null, "now": <seconds>}
//          -> {"verified": true, "header": {...}, "claims": {...}} or
//             {"verified": false, "error": "..."}
//
// Bad input is a crash (non-zero exit); a presentation the library refuses is a normal answer.

import { createRequire } from 'node:module';
import { join } from 'node:path';

const nodeDir = process.env.DINHDANH_INTEROP_NODE_DIR;
if (!nodeDir) {
  throw new Error('DINHDANH_INTEROP_NODE_DIR is not set');
}
// The packages live where `npm ci` put them, not necessarily beside this script.
const require = createRequire(join(nodeDir, 'package.json'));
const { SDJwtVcInstance } = require('@sd-jwt/sd-jwt-vc');
const { ES256, digest, generateSalt } = require('@sd-jwt/crypto-nodejs');

function parsePointer(pointer) {
  if (!pointer.startsWith('/')) {
    throw new Error(`not a JSON pointer: ${pointer}`);
  }
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

// {"_sd": [...], "<child>": {...}, "_sd_decoy": n}; array elements go in `_sd` as numbers.
function disclosureFrame(claims, pointers, decoys) {
  const frame = {};
  for (const pointer of pointers) {
    const segments = parsePointer(pointer);
    let level = frame;
    let value = claims;
    for (const segment of segments.slice(0, -1)) {
      level[segment] ??= {};
      level = level[segment];
      value = value[segment];
    }
    const last = segments.at(-1);
    if (value === undefined || !(last in value)) {
      throw new Error(`no claim at ${pointer}`);
    }
    level._sd ??= [];
    level._sd.push(Array.isArray(value) ? Number(last) : last);
    if (decoys > 0) {
      level._sd_decoy = decoys;
    }
  }
  return frame;
}

async function issue(request) {
  const sdjwt = new SDJwtVcInstance({
    signer: await ES256.getSigner(request.issuer_key),
    signAlg: ES256.alg,
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
  });
  const frame = disclosureFrame(request.claims, request.disclosable, request.decoys ?? 0);
  return { sd_jwt: await sdjwt.issue(request.claims, frame) };
}

async function present(request) {
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    kbSigner: await ES256.getSigner(request.holder_key),
    kbSignAlg: ES256.alg,
  });
  const presentation = await sdjwt.present(request.sd_jwt, request.presentation_frame, {
    kb: { payload: { iat: request.iat, aud: request.aud, nonce: request.nonce } },
  });
  return { presentation };
}

async function verify(request) {
  const issuerVerifier = await ES256.getVerifier(request.issuer_key);
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    verifier: issuerVerifier,
    // The holder key is the one the issuer put in `cnf`.
    kbVerifier: async (data, signature, payload) =>
      (await ES256.getVerifier(payload.cnf.jwk))(data, signature),
  });
  try {
    const result = await sdjwt.verify(request.presentation, {
      keyBindingNonce: request.nonce ?? undefined,
      currentDate: request.now,
    });
    // The library checks the KB-JWT's nonce but leaves its audience to the caller.
    if (request.aud != null && result.kb?.payload.aud !== request.aud) {
      throw new Error(`KB-JWT aud ${result.kb?.payload.aud} is not ${request.aud}`);
    }
    return { verified: true, header: result.header, claims: result.payload };
  } catch (error) {
    return { verified: false, error: String(error?.message ?? error) };
  }
}

const commands = { issue, present, verify };
const command = commands[process.argv[2]];
if (process.argv.length !== 3 || !command) {
  console.error(`usage: node sdjwt_vc.mjs ${Object.keys(commands).join('|')} < request.json`);
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const result = await command(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(`${JSON.stringify(result)}\n`);
