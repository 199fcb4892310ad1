/**
 * Request bodies: read with a byte limit (413 past it, without buffering the rest), parsed
 * as JSON (400 when malformed) and validated with a zod schema (400 naming each bad field).
 */
import type * as z from './zod.ts';
import { ApiError, badRequest } from './errors.ts';

const MAX_JSON_BODY = 64 * 1024;

const tooLarge = (limit: number) => new ApiError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`);

export async function readText(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > limit) throw tooLarge(limit);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface FieldProblem {
  field: string;
  message: string;
}

function problemsOf(error: z.core.$ZodError): FieldProblem[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : '(body)',
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/** JSON text, or a 400 when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Malformed JSON body');
  }
}

/** Parses and validates a JSON body; an empty body counts as `{}` (the seeds send none). */
export async function readJson<S extends z.ZodMiniType>(req: Request, schema: S, limit = MAX_JSON_BODY): Promise<z.output<S>> {
  const text = await readText(req, limit);
  const value = text.trim() === '' ? {} : parseJson(text);
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = problemsOf(result.error);
    throw badRequest(`Invalid request body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
  }
  return result.data;
}
