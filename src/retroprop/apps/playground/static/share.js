// A saved state as a link: deflate-raw (the browser's own CompressionStream: no library, works
// offline) and base64url, and back.
function toBase64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

async function through(bytes, transform) {
  const stream = new Blob([bytes]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function deflate(text) {
  return toBase64url(await through(new TextEncoder().encode(text), new CompressionStream("deflate-raw")));
}

export async function inflate(encoded) {
  const raw = await through(fromBase64url(encoded), new DecompressionStream("deflate-raw"));
  return new TextDecoder().decode(raw);
}
