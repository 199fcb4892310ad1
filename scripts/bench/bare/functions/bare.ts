/**
 * The bare function the cold-start benchmark compares every function with: a trivial
 * web-standard handler, bundled and wrapped for Lambda exactly as the real ones are.
 */
export default async function bare(_req: Request): Promise<Response> {
  return new Response(JSON.stringify({ ok: true }), { headers: { 'content-type': 'application/json' } });
}
