/**
 * Structured JSON logs, one line per event. Never log emails, tokens or secrets: callers
 * pass ids and codes only.
 */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

type Level = 'info' | 'warn' | 'error';

export function createLogger(base: Record<string, unknown>): Logger {
  const write = (level: Level, event: string, fields?: Record<string, unknown>) => {
    if (process.env.LOG_LEVEL === 'silent' || (process.env.LOG_LEVEL === 'warn' && level === 'info')) return;
    const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...base, ...fields });
    (level === 'info' ? console.log : console.error)(line);
  };
  return {
    info: (e, f) => write('info', e, f),
    warn: (e, f) => write('warn', e, f),
    error: (e, f) => write('error', e, f),
  };
}

/** What may be logged about an unknown error: its class and a code, not its message. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { errorType: typeof err };
  const code = (err as { code?: unknown }).code;
  return { errorType: err.name, ...(typeof code === 'string' ? { errorCode: code } : {}) };
}

/**
 * Where an error was thrown: the stack's frames without its first line, which is the error's
 * message (a library's message may quote input values or secrets).
 */
export function stackFrames(err: unknown): string | undefined {
  if (!(err instanceof Error) || typeof err.stack !== 'string') return undefined;
  return err.stack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n') || undefined;
}
