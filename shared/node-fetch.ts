/**
 * `fetch` over node:http(s) with our agent, for supabase-js's `global.fetch`: its first
 * request takes the connection opened at the start of the cold request (shared/preconnect.ts),
 * which Node's own fetch (undici) cannot be given; and node:http costs less CPU per call
 * (shared/upstash.ts). What supabase-js's rpc uses: method, headers, a string body, an abort
 * signal; the answer as a web Response. A network failure is a TypeError, as fetch's.
 */
import http from 'node:http';
import https from 'node:https';
import { agentFor } from './preconnect.ts';

export function nodeFetch(base: string): typeof fetch {
  const agent = agentFor(base);
  const impl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = input instanceof Request ? input : new Request(input, init);
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
    const url = new URL(req.url);
    const send = url.protocol === 'https:' ? https.request : http.request;
    const headers: Record<string, string> = Object.fromEntries(req.headers);
    if (body) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const signal = init?.signal ?? req.signal;
      const out = send(url, { method: req.method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const resHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) resHeaders.append(k, one);
          }
          const noBody = status === 204 || status === 304 || req.method === 'HEAD';
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: resHeaders }));
        });
      });
      const abort = () => out.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      out.on('close', () => signal?.removeEventListener('abort', abort));
      out.on('error', (err) => reject(signal?.aborted ? err : new TypeError('fetch failed', { cause: err })));
      out.end(body);
    });
  };
  return impl as typeof fetch;
}
