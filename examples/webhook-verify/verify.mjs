// Verifies a payhub webhook (Standard Webhooks signature) with Node's own crypto.
//
//   WEBHOOK_ID=… WEBHOOK_TIMESTAMP=… WEBHOOK_SIGNATURE=… node verify.mjs whsec_… < body
//
// Exits 0 and prints "valid" when the signature verifies and the timestamp is
// within 5 minutes of now; exits 1 and prints "invalid" otherwise. In a web
// handler, pass the raw body (a Buffer of the exact bytes received).
import { createHmac, timingSafeEqual } from "node:crypto";

const TOLERANCE_S = 300;

export function verify(secret, msgId, timestamp, signatures, body, nowS = Date.now() / 1000) {
  const ts = Number.parseInt(timestamp, 10);
  if (!/^\d+$/.test(timestamp) || Math.abs(nowS - ts) > TOLERANCE_S) return false; // a replay
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key)
    .update(`${msgId}.${timestamp}.`)
    .update(body)
    .digest();
  // The header may carry several space-separated signatures (key rotation).
  return signatures.split(" ").some((part) => {
    const [version, value] = part.split(",", 2);
    if (version !== "v1" || value === undefined) return false;
    const given = Buffer.from(value, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const env = process.env;
const ok = verify(
  process.argv[2] ?? "",
  env.WEBHOOK_ID ?? "",
  env.WEBHOOK_TIMESTAMP ?? "",
  env.WEBHOOK_SIGNATURE ?? "",
  Buffer.concat(chunks),
);
console.log(ok ? "valid" : "invalid");
process.exit(ok ? 0 : 1);
